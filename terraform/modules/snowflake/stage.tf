# The S3 modes only (snowpipe_enabled), like the pipe that reads it.
resource "snowflake_stage_external_s3" "events" {
  count = var.snowpipe_enabled ? 1 : 0

  name                = var.names.stage
  database            = local.database
  schema              = local.schema
  url                 = "${local.s3_scheme}://${var.data_bucket_name}/${var.events_prefix}"
  storage_integration = snowflake_storage_integration_aws.this[0].name
  comment             = "rtstream: Firehose output, partitioned by event_type and dt."

  # Snowflake checks the role when the pipe is created on this stage.
  depends_on = [aws_iam_role_policy.snowflake]
}

moved {
  from = snowflake_stage_external_s3.events
  to   = snowflake_stage_external_s3.events[0]
}
