-- Operational queries for the Snowpipe. Run them in a worksheet after replacing the
-- placeholders (database, schema, table, pipe, view), or render them with the same
-- templating as the other files in this directory. What alarms need is in views Terraform
-- creates from the *_view.sql files, readable by the reader role (docs/operations.md):
-- <table>_LOAD_ERRORS, <table>_REJECTED_ROWS, <pipe>_STATUS and <table>_FRESHNESS.

-- 1. Is the pipe running, and how many files are queued? EXECUTION_STATE should be RUNNING
--    and PENDING_FILE_COUNT should drop back to 0 within a minute or two. The view is
--    SYSTEM$PIPE_STATUS one column per field; the freshness view adds the last row loaded.
SELECT * FROM ${database}.${schema}.${pipe}_STATUS;
SELECT * FROM ${database}.${schema}.${table}_FRESHNESS;

-- 2. Files loaded (or not) into the table during the last 24 hours.
SELECT FILE_NAME, LAST_LOAD_TIME, STATUS, ROW_COUNT, ROW_PARSED, ERROR_COUNT,
       FIRST_ERROR_MESSAGE, FIRST_ERROR_LINE_NUMBER, FIRST_ERROR_COLUMN_NAME
FROM TABLE(${database}.INFORMATION_SCHEMA.COPY_HISTORY(
    TABLE_NAME => '${database}.${schema}.${table}',
    START_TIME => DATEADD(HOUR, -24, CURRENT_TIMESTAMP())
))
ORDER BY LAST_LOAD_TIME DESC;

-- 3. Load errors only: every load attempt that failed or partially loaded (last 13 days), and
--    the rows ON_ERROR kept out of the table, per file.
SELECT * FROM ${database}.${schema}.${table}_LOAD_ERRORS ORDER BY LAST_LOAD_TIME DESC;
SELECT * FROM ${database}.${schema}.${table}_REJECTED_ROWS ORDER BY LAST_LOAD_TIME DESC;

-- 3a. The alarm: files whose latest load attempt failed, i.e. files the pipe skipped
--     (ON_ERROR = SKIP_FILE) and nobody has re-loaded yet. Any row means events are waiting;
--     alarm on SELECT COUNT(*) > 0 (a Snowflake ALERT or any scheduler), and re-load each file
--     after the fix (snowflake/README.md, "Skipped files"). A file leaves the view once a later
--     COPY of it loads. 13 days: the table function keeps 14, and START_TIME must lie within them.
CREATE OR REPLACE VIEW ${database}.${schema}.${table}_SKIPPED_FILES AS
SELECT FILE_NAME, STAGE_LOCATION, STATUS, LAST_LOAD_TIME, ROW_PARSED, ERROR_COUNT,
       FIRST_ERROR_MESSAGE, FIRST_ERROR_LINE_NUMBER, FIRST_ERROR_COLUMN_NAME, PIPE_NAME
FROM TABLE(${database}.INFORMATION_SCHEMA.COPY_HISTORY(
    TABLE_NAME => '${database}.${schema}.${table}',
    START_TIME => DATEADD(DAY, -13, CURRENT_TIMESTAMP())
))
QUALIFY ROW_NUMBER() OVER (PARTITION BY FILE_NAME ORDER BY LAST_LOAD_TIME DESC) = 1
    AND UPPER(STATUS) IN ('LOAD FAILED', 'PARTIALLY LOADED');

SELECT COUNT(*) AS SKIPPED_FILES FROM ${database}.${schema}.${table}_SKIPPED_FILES;

-- 3b. The FILES list for the re-load: paste it into the pipe's own COPY (snowflake/pipe_copy.sql,
--     rendered) as FILES = (...) between its FROM (...) and FILE_FORMAT, and run it.
SELECT LISTAGG('''' || FILE_NAME || '''', ', ') WITHIN GROUP (ORDER BY FILE_NAME) AS FILES
FROM ${database}.${schema}.${table}_SKIPPED_FILES;

-- 4. Errors the pipe hit while loading, with the offending row (last 24 hours).
SELECT *
FROM TABLE(${database}.INFORMATION_SCHEMA.VALIDATE_PIPE_LOAD(
    PIPE_NAME => '${database}.${schema}.${pipe}',
    START_TIME => DATEADD(HOUR, -24, CURRENT_TIMESTAMP())
));

-- 5. End-to-end latency: API receipt to Snowflake load, per hour. The S3 modes only: rows that
--    Snowpipe Streaming inserts have no LOADED_AT (docs/latency.md; scripts/probe measures them).
SELECT DATE_TRUNC(HOUR, LOADED_AT) AS HOUR,
       COUNT(*) AS ROWS_LOADED,
       APPROX_PERCENTILE(DATEDIFF(MILLISECOND, RECEIVED_AT, LOADED_AT), 0.5) AS P50_MS,
       APPROX_PERCENTILE(DATEDIFF(MILLISECOND, RECEIVED_AT, LOADED_AT), 0.99) AS P99_MS
FROM ${database}.${schema}.${table}
WHERE LOADED_AT > DATEADD(DAY, -1, CURRENT_TIMESTAMP())
GROUP BY 1
ORDER BY 1 DESC;

-- 6. Duplicates absorbed by the dedup view (client retries, at-least-once delivery).
SELECT (SELECT COUNT(*) FROM ${database}.${schema}.${table})
     - (SELECT COUNT(*) FROM ${database}.${schema}.${view}) AS DUPLICATE_ROWS;
