# Optional: Snowpipe publishes load errors to an SNS topic through a notification
# integration; subscribe e-mail, chat or a Lambda to the topic.

resource "aws_sns_topic" "errors" {
  count = var.enable_error_integration ? 1 : 0

  name              = var.error_topic_name
  kms_master_key_id = var.kms_key_arn
}

resource "snowflake_notification_integration" "errors" {
  count = var.enable_error_integration ? 1 : 0

  name                  = var.names.error_integration
  comment               = "rtstream: Snowpipe load errors."
  enabled               = true
  notification_provider = "AWS_SNS"
  aws_sns_topic_arn     = aws_sns_topic.errors[0].arn
  aws_sns_role_arn      = local.error_role_arn
}

data "aws_iam_policy_document" "publish_errors" {
  count = var.enable_error_integration ? 1 : 0

  statement {
    sid       = "PublishErrors"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.errors[0].arn]
  }

  statement {
    sid       = "EncryptMessages"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [var.kms_key_arn]
  }
}
