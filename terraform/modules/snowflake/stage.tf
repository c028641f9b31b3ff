resource "snowflake_stage" "events" {
  name                = var.names.stage
  database            = local.database
  schema              = local.schema
  url                 = "s3://${var.data_bucket_name}/${var.events_prefix}"
  storage_integration = snowflake_storage_integration.this.name
  comment             = "rtstream: Firehose output, partitioned by event_type and dt."

  # Snowflake checks the role when the pipe is created on this stage.
  depends_on = [aws_iam_role_policy.snowflake]
}
