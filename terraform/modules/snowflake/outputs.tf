output "pipe_name" {
  description = "Fully qualified name of the Snowpipe, or null without snowpipe_enabled (snowpipe_streaming)."
  value       = one([for pipe in snowflake_pipe.events : "${local.qualified_schema}.${pipe.name}"])
}

output "notification_channel" {
  description = "ARN of the SQS queue Snowflake listens on for the pipe (target of the bucket notification), or null without snowpipe_enabled."
  value       = one(snowflake_pipe.events[*].notification_channel)
}

output "table_name" {
  description = "Fully qualified name of the landing table."
  value       = "${local.qualified_schema}.${var.names.table}"
}

output "dedup_view_name" {
  description = "Fully qualified name of the dedup view."
  value       = "${local.qualified_schema}.${snowflake_view.dedup.name}"
}

output "storage_integration_name" {
  description = "Name of the storage integration, or null without snowpipe_enabled."
  value       = one(snowflake_storage_integration_aws.this[*].name)
}

output "storage_role_arn" {
  description = "ARN of the IAM role the storage integration assumes, or null without snowpipe_enabled."
  value       = var.snowpipe_enabled ? aws_iam_role.snowflake["storage"].arn : null
}

output "error_topic" {
  description = "Name and ARN of the SNS topic Snowflake publishes pipe load errors and the checks' notifications to, or null when the error integration is off."
  value       = var.enable_error_integration ? { name = aws_sns_topic.errors[0].name, arn = aws_sns_topic.errors[0].arn } : null
}

output "monitoring_views" {
  description = "Fully qualified names of the monitoring views the reader role may SELECT, by key: load_errors, rejected_rows, and with snowpipe_enabled pipe_status and freshness."
  value = merge(
    { for key, view in snowflake_view.monitoring : key => "${local.qualified_schema}.${view.name}" },
    { for view in snowflake_view.freshness : "freshness" => "${local.qualified_schema}.${view.name}" },
  )
}

output "freshness_check_name" {
  description = "Fully qualified name of the serverless task that checks the freshness view, or null when it is off."
  value       = one([for task in snowflake_task.freshness_check : "${local.qualified_schema}.${task.name}"])
}

output "warehouse_name" {
  description = "Name of the warehouse for reading the events (the probe's default)."
  value       = snowflake_warehouse.reader.name
}

output "reader_role_name" {
  description = "Name of the read-only role: USAGE on the warehouse, database and schema, SELECT on the table, the dedup view, the duplicate check view and the monitoring views, MONITOR on the pipe."
  value       = snowflake_account_role.reader.name
}

output "probe_user_name" {
  description = "Name of the probe's service user, or null when probe_rsa_public_key is not set."
  value       = var.probe_rsa_public_key == null ? null : snowflake_service_user.probe[0].name
}

output "dedup" {
  description = "The objects that keep EVENTS_DEDUP (snowflake/README.md): the history table, the stream on the table, the merge task, the duplicate check's view, and its task (null when off)."
  value = {
    history      = "${local.qualified_schema}.${local.dedup_history}"
    stream       = snowflake_stream_on_table.dedup_changes.fully_qualified_name
    merge_task   = snowflake_task.dedup_merge.fully_qualified_name
    slipped_view = local.dedup_slipped_view
    check        = one([for task in snowflake_task.dedup_slipped_check : "${local.qualified_schema}.${task.name}"])
  }
}

output "streaming" {
  description = "What Firehose's Snowflake destination logs in as (snowpipe_streaming): the service user and its role (USAGE on the database and schema, INSERT on the table); null without streaming_rsa_public_key."
  value = var.streaming_rsa_public_key == null ? null : {
    user = snowflake_service_user.streaming[0].name
    role = snowflake_account_role.streaming[0].name
  }
  # Firehose starts inserting once it has the role: the grants come first.
  depends_on = [snowflake_grant_privileges_to_account_role.streaming_insert, snowflake_grant_privileges_to_account_role.streaming_schema, snowflake_grant_privileges_to_account_role.streaming_database, snowflake_grant_account_role.streaming_user]
}
