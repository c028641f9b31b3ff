resource "snowflake_pipe" "events" {
  database       = local.database
  schema         = local.schema
  name           = var.names.pipe
  comment        = "rtstream: loads every new object under ${var.events_prefix} into ${var.names.table}."
  copy_statement = trimspace(templatefile("${var.sql_dir}/pipe_copy.sql", local.sql_vars))
  auto_ingest    = true
  # The pipe reports load failures to SNS only when the error integration is enabled.
  error_integration = var.enable_error_integration ? snowflake_notification_integration.errors[0].name : null

  depends_on = [snowflake_stage.events, snowflake_execute.table, snowflake_execute.file_format]

  lifecycle {
    # A pipe keeps the stage definition it was created with.
    replace_triggered_by = [snowflake_stage.events]
  }
}
