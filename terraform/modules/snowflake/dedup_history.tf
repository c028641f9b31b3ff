# EVENTS_DEDUP without re-ranking the whole table on every query (snowflake/README.md, "How
# EVENTS_DEDUP scales"; docs/decisions.md): an append-only stream on EVENTS, a serverless task
# that MERGEs the stream's new rows into a deduplicated history every merge_interval_minutes,
# and the view (view.tf) = the history for rows older than recent_horizon_minutes + an on-the-fly
# dedup of EVENTS' recent rows, so a loaded row is queryable at once and each query sorts only
# the recent rows. The duplicate check is dedup_check.tf.

locals {
  dedup_history = "${var.names.dedup_view}_HISTORY"
  dedup_stream  = "${local.qualified_schema}.${var.names.dedup_view}_CHANGES"

  # The dedup placeholders of snowflake/dedup_*.sql, besides local.sql_vars.
  dedup_sql_vars = merge(local.sql_vars, {
    changes               = local.dedup_stream
    dedup_horizon_minutes = var.dedup.recent_horizon_minutes
    dedup_window_hours    = var.dedup.window_hours
    dedup_check_days      = var.dedup.check_days
  })
}

resource "snowflake_execute" "dedup_history" {
  execute = templatefile("${var.sql_dir}/dedup_history_table.sql", local.dedup_sql_vars)
  revert  = "DROP TABLE IF EXISTS ${local.qualified_schema}.${local.dedup_history}"
  query   = "SHOW TABLES LIKE '${local.dedup_history}' IN SCHEMA ${local.qualified_schema}"

  depends_on = [snowflake_execute.table]

  lifecycle {
    # As for EVENTS (table.tf): a changed file would drop and recreate the history; schema
    # changes are migrations.
    ignore_changes = [execute]
  }
}

# Only inserts (Snowpipe never updates or deletes): an append-only stream is cheaper to read.
# SHOW_INITIAL_ROWS: the first merge takes the rows EVENTS already holds, so a deployment that
# adds the history to a loaded table backfills it once.
resource "snowflake_stream_on_table" "dedup_changes" {
  database          = local.database
  schema            = local.schema
  name              = "${var.names.dedup_view}_CHANGES"
  comment           = "rtstream: rows appended to ${var.names.table}, consumed by the ${local.dedup_history} merge."
  table             = "${local.qualified_schema}.${var.names.table}"
  append_only       = true
  show_initial_rows = true
  copy_grants       = true

  depends_on = [snowflake_execute.table]
}

resource "snowflake_task" "dedup_merge" {
  database = local.database
  schema   = local.schema
  name     = "${var.names.dedup_view}_MERGE"
  comment  = "rtstream: merges new ${var.names.table} rows into ${local.dedup_history} (snowflake/dedup_merge.sql)."
  started  = true

  # Serverless (no warehouse): billed for the seconds each run computes, not a warehouse's
  # 60-second minimum per resume.
  user_task_managed_initial_warehouse_size = var.dedup.task_size
  schedule {
    minutes = var.dedup.merge_interval_minutes
  }
  # Evaluated without compute: a run with nothing new is skipped.
  when          = "SYSTEM$STREAM_HAS_DATA('${local.dedup_stream}')"
  sql_statement = trimspace(templatefile("${var.sql_dir}/dedup_merge.sql", local.dedup_sql_vars))
  # A failed merge leaves the rows in the stream for the next run; the error topic hears of it.
  error_integration = var.enable_error_integration ? snowflake_notification_integration.errors[0].name : null

  depends_on = [snowflake_execute.dedup_history, snowflake_stream_on_table.dedup_changes]
}
