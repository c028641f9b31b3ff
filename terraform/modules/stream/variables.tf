variable "name" {
  description = "Name of the Kinesis data stream."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{1,128}$", var.name))
    error_message = "A stream name is 1-128 letters, digits, underscores, hyphens or dots."
  }
}

variable "stream_mode" {
  description = "ON_DEMAND scales shards automatically; PROVISIONED uses shard_count."
  type        = string
  default     = "ON_DEMAND"

  validation {
    condition     = contains(["ON_DEMAND", "PROVISIONED"], var.stream_mode)
    error_message = "stream_mode must be ON_DEMAND or PROVISIONED."
  }
}

variable "shard_count" {
  description = "Number of shards when stream_mode is PROVISIONED (1 MB/s or 1,000 records/s of writes each); ignored when ON_DEMAND."
  type        = number
  default     = 1

  validation {
    condition     = var.shard_count >= 1 && floor(var.shard_count) == var.shard_count
    error_message = "shard_count must be a whole number >= 1."
  }
}

variable "retention_hours" {
  description = "How long records stay readable in the stream, in hours (24 to 8760)."
  type        = number
  default     = 24

  validation {
    condition     = var.retention_hours >= 24 && var.retention_hours <= 8760
    error_message = "retention_hours must be between 24 and 8760."
  }
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key for server-side encryption of the stream."
  type        = string
}
