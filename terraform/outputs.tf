output "api_url" {
  description = "Full URL of POST /events."
  value       = module.api.events_url
}

output "api_key" {
  description = "API key of the client `default`, to send in the x-api-key header (terraform output -raw api_key): the probe's and Postman's."
  value       = module.api.api_key
  sensitive   = true
}

output "client_api_keys" {
  description = "API key of every client of api_clients, by name (terraform output -json client_api_keys | jq -r .NAME)."
  value       = module.api.client_api_keys
  sensitive   = true
}

output "client_api_key_ids" {
  description = "ID of every client's API key, by name: apiKeyId in the stage's access log, --key-id of aws apigateway get-usage."
  value       = module.api.client_api_key_ids
}

output "waf_web_acl_arn" {
  description = "ARN of the WAF web ACL in front of the API stage, or null without waf_enabled."
  value       = module.api.waf_web_acl_arn
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

output "delivery_mode" {
  description = "How Firehose delivers to Snowflake: snowpipe, snowpipe_fresh or snowpipe_streaming (variable delivery_mode)."
  value       = var.delivery_mode
}

output "snowflake_streaming_secret_arn" {
  description = "ARN of the Secrets Manager secret holding the key pair of Firehose's Snowflake user (snowpipe_streaming; put its value by hand, docs/deploy.md), or null in the S3 modes."
  value       = module.delivery.snowflake_secret_arn
}

output "snowflake_streaming_user" {
  description = "Snowflake service user and role Firehose inserts into EVENTS as (snowpipe_streaming), or null in the S3 modes."
  value       = module.snowflake.streaming
}

output "pipe_name" {
  description = "Fully qualified name of the Snowpipe (for SYSTEM$PIPE_STATUS), or null in snowpipe_streaming."
  value       = module.snowflake.pipe_name
}

output "notification_channel" {
  description = "SQS queue ARN of the pipe, target of the data bucket's notification, or null in snowpipe_streaming."
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

output "alarm_topic_arn" {
  description = "ARN of the SNS topic every CloudWatch alarm notifies; subscribe more endpoints to it (alarm_email_addresses, alarm_https_endpoints)."
  value       = module.observability.topic_arn
}

output "snowflake_error_topic_arn" {
  description = "ARN of the SNS topic Snowflake publishes pipe load errors and the failed checks (freshness, dedup) to, or null without snowflake_enable_error_integration."
  value       = try(module.snowflake.error_topic.arn, null)
}

output "alarms" {
  description = "Every alarm by key (docs/operations.md): its CloudWatch name, pipeline stage, metric and alarm actions."
  value       = module.observability.alarms
}

output "dashboard_name" {
  description = "CloudWatch dashboard of the pipeline, a column per stage from the API to Snowpipe."
  value       = module.observability.dashboard_name
}

output "monitoring_views" {
  description = "Snowflake monitoring views the reader role may SELECT, by key: load_errors, rejected_rows, and in the S3 delivery modes pipe_status and freshness."
  value       = module.snowflake.monitoring_views
}

output "kms_key_arn" {
  description = "ARN of the pipeline's KMS key."
  value       = aws_kms_key.this.arn
}

output "warehouse_name" {
  description = "Snowflake warehouse for reading the events (the probe's SNOWFLAKE_WAREHOUSE)."
  value       = module.snowflake.warehouse_name
}

output "reader_role_name" {
  description = "Read-only Snowflake role (the probe's SNOWFLAKE_ROLE)."
  value       = module.snowflake.reader_role_name
}

output "probe_user_name" {
  description = "Snowflake service user of the post-deploy probe (the probe's SNOWFLAKE_USER), or null."
  value       = module.snowflake.probe_user_name
}
