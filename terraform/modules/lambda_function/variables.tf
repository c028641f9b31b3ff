variable "name" {
  description = "Function name; also names its IAM role and log group."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.name))
    error_message = "A Lambda function name is 1-64 letters, digits, hyphens or underscores."
  }
}

variable "description" {
  description = "What the function does, shown in the Lambda console."
  type        = string
}

variable "zip_path" {
  description = "Path of the cargo-lambda zip (bootstrap.zip) to deploy."
  type        = string

  validation {
    condition     = endswith(var.zip_path, ".zip")
    error_message = "zip_path must point at the bootstrap.zip built by `cargo lambda build --output-format zip`."
  }
}

variable "architecture" {
  description = "Instruction set the bootstrap binary was built for: arm64 (cargo lambda build --arm64) or x86_64."
  type        = string

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
}

variable "memory_size" {
  description = "Memory in MB (CPU scales with it)."
  type        = number

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "memory_size must be between 128 and 10240 MB."
  }
}

variable "timeout" {
  description = "Timeout in seconds."
  type        = number

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900
    error_message = "timeout must be between 1 and 900 seconds."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions; -1 leaves the function on the unreserved account pool."
  type        = number

  validation {
    condition     = var.reserved_concurrency == -1 || var.reserved_concurrency >= 0
    error_message = "reserved_concurrency must be -1 (unreserved) or >= 0."
  }
}

variable "environment" {
  description = "Environment variables of the function."
  type        = map(string)
  default     = {}
}

variable "policy_statements" {
  description = "Extra IAM statements for the function's role, beyond writing its own logs. Actions must be named: no wildcards."
  type = list(object({
    sid       = string
    actions   = list(string)
    resources = list(string)
  }))
  default = []

  validation {
    condition     = alltrue([for s in var.policy_statements : alltrue([for a in s.actions : !strcontains(a, "*")])])
    error_message = "Least privilege: name every action, no wildcards."
  }
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key encrypting the environment variables and the log group."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the function's CloudWatch log group, in days."
  type        = number
}

variable "tracing_mode" {
  description = "X-Ray tracing: Active samples every invocation, PassThrough only traces requests that arrive with a trace header."
  type        = string

  validation {
    condition     = contains(["Active", "PassThrough"], var.tracing_mode)
    error_message = "tracing_mode must be Active or PassThrough."
  }
}

variable "iam_permissions_boundary_arn" {
  description = "Permissions boundary of the function's IAM role (the root's iam_permissions_boundary_arn); null for none."
  type        = string
  default     = null
}
