resource "snowflake_pipe" "events" {
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
      snowflake_stage_external_s3.events.url,
      snowflake_stage_external_s3.events.storage_integration,
      snowflake_execute.file_format.execute,
    ]
  }
}
