-- NDJSON as written by Firehose: one JSON object per line, optionally GZIP-compressed.
-- Placeholders: database, schema, file_format.
CREATE FILE FORMAT IF NOT EXISTS ${database}.${schema}.${file_format}
    TYPE = JSON
    COMPRESSION = AUTO
    STRIP_OUTER_ARRAY = FALSE
