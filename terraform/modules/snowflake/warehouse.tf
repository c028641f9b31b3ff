# A small warehouse for reading the events (the post-deploy probe, dashboards). Snowpipe
# loads on Snowflake-managed compute and does not use it.
resource "snowflake_warehouse" "reader" {
  name                = var.names.warehouse
  comment             = "rtstream: queries of ${var.names.dedup_view}."
  warehouse_size      = var.warehouse_size
  auto_suspend        = 60
  auto_resume         = "true"
  initially_suspended = true
}
