# The S3 modes only (snowpipe_enabled): in snowpipe_streaming Firehose inserts the rows, and a
# pipe on the bucket would load the backup a second time.
resource "snowflake_pipe" "events" {
  count = var.snowpipe_enabled ? 1 : 0

  database       = local.database
  schema         = local.schema
  name           = var.names.pipe
  comment        = "rtstream: loads every new object under ${var.events_prefix} into ${var.names.table}."
  copy_statement = trimspace(templatefile("${var.sql_dir}/pipe_copy.sql", local.sql_vars))
  auto_ingest    = true
  # The pipe reports load failures to SNS only when the error integration is enabled.
  error_integration = var.enable_error_integration ? snowflake_notification_integration.errors[0].name : null

  depends_on = [snowflake_stage_external_s3.events, snowflake_execute.table, snowflake_execute.file_format]

  lifecycle {
    # A pipe binds the stage and file format it was created with: after the stage's URL is
    # altered or either is replaced it stops (STOPPED_STAGE_ALTERED, STOPPED_STAGE_DROPPED,
    # STOPPED_FILE_FORMAT_DROPPED) instead of loading. Recreate it with them; a new pipe has
    # no load history, so docs/deploy.md has the runbook that backfills the gap once.
    # Only what stops a pipe: any other in-place update (a comment) must not cost the load history.
    replace_triggered_by = [
      snowflake_stage_external_s3.events[0].url,
      snowflake_stage_external_s3.events[0].storage_integration,
      snowflake_execute.file_format.execute,
    ]
  }
}

# Counted since the delivery modes: the deployed pipe keeps its load history (no reload).
moved {
  from = snowflake_pipe.events
  to   = snowflake_pipe.events[0]
}
