# The monitoring queries of snowflake/monitoring.sql that alarms and people read, as views the
# reader role may SELECT (reader.tf): load errors and rows rejected by ON_ERROR (from
# COPY_HISTORY, last 13 days), the pipe's status, and freshness (freshness_check.tf watches it).
# Named after the table or the pipe they describe, like monitoring.sql's _SKIPPED_FILES. Views
# of the pipe (pipe = true) and the freshness view exist with the pipe only (snowpipe_enabled).

locals {
  monitoring_views = {
    load_errors = {
      name    = "${var.names.table}_LOAD_ERRORS"
      file    = "load_errors_view.sql"
      comment = "rtstream: every failed or partial load into ${var.names.table} (COPY_HISTORY, 13 days)."
      pipe    = false
    }
    rejected_rows = {
      name    = "${var.names.table}_REJECTED_ROWS"
      file    = "rejected_rows_view.sql"
      comment = "rtstream: rows of each file that ON_ERROR kept out of ${var.names.table} (COPY_HISTORY, 13 days)."
      pipe    = false
    }
    pipe_status = {
      name    = "${var.names.pipe}_STATUS"
      file    = "pipe_status_view.sql"
      comment = "rtstream: SYSTEM$PIPE_STATUS of ${var.names.pipe}, one column per field."
      pipe    = true
    }
  }
}

resource "snowflake_view" "monitoring" {
  for_each = { for key, view in local.monitoring_views : key => view if var.snowpipe_enabled || !view.pipe }

  database  = local.database
  schema    = local.schema
  name      = each.value.name
  comment   = each.value.comment
  statement = trimspace(templatefile("${var.sql_dir}/${each.value.file}", local.sql_vars))
  # As for the dedup view: a changed statement must not take SELECT from the reader role.
  copy_grants = true

  depends_on = [snowflake_execute.table, snowflake_pipe.events]
}

# Reads the pipe status view, so it is created after it, and only with it.
resource "snowflake_view" "freshness" {
  count = var.snowpipe_enabled ? 1 : 0

  database    = local.database
  schema      = local.schema
  name        = "${var.names.table}_FRESHNESS"
  comment     = "rtstream: when ${var.names.table} last got rows, and how long the oldest file has waited in ${var.names.pipe}."
  statement   = trimspace(templatefile("${var.sql_dir}/freshness_view.sql", local.sql_vars))
  copy_grants = true

  depends_on = [snowflake_view.monitoring]
}

moved {
  from = snowflake_view.freshness
  to   = snowflake_view.freshness[0]
}
