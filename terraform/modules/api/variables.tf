variable "name" {
  description = "Name of the REST API."
  type        = string

  validation {
    condition     = length(var.name) >= 1 && length(var.name) <= 1024
    error_message = "name must be 1-1024 characters."
  }
}

variable "stage_name" {
  description = "Name of the deployment stage; first path segment of the URL (config/pipeline.json names.api_stage)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,128}$", var.stage_name))
    error_message = "stage_name must be 1-128 letters, digits, hyphens or underscores."
  }
}

variable "path_part" {
  description = "Resource path the events are POSTed to, without slashes (config/pipeline.json names.api_path)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]+$", var.path_part))
    error_message = "path_part is a single path segment without slashes."
  }
}

variable "validator" {
  description = "The validator Lambda: name, cargo-lambda zip, architecture, memory (MB), timeout (s), reserved concurrency (-1 = unreserved), X-Ray tracing mode."
  type = object({
    name                 = string
    zip_path             = string
    architecture         = string
    memory_size          = number
    timeout              = number
    reserved_concurrency = number
    tracing_mode         = string
  })

  validation {
    # API Gateway gives up on an integration after 29 s.
    condition     = var.validator.timeout <= 29
    error_message = "The validator timeout must stay within API Gateway's 29 s integration timeout."
  }
}

variable "validator_environment" {
  description = "Environment of the validator Lambda (names from config/pipeline.json lambda_env)."
  type        = map(string)
}

variable "stream_arn" {
  description = "ARN of the Kinesis stream the validator may PutRecords to."
  type        = string
}

variable "error_bucket_arn" {
  description = "ARN of the bucket the validator writes rejected events to."
  type        = string
}

variable "error_prefix" {
  description = "Prefix under which the validator may write rejected events (config/pipeline.json prefixes.errors)."
  type        = string

  validation {
    condition     = endswith(var.error_prefix, "/")
    error_message = "error_prefix must end with a slash."
  }
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key of the stream, the error bucket, the logs and the Lambda environment."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the access, execution and Lambda log groups, in days."
  type        = number
}

variable "throttle_rate_limit" {
  description = "Steady-state requests per second, for the stage and for the API key's usage plan."
  type        = number

  validation {
    condition     = var.throttle_rate_limit > 0
    error_message = "throttle_rate_limit must be positive."
  }
}

variable "throttle_burst_limit" {
  description = "Burst of requests allowed above the rate, for the stage and for the usage plan."
  type        = number

  validation {
    condition     = var.throttle_burst_limit >= 1 && floor(var.throttle_burst_limit) == var.throttle_burst_limit
    error_message = "throttle_burst_limit must be a whole number >= 1."
  }
}

variable "quota_limit" {
  description = "Requests the API key may make per quota_period."
  type        = number

  validation {
    condition     = var.quota_limit >= 1 && floor(var.quota_limit) == var.quota_limit
    error_message = "quota_limit must be a whole number >= 1."
  }
}

variable "quota_period" {
  description = "Period of the quota: DAY, WEEK or MONTH."
  type        = string

  validation {
    condition     = contains(["DAY", "WEEK", "MONTH"], var.quota_period)
    error_message = "quota_period must be DAY, WEEK or MONTH."
  }
}

variable "manage_account_logging_role" {
  description = "Set the account-wide API Gateway CloudWatch role (required once per account and region for access and execution logs). Turn off if another stack owns it."
  type        = bool
  default     = true
}
