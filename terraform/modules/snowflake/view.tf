resource "snowflake_view" "dedup" {
  database  = local.database
  schema    = local.schema
  name      = var.names.dedup_view
  comment   = "rtstream: one row per EVENT_ID, the earliest received (dedup_history.tf)."
  statement = trimspace(templatefile("${var.sql_dir}/dedup_view.sql", local.dedup_sql_vars))
  # A changed statement is CREATE OR REPLACE VIEW: without COPY GRANTS the reader role (and
  # so the probe) would lose SELECT until the next apply. Only honoured at creation.
  copy_grants = true

  depends_on = [snowflake_execute.table, snowflake_execute.dedup_history]
}
