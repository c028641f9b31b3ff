-- Removes the copies the daily check lists (the view <view>_SLIPPED): for each of its events,
-- every history row but the earliest received (ties: FILE_NAME, then FILE_ROW_NUMBER), the row
-- EVENTS_DEDUP would have kept had the copies arrived within the window. EVENTS keeps every row.
-- Placeholders: database, schema, view (render as the other files of this directory).
DELETE FROM ${database}.${schema}.${view}_HISTORY AS KEPT
USING (
    SELECT EVENT_ID, FILE_NAME, FILE_ROW_NUMBER
    FROM ${database}.${schema}.${view}_HISTORY
    WHERE EVENT_ID IN (SELECT EVENT_ID FROM ${database}.${schema}.${view}_SLIPPED)
    QUALIFY ROW_NUMBER() OVER (
        PARTITION BY EVENT_ID
        ORDER BY RECEIVED_AT, FILE_NAME, FILE_ROW_NUMBER
    ) > 1
) AS LATER
WHERE KEPT.EVENT_ID = LATER.EVENT_ID
    AND KEPT.FILE_NAME = LATER.FILE_NAME
    AND KEPT.FILE_ROW_NUMBER = LATER.FILE_ROW_NUMBER
