output "api_url" {
  description = "Full URL of POST /events."
  value       = module.api.events_url
}

output "api_key" {
  description = "API key to send in the x-api-key header (terraform output -raw api_key)."
  value       = module.api.api_key
  sensitive   = true
}

output "data_bucket_name" {
  description = "Bucket of the Firehose output (events/) and processing failures (processing-failed/)."
  value       = module.storage.data_bucket_name
}

output "error_bucket_name" {
  description = "Bucket of the events the validator rejected (errors/)."
  value       = module.storage.error_bucket_name
}

output "stream_arn" {
  description = "ARN of the Kinesis data stream."
  value       = module.stream.arn
}

output "delivery_stream_name" {
  description = "Name of the Firehose stream."
  value       = module.delivery.name
}

output "pipe_name" {
  description = "Fully qualified name of the Snowpipe (for SYSTEM$PIPE_STATUS)."
  value       = module.snowflake.pipe_name
}

output "notification_channel" {
  description = "SQS queue ARN of the pipe, target of the data bucket's notification."
  value       = module.snowflake.notification_channel
}

output "table_name" {
  description = "Fully qualified name of the landing table."
  value       = module.snowflake.table_name
}

output "dedup_view_name" {
  description = "Fully qualified name of the deduplicated view."
  value       = module.snowflake.dedup_view_name
}

output "kms_key_arn" {
  description = "ARN of the pipeline's KMS key."
  value       = aws_kms_key.this.arn
}
