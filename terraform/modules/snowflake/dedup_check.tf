# The daily duplicate check: copies of an event arriving more than dedup.window_hours after the
# kept one are no longer matched by the merge (dedup_history.tf) and are kept too, so
# EVENTS_DEDUP shows that event twice. The view lists them (every copy of the events with a
# row merged in the last check_days, however far apart the copies arrived); a
# serverless task publishes to the error integration's topic once a day when one was merged in
# the last day (a task, not an ALERT, for the reason freshness_check.tf gives).

locals {
  dedup_slipped_view = "${local.qualified_schema}.${snowflake_view.dedup_slipped.name}"
  dedup_slipped_message = jsonencode({
    source  = "snowflake-check"
    check   = "${local.qualified_schema}.${var.names.dedup_view}_SLIPPED_CHECK"
    message = "Duplicates outside the ${var.dedup.window_hours}-hour dedup window reached ${local.dedup_history}: ${var.names.dedup_view} shows those events more than once. SELECT * FROM ${local.dedup_slipped_view}; repair: snowflake/dedup_repair.sql"
  })
}

resource "snowflake_view" "dedup_slipped" {
  database    = local.database
  schema      = local.schema
  name        = "${var.names.dedup_view}_SLIPPED"
  comment     = "rtstream: events with more than one row in ${local.dedup_history}, one of them merged in the last ${var.dedup.check_days} days."
  statement   = trimspace(templatefile("${var.sql_dir}/dedup_slipped_view.sql", local.dedup_sql_vars))
  copy_grants = true

  depends_on = [snowflake_execute.dedup_history]
}

resource "snowflake_task" "dedup_slipped_check" {
  count = var.enable_error_integration && var.dedup.check_enabled ? 1 : 0

  database = local.database
  schema   = local.schema
  name     = "${var.names.dedup_view}_SLIPPED_CHECK"
  comment  = "rtstream: duplicates merged into ${local.dedup_history} outside the dedup window (snowflake/README.md)."
  started  = true

  user_task_managed_initial_warehouse_size = local.check_task_size
  serverless_task_max_statement_size       = local.check_task_size
  schedule {
    using_cron = "0 ${var.dedup.check_hour_utc} * * * UTC"
  }
  sql_statement = trimspace(format(local.notify_if_found,
    "SELECT 1 FROM ${local.dedup_slipped_view} WHERE LAST_MERGED_AT >= DATEADD(DAY, -1, CURRENT_TIMESTAMP())",
    local.dedup_slipped_message,
    snowflake_notification_integration.errors[0].name,
  ))
  error_integration = snowflake_notification_integration.errors[0].name
}
