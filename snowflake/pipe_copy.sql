COPY INTO ${database}.${schema}.${table} (
    EVENT_ID,
    EVENT_TYPE,
    OCCURRED_AT,
    RECEIVED_AT,
    SOURCE,
    PAYLOAD,
    INGEST,
    FILE_NAME,
    FILE_ROW_NUMBER,
    LOADED_AT
)
FROM (
    SELECT
        $1:event_id::VARCHAR,
        $1:event_type::VARCHAR,
        $1:occurred_at::TIMESTAMP_TZ,
        $1:_ingest.received_at::TIMESTAMP_TZ,
        $1:source::VARCHAR,
        $1:payload,
        $1:_ingest,
        METADATA$FILENAME,
        METADATA$FILE_ROW_NUMBER,
        METADATA$START_SCAN_TIME
    FROM @${database}.${schema}.${stage}
)
FILE_FORMAT = (FORMAT_NAME = '${database}.${schema}.${file_format}')
ON_ERROR = SKIP_FILE
