resource "snowflake_stage_external_s3" "events" {
  name                = var.names.stage
  database            = local.database
  schema              = local.schema
  url                 = "${local.s3_scheme}://${var.data_bucket_name}/${var.events_prefix}"
  storage_integration = snowflake_storage_integration_aws.this.name
  comment             = "rtstream: Firehose output, partitioned by event_type and dt."

  # Snowflake checks the role when the pipe is created on this stage.
  depends_on = [aws_iam_role_policy.snowflake]
}
