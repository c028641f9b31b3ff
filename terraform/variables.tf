# Names, prefixes and limits come from config/pipeline.json (locals.tf). Variables that
# default to null override the config value; the modules validate the result.

# --- AWS -------------------------------------------------------------------------

variable "aws_region" {
  description = "AWS region to deploy into."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "aws_region must look like eu-west-1."
  }
}

variable "tags" {
  description = "Extra tags on every AWS resource (Project and ManagedBy are always set)."
  type        = map(string)
  default     = {}
}

variable "name_prefix" {
  description = "Replaces {prefix} in the names of config/pipeline.json (default: its name_prefix). Use one per environment."
  type        = string
  default     = null

  validation {
    condition     = var.name_prefix == null ? true : can(regex("^[a-z][a-z0-9-]{1,27}$", var.name_prefix))
    error_message = "name_prefix must be 2-28 lower-case letters, digits or hyphens, starting with a letter: <prefix>-errors-<account>-<region> must fit S3's 63 characters."
  }
}

variable "bucket_name_suffix" {
  description = "Appended to the bucket names of config/pipeline.json to make them globally unique; null means -<account id>-<region>, \"\" means none."
  type        = string
  default     = null
}

variable "kms_deletion_window_days" {
  description = "Waiting period before the pipeline's KMS key is deleted after a destroy, in days."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30
    error_message = "kms_deletion_window_days must be between 7 and 30."
  }
}

variable "log_retention_days" {
  description = "Retention of every CloudWatch log group of the pipeline, in days."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ... 3653)."
  }
}

variable "iam_permissions_boundary_arn" {
  description = "Permissions boundary of every IAM role the stack creates (the Lambdas', Firehose's and Snowflake's): output workload_boundary_arn of terraform/bootstrap. The GitHub apply role may create or change a role only with it attached, so set it wherever that role deploys (env/prod.tfvars); null (no boundary) for an environment applied by hand."
  type        = string
  default     = null

  validation {
    condition     = var.iam_permissions_boundary_arn == null ? true : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:policy/[A-Za-z0-9+=,.@_/-]+$", var.iam_permissions_boundary_arn))
    error_message = "iam_permissions_boundary_arn must be the ARN of a managed IAM policy (arn:aws:iam::ACCOUNT:policy/PATH/NAME)."
  }
}

# --- Storage -----------------------------------------------------------------------

variable "error_expiration_days" {
  description = "Days after which rejected events (errors/) and Firehose processing failures (processing-failed/) are deleted."
  type        = number
  default     = 30
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which overwritten or deleted object versions are removed from both buckets."
  type        = number
  default     = 30
}

# --- Kinesis -------------------------------------------------------------------------

variable "stream_mode" {
  description = "Kinesis capacity mode: ON_DEMAND or PROVISIONED."
  type        = string
  default     = "ON_DEMAND"
}

variable "stream_shard_count" {
  description = "Shards of the stream when stream_mode is PROVISIONED."
  type        = number
  default     = 1
}

variable "stream_retention_hours" {
  description = "Retention of the Kinesis stream, in hours (24 to 8760)."
  type        = number
  default     = 24
}

# --- Firehose ------------------------------------------------------------------------

variable "delivery_mode" {
  description = "How Firehose delivers to Snowflake (config/pipeline.json delivery_modes, docs/latency.md): snowpipe (dynamic partitioning -> S3 -> notification -> Snowpipe AUTO_INGEST; about 2-4 minutes), snowpipe_fresh (no partitioning, zero buffering -> S3 -> the same pipe; about a minute at p99) or snowpipe_streaming (Firehose's Snowflake destination, Snowpipe Streaming; seconds; every record also backed up under prefixes.backup; needs snowflake_streaming_rsa_public_key and the secret's value, docs/deploy.md). The table contract (EVENTS, EVENTS_DEDUP) is the same in every mode; switching replaces the Firehose stream (docs/deploy.md, Switching the delivery mode)."
  type        = string
  default     = "snowpipe"

  validation {
    condition     = contains(["snowpipe", "snowpipe_fresh", "snowpipe_streaming"], var.delivery_mode)
    error_message = "delivery_mode must be snowpipe, snowpipe_fresh or snowpipe_streaming."
  }
}

