output "topic_arn" {
  description = "ARN of the alarm topic every alarm notifies (in alarm and back to OK)."
  value       = aws_sns_topic.alarms.arn
}

output "topic_name" {
  description = "Name of the alarm topic."
  value       = aws_sns_topic.alarms.name
}

output "alarms" {
  description = "Every alarm by key (docs/operations.md): name, stage (api, validator, kinesis, firehose, s3, snowpipe), metric namespace and name, and the topics it notifies."
  value = {
    for key, alarm in aws_cloudwatch_metric_alarm.this : key => {
      name          = alarm.alarm_name
      stage         = alarm.tags.Stage
      namespace     = alarm.namespace
      metric_name   = alarm.metric_name
      alarm_actions = alarm.alarm_actions
    }
  }
}

output "dashboard_name" {
  description = "Name of the pipeline dashboard."
  value       = aws_cloudwatch_dashboard.pipeline.dashboard_name
}
