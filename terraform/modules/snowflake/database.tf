resource "snowflake_database" "this" {
  count = var.create_database ? 1 : 0

  name    = var.names.database
  comment = "rtstream: real-time events ingested by Snowpipe."
}

resource "snowflake_schema" "this" {
  count = var.create_database ? 1 : 0

  database = snowflake_database.this[0].name
  name     = var.names.schema
  comment  = "rtstream landing objects: table, stage, pipe, dedup view."
}

locals {
  database = var.create_database ? snowflake_database.this[0].name : var.names.database
  schema   = var.create_database ? snowflake_schema.this[0].name : var.names.schema

  # Values for the ${...} placeholders of the files in sql_dir (see snowflake/README.md).
  sql_vars = {
    database    = local.database
    schema      = local.schema
    table       = var.names.table
    stage       = var.names.stage
    file_format = var.names.file_format
    pipe        = var.names.pipe
    view        = var.names.dedup_view
  }
  qualified_schema = "${local.database}.${local.schema}"
}
