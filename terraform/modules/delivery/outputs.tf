output "name" {
  description = "Name of the Firehose stream."
  value       = aws_kinesis_firehose_delivery_stream.this.name
}

output "arn" {
  description = "ARN of the Firehose stream."
  value       = aws_kinesis_firehose_delivery_stream.this.arn
}

output "role_arn" {
  description = "ARN of the role Firehose uses to read the stream, invoke the transformer and write S3."
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
