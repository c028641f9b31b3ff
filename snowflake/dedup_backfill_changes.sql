SELECT *
FROM ${database}.${schema}.${table}
WHERE EVENT_ID NOT IN (SELECT EVENT_ID FROM ${database}.${schema}.${view}_HISTORY)
    AND (
        LOADED_AT >= DATEADD(DAY, -1, (SELECT MAX(MERGED_AT) FROM ${database}.${schema}.${view}_HISTORY))
        OR NOT EXISTS (SELECT 1 FROM ${database}.${schema}.${view}_HISTORY)
    )
