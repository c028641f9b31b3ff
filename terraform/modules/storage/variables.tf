variable "data_bucket_name" {
  description = "Name of the bucket Firehose writes the events to (globally unique)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.data_bucket_name))
    error_message = "S3 bucket names are 3-63 lower-case letters, digits, dots or hyphens."
  }
}

variable "error_bucket_name" {
  description = "Name of the bucket the validator writes rejected events to (globally unique)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.error_bucket_name))
    error_message = "S3 bucket names are 3-63 lower-case letters, digits, dots or hyphens."
  }
}

variable "error_prefix" {
  description = "Prefix of the rejected events in the error bucket (config/pipeline.json prefixes.errors)."
  type        = string

  validation {
    condition     = endswith(var.error_prefix, "/")
    error_message = "error_prefix must end with a slash."
  }
}

variable "processing_failed_prefix" {
  description = "Prefix of the records Firehose could not transform, in the data bucket (config/pipeline.json prefixes.processing_failed)."
  type        = string

  validation {
    condition     = endswith(var.processing_failed_prefix, "/")
    error_message = "processing_failed_prefix must end with a slash."
  }
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key for SSE-KMS default encryption of both buckets."
  type        = string
}

variable "error_expiration_days" {
  description = "Days after which rejected events (errors/) and unprocessable records (processing-failed/) are deleted."
  type        = number

  validation {
    condition     = var.error_expiration_days >= 1
    error_message = "error_expiration_days must be at least 1."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which overwritten or deleted object versions are removed."
  type        = number

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "noncurrent_version_expiration_days must be at least 1."
  }
}

