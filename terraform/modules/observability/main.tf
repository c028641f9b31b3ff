# One SNS topic for every alarm of the pipeline, the subscriptions of both topics (this one
# and the one Snowflake publishes to), and the values alarms.tf and dashboard.tf share.

data "aws_region" "current" {}

locals {
  region = data.aws_region.current.region

  # Both topics reach the same people: CloudWatch alarms here, Snowflake's load errors (with
  # the file names) and failed checks on the Snowflake topic, which alarms.tf also watches.
  topics = merge(
    { alarms = aws_sns_topic.alarms.arn },
    var.snowflake.notification_topic == null ? {} : { snowflake = var.snowflake.notification_topic.arn },
  )
  endpoints = merge(
    { for address in var.email_addresses : "email:${address}" => { protocol = "email", endpoint = address } },
    { for url in var.https_endpoints : "https:${url}" => { protocol = "https", endpoint = url } },
  )
  subscriptions = merge([
    for topic, arn in local.topics : {
      for key, target in local.endpoints : "${topic}/${key}" => merge(target, { topic_arn = arn })
    }
  ]...)
}

resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-alarms"
  kms_master_key_id = var.kms_key_arn
}

resource "aws_sns_topic_subscription" "this" {
  for_each = local.subscriptions

  topic_arn = each.value.topic_arn
  protocol  = each.value.protocol
  endpoint  = each.value.endpoint
}
