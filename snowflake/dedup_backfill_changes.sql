SELECT *
FROM ${database}.${schema}.${table}
WHERE EVENT_ID NOT IN (SELECT EVENT_ID FROM ${database}.${schema}.${view}_HISTORY)
    AND (
        COALESCE(LOADED_AT, RECEIVED_AT) >= DATEADD(DAY, -1, (SELECT MAX(MERGED_AT) FROM ${database}.${schema}.${view}_HISTORY))
        OR NOT EXISTS (SELECT 1 FROM ${database}.${schema}.${view}_HISTORY)
    )