variable "firehose_buffering_interval_seconds" {
  description = "Override of the delivery mode's destination buffering interval (delivery_modes, else firehose.buffer_interval_seconds): 60-900 with dynamic partitioning (snowpipe), 0-900 otherwise. The delivery latency at low traffic."
  type        = number
  default     = null
}

variable "firehose_buffering_size_mib" {
  description = "Override of firehose.buffer_size_mib (64-128 with dynamic partitioning, 1-128 otherwise)."
  type        = number
  default     = null
}

variable "firehose_gzip" {
  description = "GZIP-compress the objects Firehose writes (Snowflake detects the compression)."
  type        = bool
  default     = false
}

# --- Lambdas -------------------------------------------------------------------------

variable "lambda_architecture" {
  description = "Architecture of both Lambda zips: arm64 (cargo lambda build --arm64, the default) or x86_64."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.lambda_architecture)
    error_message = "lambda_architecture must be arm64 or x86_64."
  }
}

variable "lambda_tracing_mode" {
  description = "X-Ray tracing of both Lambdas: PassThrough follows the API stage's sampling (the stage always traces), Active traces every invocation."
  type        = string
  default     = "PassThrough"
}

variable "validator_zip_path" {
  description = "Path of the validator zip (default: ../target/lambda/validator/bootstrap.zip from cargo lambda build; it contains bootstrap and schemas/)."
  type        = string
  default     = null
}

variable "transformer_zip_path" {
  description = "Path of the transformer zip (default: ../target/lambda/transformer/bootstrap.zip)."
  type        = string
  default     = null
}

variable "validator_memory_mb" {
  description = "Override of lambda.validator.memory_mb."
  type        = number
  default     = null
}

variable "validator_timeout_seconds" {
  description = "Override of lambda.validator.timeout_seconds; must exceed limits.put_deadline_ms and stay within 29 s."
  type        = number
  default     = null
}

variable "validator_reserved_concurrency" {
  description = "Reserved concurrency of the validator: the most it may run at once (and a share no other function can take), so that a flood of requests can't take the concurrency the transformer and every other function of the account need. -1 leaves it unreserved, the default: a new account's quota of 10 allows no reservation. Set in env/prod.tfvars, with lambda_account_concurrency (README.md, Reserved concurrency)."
  type        = number
  default     = -1

  validation {
    condition     = var.validator_reserved_concurrency == -1 || (var.validator_reserved_concurrency >= 1 && floor(var.validator_reserved_concurrency) == var.validator_reserved_concurrency)
    error_message = "validator_reserved_concurrency must be -1 (unreserved) or a whole number >= 1 (0 would throttle every request)."
  }
}

variable "transformer_memory_mb" {
  description = "Override of lambda.transformer.memory_mb."
  type        = number
  default     = null
}

variable "transformer_timeout_seconds" {
  description = "Override of lambda.transformer.timeout_seconds."
  type        = number
  default     = null
}

variable "transformer_reserved_concurrency" {
  description = "Reserved concurrency of the transformer: concurrency no other function can take (a flood of the validator, or of another stack in the account, can't starve Firehose's invocations) and the most Firehose may use. -1 leaves it unreserved. Set in env/prod.tfvars, with lambda_account_concurrency."
  type        = number
  default     = -1

  validation {
    condition     = var.transformer_reserved_concurrency == -1 || (var.transformer_reserved_concurrency >= 1 && floor(var.transformer_reserved_concurrency) == var.transformer_reserved_concurrency)
    error_message = "transformer_reserved_concurrency must be -1 (unreserved) or a whole number >= 1 (0 would throttle every Firehose invocation)."
  }
}

