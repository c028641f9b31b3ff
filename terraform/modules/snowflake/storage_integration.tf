# The storage integration: Snowflake's IAM identity for the data bucket. Its role ARN is a
# string built in iam.tf, so the integration exists before the role that trusts it. The S3
# modes only (snowpipe_enabled): in snowpipe_streaming Snowflake reads no S3 object.
resource "snowflake_storage_integration_aws" "this" {
  count = var.snowpipe_enabled ? 1 : 0

  name                      = var.names.storage_integration
  comment                   = "rtstream: read the Firehose output under ${var.events_prefix}"
  enabled                   = true
  storage_provider          = local.storage_provider
  storage_aws_role_arn      = local.storage_role_arn
  storage_allowed_locations = ["${local.s3_scheme}://${var.data_bucket_name}/${var.events_prefix}"]
}

# Counted since the delivery modes: the integration deployed before keeps its identity (the
# role's trust policy names its IAM user and external ID).
moved {
  from = snowflake_storage_integration_aws.this
  to   = snowflake_storage_integration_aws.this[0]
}
