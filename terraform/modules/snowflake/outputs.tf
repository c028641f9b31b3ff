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
  value       = snowflake_storage_integration.this.name
}

output "storage_role_arn" {
  description = "ARN of the IAM role the storage integration assumes."
  value       = aws_iam_role.snowflake["storage"].arn
}

output "error_topic_arn" {
  description = "ARN of the SNS topic receiving pipe errors, or null when the error integration is off."
  value       = var.enable_error_integration ? aws_sns_topic.errors[0].arn : null
}
