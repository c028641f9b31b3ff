data "aws_caller_identity" "current" {}

module "storage" {
  source = "./modules/storage"

  data_bucket_name                   = "${local.names.data_bucket}${local.bucket_suffix}"
  error_bucket_name                  = "${local.names.error_bucket}${local.bucket_suffix}"
  error_prefix                       = local.prefixes.errors
  processing_failed_prefix           = local.prefixes.processing_failed
  kms_key_arn                        = aws_kms_key.this.arn
  error_expiration_days              = var.error_expiration_days
  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
}

module "stream" {
  source = "./modules/stream"

  name            = local.names.stream
  stream_mode     = var.stream_mode
  shard_count     = var.stream_shard_count
  retention_hours = var.stream_retention_hours
  kms_key_arn     = aws_kms_key.this.arn
}

module "delivery" {
  source = "./modules/delivery"

  name                              = local.names.delivery_stream
  stream_arn                        = module.stream.arn
  bucket_arn                        = module.storage.data_bucket_arn
  destination                       = local.delivery.destination
  dynamic_partitioning              = local.delivery.dynamic_partitioning
  prefix                            = local.delivery.events_prefix
  backup_prefix                     = local.delivery.backup_prefix
  backup_buffering_interval_seconds = local.delivery.backup_buffering_interval_seconds
  backup_buffering_size_mib         = local.delivery.backup_buffering_size_mib
  error_output_prefix               = local.config.firehose.error_output_prefix_template
  buffering_size_mib                = local.delivery.buffering_size_mib
  buffering_interval_seconds        = local.delivery.buffering_interval_seconds
  processor_buffer_size_mib         = local.delivery.processor_buffer_size_mib
  processor_buffer_interval_seconds = local.delivery.processor_buffer_interval_seconds
  gzip                              = var.firehose_gzip
  kms_key_arn                       = aws_kms_key.this.arn
  log_retention_days                = var.log_retention_days
  transformer                       = local.transformer
  transformer_environment           = local.transformer_environment
  iam_permissions_boundary_arn      = var.iam_permissions_boundary_arn

  # snowpipe_streaming: Snowpipe Streaming into EVENTS as the streaming user's role. Snowflake
  # URLs write the account name's underscores as hyphens.
  snowflake = local.delivery.destination != "snowflake" ? null : {
    account_url = lower("https://${var.snowflake_organization_name}-${replace(var.snowflake_account_name, "_", "-")}.snowflakecomputing.com")
    database    = local.snowflake_names.database
    schema      = local.snowflake_names.schema
    table       = local.snowflake_names.table
    role        = module.snowflake.streaming.role
    secret_name = local.names.snowflake_streaming_secret
  }
}

module "api" {
  source = "./modules/api"

  name                  = local.names.api
  stage_name            = local.names.api_stage
  path_part             = local.names.api_path
  validator             = local.validator
  validator_environment = local.validator_environment
  stream_arn            = module.stream.arn
  error_bucket_arn      = module.storage.error_bucket_arn
  error_prefix          = local.prefixes.errors
  kms_key_arn           = aws_kms_key.this.arn
  log_retention_days    = var.log_retention_days
  # The stage's throttle (all clients together) is the default tier's rate and burst.
  throttle_rate_limit  = local.api_usage_plan.rate_limit
  throttle_burst_limit = local.api_usage_plan.burst_limit
  usage_plans          = local.api_usage_plans
  clients              = local.api_clients

  # Named after the API (names.api): the deploy role may manage web ACLs and log groups of the
  # name prefix only.
  waf = {
    enabled             = var.waf_enabled
    rate_limit          = var.waf_rate_limit
    rate_window_seconds = var.waf_rate_window_seconds
    max_request_bytes   = local.config.limits.max_request_bytes
    common_rule_set     = var.waf_common_rule_set
    log_all_requests    = var.waf_log_all_requests
  }

