# S3 -> the pipe's SQS queue. Only objects under the events prefix: Firehose's
# processing-failed/ output is not loadable and must not reach the pipe.
# This resource owns every notification of the data bucket. The S3 modes only
# (snowpipe_enabled): in snowpipe_streaming no pipe listens.
resource "aws_s3_bucket_notification" "snowpipe" {
  count = var.snowpipe_enabled ? 1 : 0

  bucket = var.data_bucket_name

  queue {
    id            = "snowpipe-${lower(var.names.pipe)}"
    queue_arn     = snowflake_pipe.events[0].notification_channel
    events        = ["s3:ObjectCreated:*"]
    filter_prefix = var.events_prefix
  }
}

moved {
  from = aws_s3_bucket_notification.snowpipe
  to   = aws_s3_bucket_notification.snowpipe[0]
}