variable "lambda_account_concurrency" {
  description = "The account's Lambda concurrency quota in aws_region: AccountLimit.ConcurrentExecutions of `aws lambda get-account-settings`. Required once either Lambda reserves concurrency: the plan then checks that the two reservations leave the 100 unreserved executions Lambda insists on (it refuses a reservation that would bring UnreservedConcurrentExecutions below 100). Reservations of other functions in the account are not known here; Lambda still refuses the apply if they leave too little."
  type        = number
  default     = null

  validation {
    condition     = var.lambda_account_concurrency == null ? true : var.lambda_account_concurrency >= 1 && floor(var.lambda_account_concurrency) == var.lambda_account_concurrency
    error_message = "lambda_account_concurrency must be a whole number (ConcurrentExecutions of aws lambda get-account-settings)."
  }

  validation {
    condition = (
      max(var.validator_reserved_concurrency, 0) + max(var.transformer_reserved_concurrency, 0) == 0
      || max(var.validator_reserved_concurrency, 0) + max(var.transformer_reserved_concurrency, 0) + 100 <= coalesce(var.lambda_account_concurrency, 0)
    )
    error_message = "validator_reserved_concurrency + transformer_reserved_concurrency + 100 must not exceed lambda_account_concurrency: Lambda keeps at least 100 executions of the account unreserved. Set lambda_account_concurrency to ConcurrentExecutions of `aws lambda get-account-settings` (a new account's 10 allows no reservation: ask for a quota increase), or lower the reservations."
  }
}

# --- API Gateway ---------------------------------------------------------------------

variable "api_throttle_rate_limit" {
  description = "Override of api_usage_plan.rate_limit: requests per second for the stage and the API key."
  type        = number
  default     = null
}

variable "api_throttle_burst_limit" {
  description = "Override of api_usage_plan.burst_limit."
  type        = number
  default     = null
}

variable "api_quota_limit" {
  description = "Override of api_usage_plan.quota_limit: requests per quota period for the API key."
  type        = number
  default     = null
}

variable "api_quota_period" {
  description = "Override of api_usage_plan.quota_period: DAY, WEEK or MONTH."
  type        = string
  default     = null
}

variable "api_usage_tiers" {
  description = "Usage plan tiers besides `default` (whose limits are api_usage_plan of config/pipeline.json with the api_throttle_*/api_quota_* overrides), by name: requests per second, burst, and requests per quota_period (DAY, WEEK or MONTH). One usage plan each; its limits apply to each client's key separately, and never above the stage's rate and burst."
  type = map(object({
    rate_limit   = number
    burst_limit  = number
    quota_limit  = number
    quota_period = string
  }))
  default = {}

  validation {
    condition     = alltrue([for name in keys(var.api_usage_tiers) : can(regex("^[a-z][a-z0-9_]{0,31}$", name)) && name != "default"])
    error_message = "Tier names are identifiers (1-32 lower-case letters, digits or underscores, starting with a letter), and `default` is defined by api_usage_plan of config/pipeline.json."
  }

  validation {
    condition = alltrue([
      for tier in values(var.api_usage_tiers) :
      tier.rate_limit > 0 && tier.burst_limit >= 1 && floor(tier.burst_limit) == tier.burst_limit
      && tier.quota_limit >= 1 && floor(tier.quota_limit) == tier.quota_limit
      && contains(["DAY", "WEEK", "MONTH"], tier.quota_period)
    ])
    error_message = "Every tier needs rate_limit > 0, a whole burst_limit >= 1, a whole quota_limit >= 1 and quota_period DAY, WEEK or MONTH."
  }
}