  iam_permissions_boundary_arn = var.iam_permissions_boundary_arn
}

module "snowflake" {
  source = "./modules/snowflake"

  names                    = local.snowflake_names
  create_database          = var.snowflake_create_database
  sql_dir                  = "${path.module}/../snowflake"
  data_bucket_name         = module.storage.data_bucket_name
  data_bucket_arn          = module.storage.data_bucket_arn
  events_prefix            = local.prefixes.events
  kms_key_arn              = aws_kms_key.this.arn
  storage_role_name        = local.names.snowflake_storage_role
  enable_error_integration = var.snowflake_enable_error_integration
  error_topic_name         = local.names.snowpipe_error_topic
  error_role_name          = local.names.snowflake_error_role
  warehouse_size           = var.snowflake_warehouse_size
  probe_rsa_public_key     = var.snowflake_probe_rsa_public_key
  # The stage, pipe and notification in the S3 modes; the streaming user and role in
  # snowpipe_streaming (config/pipeline.json delivery_modes).
  snowpipe_enabled         = local.delivery_mode.snowpipe
  streaming_rsa_public_key = local.delivery.destination == "snowflake" ? var.snowflake_streaming_rsa_public_key : null
  dedup                    = local.snowflake_dedup

  # The Snowflake side of the alarms (docs/operations.md, snowpipe-notifications).
  freshness_check = {
    pending_file_minutes     = var.alarm_thresholds.snowflake_pending_file_minutes
    check_interval_minutes   = var.alarm_thresholds.snowflake_check_interval_minutes
    max_minutes_without_rows = var.alarm_thresholds.snowflake_max_minutes_without_rows
  }

  iam_permissions_boundary_arn = var.iam_permissions_boundary_arn
}

# Alarms on every stage to one topic, and the pipeline dashboard (docs/operations.md).
module "observability" {
  source = "./modules/observability"

  name            = local.name_prefix
  kms_key_arn     = aws_kms_key.this.arn
  email_addresses = var.alarm_email_addresses
  https_endpoints = var.alarm_https_endpoints
  # The module ignores the snowflake_* thresholds; they configure the Snowflake freshness check above.
  thresholds = var.alarm_thresholds

  api                  = { name = local.names.api, stage = module.api.stage_name }
  validator            = { name = module.api.validator_function_name, timeout_seconds = local.validator.timeout }
  transformer          = { name = module.delivery.transformer_function_name, timeout_seconds = local.transformer.timeout }
  stream_name          = module.stream.name
  delivery_stream_name = module.delivery.name
  data_bucket_name     = module.storage.data_bucket_name
  metrics              = local.metrics
  # The delivery mode picks the Firehose metrics and the freshness threshold's default.
  delivery = {
    destination                = local.delivery.destination
    buffering_interval_seconds = local.delivery.buffering_interval_seconds
    freshness_seconds          = local.delivery_mode.freshness_alarm_seconds
    dynamic_partitioning       = local.delivery.dynamic_partitioning
  }
  snowflake = {
    notification_topic = module.snowflake.error_topic
    monitoring_views   = module.snowflake.monitoring_views
  }
}

# The backup of snowpipe_streaming is an archive under prefixes.backup: never under the prefix
# the stage and the notification watch, or a pipe would load it a second time.
check "backup_outside_events" {
  assert {
    condition     = local.delivery.backup_prefix == null ? true : startswith(local.delivery.backup_prefix, local.prefixes.backup) && !startswith(local.delivery.backup_prefix, local.prefixes.events)
    error_message = "delivery_modes' backup_prefix_template must start with prefixes.backup and not with prefixes.events (config/pipeline.json)."
  }
}

check "validator_deadline" {
  assert {
    condition     = local.validator.timeout * 1000 > local.config.limits.put_deadline_ms
    error_message = "The validator timeout must exceed limits.put_deadline_ms of config/pipeline.json, or Lambda kills it while it retries Kinesis."
  }
}
