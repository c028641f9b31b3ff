# "Events accepted but no new rows": CloudWatch cannot see Snowflake, so Snowflake checks
# itself. Every check_interval_minutes a serverless task reads the freshness view and, when a
# file has waited pending_file_minutes in the pipe, the pipe is not RUNNING, or (optionally) no
# row has loaded for max_minutes_without_rows, publishes to the error integration's SNS topic;
# the observability module alarms on that topic and subscribes the same people to it.
# A task, not an ALERT: the provider's snowflake_alert needs a warehouse, and resuming one every
# 10 minutes bills at least a minute each time (docs/cost.md). docs/operations.md, alarm
# snowpipe-notifications.

locals {
  freshness_conditions = concat(
    ["EXECUTION_STATE <> 'RUNNING'", "OLDEST_PENDING_FILE_MINUTES >= ${var.freshness_check.pending_file_minutes}"],
    var.freshness_check.max_minutes_without_rows == null ? [] : ["COALESCE(MINUTES_SINCE_LAST_LOAD, 0) >= ${var.freshness_check.max_minutes_without_rows}"],
  )
  freshness_view = one([for view in snowflake_view.freshness : "${local.qualified_schema}.${view.name}"])
  freshness_message = jsonencode({
    source  = "snowflake-check"
    check   = "${local.qualified_schema}.${var.names.table}_FRESHNESS_CHECK"
    message = "Rows are not reaching ${var.names.table}: a file waits in ${var.names.pipe}, the pipe is not running, or nothing loaded for too long. SELECT * FROM ${local.freshness_view}"
  })
}

resource "snowflake_task" "freshness_check" {
  # Watches the pipe: none in snowpipe_streaming (Firehose's freshness alarm watches instead).
  count = var.enable_error_integration && var.freshness_check.enabled && var.snowpipe_enabled ? 1 : 0

  database = local.database
  schema   = local.schema
  name     = "${var.names.table}_FRESHNESS_CHECK"
  comment  = "rtstream: events stuck before ${var.names.table} (docs/operations.md)."
  started  = true

  user_task_managed_initial_warehouse_size = local.check_task_size
  serverless_task_max_statement_size       = local.check_task_size
  schedule {
    minutes = var.freshness_check.check_interval_minutes
  }
  sql_statement = trimspace(format(local.notify_if_found,
    "SELECT 1 FROM ${local.freshness_view} WHERE ${join(" OR ", local.freshness_conditions)}",
    local.freshness_message,
    snowflake_notification_integration.errors[0].name,
  ))
  # A check that cannot run (the view broken, a grant lost) is reported on the same topic.
  error_integration = snowflake_notification_integration.errors[0].name
}
