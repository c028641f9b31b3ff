resource "snowflake_view" "dedup" {
  database  = local.database
  schema    = local.schema
  name      = var.names.dedup_view
  comment   = "rtstream: one row per EVENT_ID, the earliest received."
  statement = trimspace(templatefile("${var.sql_dir}/dedup_view.sql", local.sql_vars))

  depends_on = [snowflake_execute.table]
}
