resource "snowflake_storage_integration" "this" {
  name                      = var.names.storage_integration
  comment                   = "rtstream: read the Firehose output under ${var.events_prefix}"
  type                      = "EXTERNAL_STAGE"
  enabled                   = true
  storage_provider          = "S3"
  storage_aws_role_arn      = local.storage_role_arn
  storage_allowed_locations = ["s3://${var.data_bucket_name}/${var.events_prefix}"]
}
