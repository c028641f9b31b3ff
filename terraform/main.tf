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
  prefix                            = local.config.firehose.events_prefix_template
  error_output_prefix               = local.config.firehose.error_output_prefix_template
  buffering_size_mib                = coalesce(var.firehose_buffering_size_mib, local.config.firehose.buffer_size_mib)
  buffering_interval_seconds        = coalesce(var.firehose_buffering_interval_seconds, local.config.firehose.buffer_interval_seconds)
  processor_buffer_size_mib         = local.config.firehose.processor_buffer_size_mib
  processor_buffer_interval_seconds = local.config.firehose.processor_buffer_interval_seconds
  gzip                              = var.firehose_gzip
  kms_key_arn                       = aws_kms_key.this.arn
  log_retention_days                = var.log_retention_days
  transformer                       = local.transformer
  iam_permissions_boundary_arn      = var.iam_permissions_boundary_arn
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

  iam_permissions_boundary_arn = var.iam_permissions_boundary_arn
}

check "validator_deadline" {
  assert {
    condition     = local.validator.timeout * 1000 > local.config.limits.put_deadline_ms
    error_message = "The validator timeout must exceed limits.put_deadline_ms of config/pipeline.json, or Lambda kills it while it retries Kinesis."
  }
}
