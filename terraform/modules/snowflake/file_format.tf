resource "snowflake_execute" "file_format" {
  execute = templatefile("${var.sql_dir}/file_format.sql", local.sql_vars)
  revert  = "DROP FILE FORMAT IF EXISTS ${local.qualified_schema}.${var.names.file_format}"
  query   = "SHOW FILE FORMATS LIKE '${var.names.file_format}' IN SCHEMA ${local.qualified_schema}"
}