variable "api_clients" {
  description = "API clients by name, one API key each (output client_api_keys): either `tier` (`default` or a key of api_usage_tiers) or limits of its own (rate_limit, burst_limit, quota_limit and quota_period together, a usage plan for that client alone); `enabled = false` keeps the key but refuses its requests. Must contain `default`, the key of output api_key that the deploy's probe and Postman run use."
  type = map(object({
    tier         = optional(string)
    rate_limit   = optional(number)
    burst_limit  = optional(number)
    quota_limit  = optional(number)
    quota_period = optional(string)
    enabled      = optional(bool, true)
  }))
  default = { default = { tier = "default" } }

  validation {
    condition     = alltrue([for name in keys(var.api_clients) : can(regex("^[a-z][a-z0-9_]{0,31}$", name))])
    error_message = "Client names are identifiers: 1-32 lower-case letters, digits or underscores, starting with a letter."
  }

  validation {
    condition     = contains(keys(var.api_clients), "default") && try(var.api_clients["default"].enabled, false)
    error_message = "api_clients must keep an enabled client `default`: its key is output api_key, which the deploy's probe and Postman run use."
  }

  validation {
    condition = alltrue([
      for client in values(var.api_clients) :
      client.tier != null
      ? client.rate_limit == null && client.burst_limit == null && client.quota_limit == null && client.quota_period == null
      : client.rate_limit != null && client.burst_limit != null && client.quota_limit != null && client.quota_period != null
    ])
    error_message = "Give each client either a tier or all four of rate_limit, burst_limit, quota_limit and quota_period, not both."
  }

  validation {
    condition     = alltrue([for client in values(var.api_clients) : client.tier == null || client.tier == "default" || contains(keys(var.api_usage_tiers), coalesce(client.tier, "default"))])
    error_message = "A client's tier must be `default` or a key of api_usage_tiers."
  }

  validation {
    condition = alltrue([
      for client in values(var.api_clients) :
      client.tier != null || (
        coalesce(client.rate_limit, 1) > 0
        && coalesce(client.burst_limit, 1) >= 1 && floor(coalesce(client.burst_limit, 1)) == coalesce(client.burst_limit, 1)
        && coalesce(client.quota_limit, 1) >= 1 && floor(coalesce(client.quota_limit, 1)) == coalesce(client.quota_limit, 1)
        && contains(["DAY", "WEEK", "MONTH"], coalesce(client.quota_period, "DAY"))
      )
    ])
    error_message = "A client's own limits need rate_limit > 0, a whole burst_limit >= 1, a whole quota_limit >= 1 and quota_period DAY, WEEK or MONTH."
  }

  validation {
    # API Gateway quotas per account and region: 10,000 API keys (fixed), 300 usage plans
    # (adjustable). Other stacks of the account (dev and prod share one) count too.
    condition     = length(var.api_clients) <= 10000 && 1 + length(var.api_usage_tiers) + length([for client in values(var.api_clients) : client if client.tier == null]) <= 300
    error_message = "Beyond API Gateway's quotas per account and region: 10,000 API keys, 300 usage plans (one per tier, one per client with limits of its own). Move clients with limits of their own onto tiers."
  }
}

# --- WAF -----------------------------------------------------------------------------

variable "waf_enabled" {
  description = "Put a regional WAF web ACL in front of the API stage (modules/waf): a per-IP rate limit, a Content-Length limit of limits.max_request_bytes, optionally AWS's common rule set, logs in CloudWatch Logs. AWS WAF bills per web ACL, rule and million requests."
  type        = bool
  default     = false
}

variable "waf_rate_limit" {
  description = "Requests one IP address may make per waf_rate_window_seconds before the WAF answers 429 rate.limited (10 to 2,000,000,000). The default, 30,000 per 300 s, is 100 requests/s on average, a fifth of the stage's rate."
  type        = number
  default     = 30000

  validation {
    condition     = var.waf_rate_limit >= 10 && var.waf_rate_limit <= 2000000000 && floor(var.waf_rate_limit) == var.waf_rate_limit
    error_message = "waf_rate_limit must be a whole number from 10 to 2,000,000,000 (AWS WAF's bounds for a rate-based rule)."
  }
}

variable "waf_rate_window_seconds" {
  description = "Evaluation window of the WAF's rate rule: 60, 120, 300 or 600 seconds."
  type        = number
  default     = 300

  validation {
    condition     = contains([60, 120, 300, 600], var.waf_rate_window_seconds)
    error_message = "waf_rate_window_seconds must be 60, 120, 300 or 600 (AWS WAF's evaluation windows)."
  }
}

variable "waf_common_rule_set" {
  description = "AWS managed rule group AWSManagedRulesCommonRuleSet in the web ACL: OFF, COUNT (logged and counted only, to tune) or BLOCK. Its rules look for exploits in the first 16 KB of a body; arbitrary client payloads and gzip bodies make false positives likely, so measure with COUNT first."
  type        = string
  default     = "OFF"

  validation {
    condition     = contains(["OFF", "COUNT", "BLOCK"], var.waf_common_rule_set)
    error_message = "waf_common_rule_set must be OFF, COUNT or BLOCK."
  }
}

variable "waf_log_all_requests" {
  description = "Log every request the WAF sees; false (the default) logs only those a rule blocked or counted."
  type        = bool
  default     = false
}

# --- Snowflake -----------------------------------------------------------------------

variable "snowflake_organization_name" {
  description = "Snowflake organization name (first part of the account identifier ORG-ACCOUNT)."
  type        = string
}

variable "snowflake_account_name" {
  description = "Snowflake account name (second part of the account identifier ORG-ACCOUNT)."
  type        = string
}

