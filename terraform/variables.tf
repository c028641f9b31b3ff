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
    condition     = var.name_prefix == null ? true : can(regex("^[a-z][a-z0-9-]{1,30}$", var.name_prefix))
    error_message = "name_prefix must be 2-31 lower-case letters, digits or hyphens, starting with a letter (it is part of bucket names)."
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

variable "force_destroy_buckets" {
  description = "Allow terraform destroy to delete non-empty buckets (throw-away environments only)."
  type        = bool
  default     = false
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

variable "firehose_buffering_interval_seconds" {
  description = "Override of firehose.buffer_interval_seconds (60-900): the S3 delivery latency at low traffic."
  type        = number
  default     = null
}

variable "firehose_buffering_size_mib" {
  description = "Override of firehose.buffer_size_mib (64-128 with dynamic partitioning)."
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
  description = "Reserved concurrency of the validator; -1 leaves it unreserved (new accounts have a concurrency quota of 10)."
  type        = number
  default     = -1
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
  description = "Reserved concurrency of the transformer; -1 leaves it unreserved."
  type        = number
  default     = -1
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

variable "manage_api_gateway_account_role" {
  description = "Set the account-wide API Gateway CloudWatch Logs role (needed once per account and region for API logging); false if another stack owns it."
  type        = bool
  default     = true
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
  description = "Snowflake role Terraform uses; it needs CREATE INTEGRATION on the account and CREATE DATABASE (see docs/deploy.md)."
  type        = string
  default     = "RTSTREAM_DEPLOYER"
}

variable "snowflake_private_key" {
  description = "PEM private key (PKCS#8) of the Snowflake user. Pass it through TF_VAR_snowflake_private_key, never in a file under version control."
  type        = string
  sensitive   = true

  validation {
    condition     = strcontains(var.snowflake_private_key, "PRIVATE KEY-----")
    error_message = "snowflake_private_key must be a PEM-encoded private key."
  }
}

variable "snowflake_private_key_passphrase" {
  description = "Passphrase of the private key, or null when the key is not encrypted."
  type        = string
  default     = null
  sensitive   = true
}

variable "snowflake_database" {
  description = "Override of snowflake.database of config/pipeline.json."
  type        = string
  default     = null
}

variable "snowflake_schema" {
  description = "Override of snowflake.schema of config/pipeline.json."
  type        = string
  default     = null
}

variable "snowflake_create_database" {
  description = "Create the Snowflake database and schema (false to use existing ones)."
  type        = bool
  default     = true
}

variable "snowflake_enable_error_integration" {
  description = "Publish Snowpipe load errors to an SNS topic through a Snowflake notification integration."
  type        = bool
  default     = false
}
