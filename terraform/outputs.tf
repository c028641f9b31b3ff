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
