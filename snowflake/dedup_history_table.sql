-- The deduplicated history behind EVENTS_DEDUP: one row per EVENT_ID (the earliest received copy),
-- kept by the merge task (dedup_merge.sql) from the stream of new EVENTS rows. Same columns as
-- EVENTS, plus MERGED_AT: when the merge last wrote the row, which the duplicate check reads.
-- Placeholders: database, schema, view (filled by Terraform templatefile and the local loader).
CREATE TABLE IF NOT EXISTS ${database}.${schema}.${view}_HISTORY (
    EVENT_ID        VARCHAR       NOT NULL,
    EVENT_TYPE      VARCHAR       NOT NULL,
    OCCURRED_AT     TIMESTAMP_TZ,
    RECEIVED_AT     TIMESTAMP_TZ,
    SOURCE          VARCHAR,
    PAYLOAD         VARIANT,
    INGEST          VARIANT,
    FILE_NAME       VARCHAR,
    FILE_ROW_NUMBER NUMBER,
    LOADED_AT       TIMESTAMP_LTZ,
    MERGED_AT       TIMESTAMP_LTZ
)