variable "snowflake_user" {
  description = "Snowflake service user Terraform authenticates as, with key-pair authentication."
  type        = string
}

variable "snowflake_role" {
  description = "Snowflake role Terraform uses and that owns what it creates; it needs CREATE INTEGRATION, DATABASE, WAREHOUSE, ROLE and USER on the account (docs/deploy.md step 2)."
  type        = string
  default     = "RTSTREAM_DEPLOYER"
}

variable "snowflake_database" {
  description = "An existing database to deploy into (with snowflake_create_database = false); null means the environment's own, snowflake.database of config/pipeline.json."
  type        = string
  default     = null
}

variable "snowflake_create_database" {
  description = "Create the Snowflake database and schema (false to use existing ones)."
  type        = bool
  default     = true
}

variable "snowflake_enable_error_integration" {
  description = "Publish Snowpipe load errors and the Snowflake freshness and duplicate checks to an SNS topic (names.snowpipe_error_topic) through a Snowflake notification integration, watched by the snowpipe-notifications alarm. On by default: without it Snowpipe has no alarm."
  type        = bool
  default     = true
}

variable "snowflake_warehouse_size" {
  description = "Size of the reader warehouse of the probe and of read-only users."
  type        = string
  default     = "XSMALL"
}

variable "snowflake_dedup" {
  description = "How EVENTS_DEDUP is kept: merge_interval_minutes, recent_horizon_minutes, window_hours, task_size, check_enabled, check_days, check_hour_utc; an attribute left out takes config/pipeline.json dedup (modules/snowflake variable dedup validates them; snowflake/README.md)."
  type = object({
    merge_interval_minutes = optional(number)
    recent_horizon_minutes = optional(number)
    window_hours           = optional(number)
    task_size              = optional(string)
    check_enabled          = optional(bool)
    check_days             = optional(number)
    check_hour_utc         = optional(number)
  })
  default = {}
}

variable "snowflake_probe_rsa_public_key" {
  description = "RSA public key body (no BEGIN/END lines) of the post-deploy probe's Snowflake service user; null creates no probe user."
  type        = string
  default     = null
}

variable "snowflake_streaming_rsa_public_key" {
  description = "RSA public key body (no BEGIN/END lines) of the Snowflake service user Firehose logs in as in delivery_mode snowpipe_streaming (required there, unused otherwise). Its private key goes into the Secrets Manager secret by hand (docs/deploy.md), never into Terraform."
  type        = string
  default     = null

  validation {
    condition     = var.delivery_mode != "snowpipe_streaming" || var.snowflake_streaming_rsa_public_key != null
    error_message = "delivery_mode snowpipe_streaming needs snowflake_streaming_rsa_public_key (docs/deploy.md, Switching the delivery mode)."
  }
}

# --- Alarms and dashboard (docs/operations.md) ----------------------------------------

variable "alarm_email_addresses" {
  description = "E-mail addresses notified of every alarm (the alarm topic) and of Snowflake's load errors and checks (the Snowflake topic). Each address must confirm its subscriptions."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for address in var.alarm_email_addresses : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", address))])
    error_message = "alarm_email_addresses must be e-mail addresses (name@domain.tld)."
  }
}

variable "alarm_https_endpoints" {
  description = "HTTPS URLs (chat or paging webhooks) notified like alarm_email_addresses. They are stored in the state and shown in plans."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for endpoint in var.alarm_https_endpoints : startswith(endpoint, "https://")])
    error_message = "alarm_https_endpoints must be https:// URLs."
  }
}

variable "alarm_thresholds" {
  description = "Alarm thresholds; an attribute left out takes the default of modules/observability (CloudWatch) or modules/snowflake (snowflake_*, the Snowflake freshness check), listed in docs/operations.md."
  type = object({
    period_seconds                     = optional(number)
    api_5xx_rate_percent               = optional(number)
    api_p99_latency_ms                 = optional(number)
    lambda_duration_percent_of_timeout = optional(number)
    kinesis_iterator_age_seconds       = optional(number)
    kinesis_write_throttle_periods     = optional(number)
    kinesis_unread_periods             = optional(number)
    firehose_freshness_seconds         = optional(number)
    snowflake_pending_file_minutes     = optional(number)
    snowflake_check_interval_minutes   = optional(number)
    snowflake_max_minutes_without_rows = optional(number)
  })
  default = {}
}
