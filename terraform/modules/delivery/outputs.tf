output "name" {
  description = "Name of the Firehose stream."
  value       = aws_kinesis_firehose_delivery_stream.this.name
}

output "arn" {
  description = "ARN of the Firehose stream."
  value       = aws_kinesis_firehose_delivery_stream.this.arn
}

output "role_arn" {
  description = "ARN of the role Firehose uses to read the stream, invoke the transformer, write S3 and (snowflake) read the key-pair secret."
  value       = aws_iam_role.firehose.arn
}

output "transformer_function_name" {
  description = "Name of the transformer Lambda."
  value       = module.transformer.function_name
}

output "transformer_role_name" {
  description = "Name of the transformer Lambda's IAM role."
  value       = module.transformer.role_name
}

output "log_group_name" {
  description = "CloudWatch log group of Firehose delivery errors."
  value       = aws_cloudwatch_log_group.firehose.name
}

output "destination" {
  description = "The Firehose destination: extended_s3 (the S3 modes) or snowflake (snowpipe_streaming)."
  value       = aws_kinesis_firehose_delivery_stream.this.destination
}

output "events_prefix" {
  description = "S3 prefix of the objects the pipe loads (extended_s3), or null with snowflake."
  value       = var.prefix
}

output "backup_prefix" {
  description = "S3 prefix of the backup of every record (snowflake), or null with extended_s3."
  value       = var.backup_prefix
}

output "snowflake_secret_arn" {
  description = "ARN of the Secrets Manager secret Firehose reads its Snowflake key pair from (snowflake; put its value by hand, docs/deploy.md), or null with extended_s3."
  value       = one(aws_secretsmanager_secret.snowflake[*].arn)
}
