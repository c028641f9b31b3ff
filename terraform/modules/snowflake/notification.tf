# S3 -> the pipe's SQS queue. Only objects under the events prefix: Firehose's
# processing-failed/ output is not loadable and must not reach the pipe.
# This resource owns every notification of the data bucket.
resource "aws_s3_bucket_notification" "snowpipe" {
  bucket = var.data_bucket_name

  queue {
    id            = "snowpipe-${lower(var.names.pipe)}"
    queue_arn     = snowflake_pipe.events.notification_channel
    events        = ["s3:ObjectCreated:*"]
    filter_prefix = var.events_prefix
  }
}
