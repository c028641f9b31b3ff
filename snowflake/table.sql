-- The landing table of the Snowpipe. One row per line of the transformer's NDJSON output;
-- duplicates (client retries, Kinesis/Firehose at-least-once) are removed by EVENTS_DEDUP.
-- Placeholders: database, schema, table (filled by Terraform templatefile and the local loader).
CREATE TABLE IF NOT EXISTS ${database}.${schema}.${table} (
    EVENT_ID        VARCHAR       NOT NULL,
    EVENT_TYPE      VARCHAR       NOT NULL,
    OCCURRED_AT     TIMESTAMP_TZ,
    RECEIVED_AT     TIMESTAMP_TZ,
    SOURCE          VARCHAR,
    PAYLOAD         VARIANT,
    INGEST          VARIANT,
    FILE_NAME       VARCHAR,
    FILE_ROW_NUMBER NUMBER,
    LOADED_AT       TIMESTAMP_LTZ
)
