output "data_bucket_name" {
  description = "Name of the data bucket (Firehose output, Snowpipe input)."
  value       = aws_s3_bucket.this["data"].bucket
}

output "data_bucket_arn" {
  description = "ARN of the data bucket."
  value       = aws_s3_bucket.this["data"].arn
}

output "error_bucket_name" {
  description = "Name of the error bucket (events rejected by the validator)."
  value       = aws_s3_bucket.this["error"].bucket
}

output "error_bucket_arn" {
  description = "ARN of the error bucket."
  value       = aws_s3_bucket.this["error"].arn
}
