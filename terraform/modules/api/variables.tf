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
  description = "Steady-state requests per second of the stage, all clients together (method throttling); no usage plan may allow a key more."
  type        = number

  validation {
    condition     = var.throttle_rate_limit > 0
    error_message = "throttle_rate_limit must be positive."
  }
}

variable "throttle_burst_limit" {
  description = "Burst of requests the stage allows above its rate, all clients together; no usage plan may allow a key more."
  type        = number

  validation {
    condition     = var.throttle_burst_limit >= 1 && floor(var.throttle_burst_limit) == var.throttle_burst_limit
    error_message = "throttle_burst_limit must be a whole number >= 1."
  }
}

variable "usage_plans" {
  description = "Usage plans by key (a tier, or client-<name> for a client with limits of its own): requests per second, burst, and requests per quota_period (DAY, WEEK or MONTH), applied to each API key of the plan separately. Plan key `default` is the default client's."
  type = map(object({
    rate_limit   = number
    burst_limit  = number
    quota_limit  = number
    quota_period = string
  }))

  validation {
    condition     = contains(keys(var.usage_plans), "default")
    error_message = "usage_plans must contain the plan `default`."
  }

  validation {
    condition     = alltrue([for key in keys(var.usage_plans) : can(regex("^[a-z][a-z0-9_]{0,31}$|^client-[a-z][a-z0-9_]{0,31}$", key))])
    error_message = "usage_plans keys are tier names (lower-case letters, digits, underscores) or client-<client name>."
  }

  validation {
    condition = alltrue([
      for plan in values(var.usage_plans) :
      plan.rate_limit > 0 && plan.burst_limit >= 1 && floor(plan.burst_limit) == plan.burst_limit
      && plan.quota_limit >= 1 && floor(plan.quota_limit) == plan.quota_limit
      && contains(["DAY", "WEEK", "MONTH"], plan.quota_period)
    ])
    error_message = "Every usage plan needs rate_limit > 0, a whole burst_limit >= 1, a whole quota_limit >= 1 and quota_period DAY, WEEK or MONTH."
  }

  validation {
    # The stage's method throttling caps all keys together, so a plan above it only misleads.
    condition     = alltrue([for plan in values(var.usage_plans) : plan.rate_limit <= var.throttle_rate_limit && plan.burst_limit <= var.throttle_burst_limit])
    error_message = "No usage plan may allow more than the stage's throttle_rate_limit / throttle_burst_limit, which caps all clients together: raise api_throttle_rate_limit / api_throttle_burst_limit first."
  }
}

variable "clients" {
  description = "API clients by name: the usage plan (a key of usage_plans) its API key is attached to, and whether the key is enabled. One API key per client; `default` is the key of output api_key."
  type = map(object({
    usage_plan = string
    enabled    = bool
  }))

  validation {
    condition     = contains(keys(var.clients), "default") && try(var.clients["default"].enabled, false)
    error_message = "clients must contain an enabled client `default`: its key is output api_key, which the deploy's probe and Postman run use."
  }

  validation {
    condition     = alltrue([for name in keys(var.clients) : can(regex("^[a-z][a-z0-9_]{0,31}$", name))])
    error_message = "Client names are identifiers: 1-32 lower-case letters, digits or underscores, starting with a letter."
  }

  validation {
    condition     = alltrue([for client in values(var.clients) : contains(keys(var.usage_plans), client.usage_plan)])
    error_message = "Every client's usage_plan must be a key of usage_plans."
  }
}

variable "waf" {
  description = "The stage's optional WAF web ACL (waf.tf): enabled; rate_limit requests per IP address per rate_window_seconds (60, 120, 300 or 600), then 429; max_request_bytes, above which a Content-Length gets 413 (the validator's limits.max_request_bytes); common_rule_set (AWSManagedRulesCommonRuleSet: OFF, COUNT or BLOCK); log_all_requests (false: only blocked or counted requests are logged)."
  type = object({
    enabled             = bool
    rate_limit          = optional(number, 30000)
    rate_window_seconds = optional(number, 300)
    max_request_bytes   = optional(number)
    common_rule_set     = optional(string, "OFF")
    log_all_requests    = optional(bool, false)
  })
  default = { enabled = false }

  validation {
    condition     = var.waf.rate_limit >= 10 && var.waf.rate_limit <= 2000000000 && floor(var.waf.rate_limit) == var.waf.rate_limit
    error_message = "waf.rate_limit must be a whole number from 10 to 2,000,000,000 (AWS WAF's bounds for a rate-based rule)."
  }

  validation {
    condition     = contains([60, 120, 300, 600], var.waf.rate_window_seconds)
    error_message = "waf.rate_window_seconds must be 60, 120, 300 or 600 (AWS WAF's evaluation windows)."
  }

  validation {
    # API Gateway refuses bodies over 10 MB itself.
    condition     = !var.waf.enabled || (var.waf.max_request_bytes != null && coalesce(var.waf.max_request_bytes, 0) >= 1 && coalesce(var.waf.max_request_bytes, 0) <= 10485760 && floor(coalesce(var.waf.max_request_bytes, 0)) == coalesce(var.waf.max_request_bytes, 0))
    error_message = "An enabled WAF needs waf.max_request_bytes, a whole number from 1 to 10485760 (API Gateway's payload limit)."
  }

  validation {
    condition     = contains(["OFF", "COUNT", "BLOCK"], var.waf.common_rule_set)
    error_message = "waf.common_rule_set must be OFF, COUNT or BLOCK."
  }

  validation {
    # The web ACL is named after the API, and its rules' metric names add up to 26 characters
    # to a name WAF caps at 128.
    condition     = !var.waf.enabled || can(regex("^[A-Za-z0-9_-]{1,100}$", var.name))
    error_message = "With the WAF enabled, name must be 1-100 letters, digits, hyphens or underscores (it names the web ACL and its metrics)."
  }
}

variable "iam_permissions_boundary_arn" {
  description = "Permissions boundary of the validator's IAM role (the root's iam_permissions_boundary_arn); null for none."
  type        = string
  default     = null
}
