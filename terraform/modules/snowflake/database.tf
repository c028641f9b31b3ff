resource "snowflake_database" "this" {
  count = var.create_database ? 1 : 0

  name    = var.names.database
  comment = "rtstream: real-time events ingested by Snowpipe."

  lifecycle {
    # Dropping the database drops every loaded event: remove it on purpose only, as
    # docs/deploy.md "Tearing down" describes.
    prevent_destroy = true
  }
}

resource "snowflake_schema" "this" {
  count = var.create_database ? 1 : 0

  database = snowflake_database.this[0].name
  name     = var.names.schema
  comment  = "rtstream landing objects: table, stage, pipe, dedup view."

  lifecycle {
    # Dropping (or replacing) the schema drops the EVENTS table in it.
    prevent_destroy = true
  }
}
