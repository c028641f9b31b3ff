output "pipe_name" {
  description = "Fully qualified name of the Snowpipe."
  value       = "${local.qualified_schema}.${snowflake_pipe.events.name}"
}

output "notification_channel" {
  description = "ARN of the SQS queue Snowflake listens on for the pipe (target of the bucket notification)."
  value       = snowflake_pipe.events.notification_channel
}

output "table_name" {
  description = "Fully qualified name of the landing table."
  value       = "${local.qualified_schema}.${var.names.table}"
}

output "dedup_view_name" {
  description = "Fully qualified name of the dedup view."
  value       = "${local.qualified_schema}.${snowflake_view.dedup.name}"
}

output "storage_integration_name" {
  description = "Name of the storage integration."
  value       = snowflake_storage_integration_aws.this.name
}

output "storage_role_arn" {
  description = "ARN of the IAM role the storage integration assumes."
  value       = aws_iam_role.snowflake["storage"].arn
}

output "error_topic_arn" {
  description = "ARN of the SNS topic receiving pipe errors, or null when the error integration is off."
  value       = var.enable_error_integration ? aws_sns_topic.errors[0].arn : null
}

output "warehouse_name" {
  description = "Name of the warehouse for reading the events (the probe's default)."
  value       = snowflake_warehouse.reader.name
}

output "reader_role_name" {
  description = "Name of the read-only role: USAGE on the warehouse, database and schema, SELECT on the table and the dedup view."
  value       = snowflake_account_role.reader.name
}

output "probe_user_name" {
  description = "Name of the probe's service user, or null when probe_rsa_public_key is not set."
  value       = var.probe_rsa_public_key == null ? null : snowflake_service_user.probe[0].name
}
