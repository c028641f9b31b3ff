locals {
  # The single source of truth for names, prefixes and limits, shared with the Lambdas'
  # defaults, the local stack and the drift tests (tests/terraform).
  config = jsondecode(file("${path.module}/../config/pipeline.json"))

  name_prefix = coalesce(var.name_prefix, local.config.name_prefix)
  # {PREFIX}: the prefix as a Snowflake identifier, so environments sharing a Snowflake
  # account get their own database, integrations, warehouse and roles.
  snowflake_prefix = upper(replace(local.name_prefix, "-", "_"))
  names            = { for key, template in local.config.names : key => replace(template, "{prefix}", local.name_prefix) }
  prefixes         = local.config.prefixes

  # The Lambdas' EMF metrics, as they emit them: the namespace is a name like the others.
  metrics = {
    namespace   = replace(local.config.metrics.namespace, "{prefix}", local.name_prefix)
    validator   = local.config.metrics.validator
    transformer = local.config.metrics.transformer
  }

  # S3 bucket names are global: by default the account and region make them unique.
  bucket_suffix = var.bucket_name_suffix != null ? var.bucket_name_suffix : "-${data.aws_caller_identity.current.account_id}-${var.aws_region}"

  snowflake_names = merge(
    { for key, template in local.config.snowflake : key => replace(template, "{PREFIX}", local.snowflake_prefix) },
    var.snowflake_database == null ? {} : { database = var.snowflake_database },
  )

  # How EVENTS_DEDUP is kept: config/pipeline.json dedup (also the local stack's and the cost
  # model's), each attribute overridable by var.snowflake_dedup; modules/snowflake validates them.
  snowflake_dedup = merge(
    { for key, value in local.config.dedup : key => value if key != "_comment" },
    { for key, value in var.snowflake_dedup : key => value if value != null },
  )

  validator = {
    name                 = local.names.validator_function
    zip_path             = coalesce(var.validator_zip_path, "${path.module}/../target/lambda/validator/bootstrap.zip")
    architecture         = var.lambda_architecture
    memory_size          = coalesce(var.validator_memory_mb, local.config.lambda.validator.memory_mb)
    timeout              = coalesce(var.validator_timeout_seconds, local.config.lambda.validator.timeout_seconds)
    reserved_concurrency = var.validator_reserved_concurrency
    tracing_mode         = var.lambda_tracing_mode
  }

  transformer = {
    name                 = local.names.transformer_function
    zip_path             = coalesce(var.transformer_zip_path, "${path.module}/../target/lambda/transformer/bootstrap.zip")
    architecture         = var.lambda_architecture
    memory_size          = coalesce(var.transformer_memory_mb, local.config.lambda.transformer.memory_mb)
    timeout              = coalesce(var.transformer_timeout_seconds, local.config.lambda.transformer.timeout_seconds)
    reserved_concurrency = var.transformer_reserved_concurrency
    tracing_mode         = var.lambda_tracing_mode
  }

  # Every setting the validator reads, keyed like config lambda_env; the limits are taken
  # as they are. A lambda_env key without a value here fails the plan.
  validator_settings = merge(local.config.limits, {
    stream_name  = module.stream.name
    error_bucket = module.storage.error_bucket_name
    error_prefix = local.prefixes.errors
    # cargo-lambda puts the repository's schemas/ next to bootstrap in the zip.
    schema_dir        = "/var/task/schemas"
    metrics_namespace = local.metrics.namespace
    # Whether the validator packs events into records follows the mode (delivery_modes.*.packs).
    delivery_mode = var.delivery_mode
  })
  validator_environment = { for key, env_name in local.config.lambda_env : env_name => tostring(local.validator_settings[key]) }
  # The delivery mode's settings (config/pipeline.json delivery_modes); a null setting is the
  # firehose block's, and the firehose_* variables override the destination's buffering.
  delivery_mode = local.config.delivery_modes.modes[var.delivery_mode]
  delivery = {
    destination          = local.delivery_mode.destination
    dynamic_partitioning = local.delivery_mode.dynamic_partitioning
    # The objects the pipe loads (the S3 modes), or the backup of every record (snowflake).
    events_prefix = local.delivery_mode.destination == "extended_s3" ? coalesce(local.delivery_mode.events_prefix_template, local.config.firehose.events_prefix_template) : null
    backup_prefix = local.delivery_mode.backup_prefix_template
    # The backup's own buffering (snowflake only; null otherwise).
    backup_buffering_interval_seconds = local.delivery_mode.backup_buffer_interval_seconds
    backup_buffering_size_mib         = local.delivery_mode.backup_buffer_size_mib
    # coalesce keeps a configured 0 (zero buffering).
    buffering_interval_seconds        = coalesce(var.firehose_buffering_interval_seconds, local.delivery_mode.buffer_interval_seconds, local.config.firehose.buffer_interval_seconds)
    buffering_size_mib                = coalesce(var.firehose_buffering_size_mib, local.config.firehose.buffer_size_mib)
    processor_buffer_interval_seconds = coalesce(local.delivery_mode.processor_buffer_interval_seconds, local.config.firehose.processor_buffer_interval_seconds)
    processor_buffer_size_mib         = coalesce(local.delivery_mode.processor_buffer_size_mib, local.config.firehose.processor_buffer_size_mib)
  }

  # The transformer's output follows the delivery mode (config delivery_modes.transformer_env:
  # NDJSON with or without partition keys, or EVENTS' column names for JSON_MAPPING).
  transformer_delivery_mode_environment = { (local.config.delivery_modes.transformer_env) = var.delivery_mode }
  # The transformer reads its metrics namespace and its delivery mode.
  transformer_environment = merge(
    { (local.config.lambda_env.metrics_namespace) = local.metrics.namespace },
    local.transformer_delivery_mode_environment,
  )

  api_usage_plan = {
    rate_limit   = coalesce(var.api_throttle_rate_limit, local.config.api_usage_plan.rate_limit)
    burst_limit  = coalesce(var.api_throttle_burst_limit, local.config.api_usage_plan.burst_limit)
    quota_limit  = coalesce(var.api_quota_limit, local.config.api_usage_plan.quota_limit)
    quota_period = coalesce(var.api_quota_period, local.config.api_usage_plan.quota_period)
  }

  # Usage plans: one per tier (`default` is api_usage_plan above, the others api_usage_tiers)
  # and one per client with limits of its own ("client-<name>": tier names have no hyphen).
  api_usage_plans = merge(
    { for tier, limits in var.api_usage_tiers : tier => limits },
    { default = local.api_usage_plan },
    {
      for name, client in var.api_clients : "client-${name}" => {
        rate_limit   = client.rate_limit
        burst_limit  = client.burst_limit
        quota_limit  = client.quota_limit
        quota_period = client.quota_period
      } if client.tier == null
    },
  )

  # Each client's API key goes to its tier's plan or to its own.
  api_clients = {
    for name, client in var.api_clients : name => {
      usage_plan = client.tier != null ? client.tier : "client-${name}"
      enabled    = client.enabled
    }
  }
}
