# The storage integration: Snowflake's IAM identity for the data bucket. Its role ARN is a
# string built in iam.tf, so the integration exists before the role that trusts it.
resource "snowflake_storage_integration_aws" "this" {
  name                      = var.names.storage_integration
  comment                   = "rtstream: read the Firehose output under ${var.events_prefix}"
  enabled                   = true
  storage_provider          = local.storage_provider
  storage_aws_role_arn      = local.storage_role_arn
  storage_allowed_locations = ["${local.s3_scheme}://${var.data_bucket_name}/${var.events_prefix}"]
}
