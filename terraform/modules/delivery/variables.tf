variable "name" {
  description = "Name of the Firehose stream."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{1,64}$", var.name))
    error_message = "A Firehose stream name is 1-64 letters, digits, underscores, hyphens or dots."
  }
}

variable "stream_arn" {
  description = "ARN of the Kinesis data stream Firehose reads from."
  type        = string
}

variable "bucket_arn" {
  description = "ARN of the data bucket Firehose writes to."
  type        = string
}

variable "prefix" {
  description = "S3 prefix of delivered objects, with dynamic partitioning expressions (config/pipeline.json firehose.events_prefix_template). Only the transformer's keys, which are bounded by design: event_type (a schema file's name or _default) and dt (the arrival date)."
  type        = string

  validation {
    condition     = strcontains(var.prefix, "!{partitionKeyFromLambda:")
    error_message = "prefix must partition by the keys the transformer returns (!{partitionKeyFromLambda:...})."
  }

  # A partition per client-chosen value would let one request exceed Firehose's 500 active
  # partitions (activePartitionExceeded), diverting every client's records to the error prefix.
  validation {
    condition = !strcontains(var.prefix, "!{partitionKeyFromQuery:") && alltrue([
      for key in regexall("!\\{partitionKeyFromLambda:([^}]*)\\}", var.prefix) : contains(["event_type", "dt"], key[0])
    ])
    error_message = "prefix may only use the transformer's bounded partition keys, !{partitionKeyFromLambda:event_type} and !{partitionKeyFromLambda:dt}."
  }
}

variable "error_output_prefix" {
  description = "S3 prefix of records Firehose could not process (config/pipeline.json firehose.error_output_prefix_template)."
  type        = string

  validation {
    condition     = strcontains(var.error_output_prefix, "!{firehose:error-output-type}")
    error_message = "error_output_prefix must contain !{firehose:error-output-type}, which dynamic partitioning requires."
  }
}

variable "buffering_size_mib" {
  description = "Deliver an object when a partition's buffer reaches this size, in MiB. Dynamic partitioning requires at least 64."
  type        = number

  validation {
    condition     = var.buffering_size_mib >= 64 && var.buffering_size_mib <= 128
    error_message = "With dynamic partitioning the buffer size must be between 64 and 128 MiB."
  }
}

variable "buffering_interval_seconds" {
  description = "Deliver an object when a partition's buffer is this old, in seconds; with small traffic this sets the latency to S3."
  type        = number

  validation {
    condition     = var.buffering_interval_seconds >= 60 && var.buffering_interval_seconds <= 900
    error_message = "buffering_interval_seconds must be between 60 and 900 (zero buffering is not available with dynamic partitioning)."
  }
}

variable "processor_buffer_size_mib" {
  description = "Size of the batches Firehose hands to the transformer, in MiB (0.2 to 3). The transformer's answer must fit Lambda's 6 MB response: its smallest records answer at about ten times their size, so config/pipeline.json sets 0.4 (see the transformer's worst-case test)."
  type        = number

  validation {
    condition     = var.processor_buffer_size_mib >= 0.2 && var.processor_buffer_size_mib <= 3
    error_message = "processor_buffer_size_mib must be between 0.2 and 3."
  }
}

variable "processor_buffer_interval_seconds" {
  description = "Longest time Firehose waits to fill a transformer batch, in seconds."
  type        = number

  validation {
    condition     = var.processor_buffer_interval_seconds >= 0 && var.processor_buffer_interval_seconds <= 900
    error_message = "processor_buffer_interval_seconds must be between 0 and 900."
  }
}

variable "gzip" {
  description = "GZIP-compress delivered objects (Snowflake's file format detects the compression)."
  type        = bool
  default     = false
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key of the stream, the bucket, the logs and the transformer's environment."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the Firehose and transformer log groups, in days."
  type        = number
}

variable "transformer" {
  description = "The transformer Lambda: name, cargo-lambda zip, architecture, memory (MB), timeout (s), reserved concurrency (-1 = unreserved), X-Ray tracing mode."
  type = object({
    name                 = string
    zip_path             = string
    architecture         = string
    memory_size          = number
    timeout              = number
    reserved_concurrency = number
    tracing_mode         = string
  })
}

variable "iam_permissions_boundary_arn" {
  description = "Permissions boundary of the Firehose role and of the transformer's role (the root's iam_permissions_boundary_arn); null for none."
  type        = string
  default     = null
}
