# On by default: Snowpipe publishes load errors (a file it skipped) to an SNS topic through an
# outbound notification integration, and the freshness and duplicate checks (freshness_check.tf,
# dedup_check.tf) and the tasks' own failures are published through the same integration. A topic of its own, not the alarm topic: the IAM role Snowflake
# assumes may publish here and nowhere else, so Snowflake can never raise or clear a CloudWatch
# alarm. The observability module alarms on this topic's messages and subscribes the alarm
# topic's e-mail and HTTPS endpoints to it (docs/operations.md).

resource "aws_sns_topic" "errors" {
  count = var.enable_error_integration ? 1 : 0

  name              = var.error_topic_name
  kms_master_key_id = var.kms_key_arn
}

resource "snowflake_notification_integration" "errors" {
  count = var.enable_error_integration ? 1 : 0

  name                  = var.names.error_integration
  comment               = "rtstream: Snowpipe load errors and the freshness and duplicate checks."
  enabled               = true
  notification_provider = "AWS_SNS"
  # Snowflake sends (TYPE = QUEUE DIRECTION = OUTBOUND): what error notifications and
  # SYSTEM$SEND_SNOWFLAKE_NOTIFICATION to SNS require.
  direction         = "OUTBOUND"
  aws_sns_topic_arn = aws_sns_topic.errors[0].arn
  aws_sns_role_arn  = local.error_role_arn
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

locals {
  # The body of a check task (freshness_check.tf, dedup_check.tf), filled by format() with the
  # query, the JSON message and the integration: when the query finds a row, publish the message
  # to the error topic. Snowflake Scripting, which a task runs as its statement.
  notify_if_found = <<-SQL
    BEGIN
      IF (EXISTS(%s)) THEN
        CALL SYSTEM$SEND_SNOWFLAKE_NOTIFICATION(
          SNOWFLAKE.NOTIFICATION.APPLICATION_JSON('%s'),
          SNOWFLAKE.NOTIFICATION.INTEGRATION('%s'));
      END IF;
    END
  SQL
  # A check reads one small view: serverless at the smallest size, never scaled up (the runs are
  # billed by the second they compute, docs/cost.md).
  check_task_size = "XSMALL"
}
