resource "snowflake_execute" "table" {
  execute = templatefile("${var.sql_dir}/table.sql", local.sql_vars)
  revert  = "DROP TABLE IF EXISTS ${local.qualified_schema}.${var.names.table}"
  query   = "SHOW TABLES LIKE '${var.names.table}' IN SCHEMA ${local.qualified_schema}"

  lifecycle {
    # A change of table.sql would otherwise drop and recreate the table with all the
    # loaded events: schema changes are migrations (ALTER TABLE), see snowflake/README.md.
    ignore_changes = [execute]
    # Destroying it runs the revert (DROP TABLE): remove it on purpose only, see
    # docs/deploy.md "Tearing down".
    prevent_destroy = true
  }
}
