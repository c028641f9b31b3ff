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

variable "destination" {
  description = "Firehose destination: extended_s3 (objects under prefix, loaded by the pipe: delivery modes snowpipe and snowpipe_fresh) or snowflake (Snowpipe Streaming into the table, every record backed up under backup_prefix: snowpipe_streaming). config/pipeline.json delivery_modes."
  type        = string
  default     = "extended_s3"

  validation {
    condition     = contains(["extended_s3", "snowflake"], var.destination)
    error_message = "destination must be extended_s3 or snowflake."
  }
}

variable "dynamic_partitioning" {
  description = "Partition the S3 objects by the transformer's keys (extended_s3 only). Zero buffering is not available with it."
  type        = bool
  default     = true

  validation {
    condition     = !(var.dynamic_partitioning && var.destination != "extended_s3")
    error_message = "dynamic_partitioning is an extended_s3 setting: set it to false with the snowflake destination."
  }
}

variable "prefix" {
  description = "S3 prefix of delivered objects (extended_s3; null with snowflake). With dynamic partitioning only the transformer's keys, which are bounded by design: event_type (a schema file's name or _default) and dt (the arrival date); without it no transformer key at all."
  type        = string
  default     = null

  validation {
    condition     = (var.destination == "extended_s3") == (var.prefix != null)
    error_message = "prefix is required with the extended_s3 destination and must be null with snowflake."
  }

  validation {
    condition     = var.prefix == null || !var.dynamic_partitioning || strcontains(coalesce(var.prefix, "-"), "!{partitionKeyFromLambda:")
    error_message = "With dynamic partitioning, prefix must partition by the keys the transformer returns (!{partitionKeyFromLambda:...})."
  }

  validation {
    condition     = var.prefix == null || var.dynamic_partitioning || !strcontains(coalesce(var.prefix, "-"), "!{partitionKey")
    error_message = "Without dynamic partitioning, prefix cannot use partition keys (!{timestamp:...} is allowed)."
  }

  # A partition per client-chosen value would let one request exceed Firehose's 500 active
  # partitions (activePartitionExceeded), diverting every client's records to the error prefix.
  validation {
    condition = var.prefix == null ? true : !strcontains(var.prefix, "!{partitionKeyFromQuery:") && alltrue([
      for key in regexall("!\\{partitionKeyFromLambda:([^}]*)\\}", var.prefix) : contains(["event_type", "dt"], key[0])
    ])
    error_message = "prefix may only use the transformer's bounded partition keys, !{partitionKeyFromLambda:event_type} and !{partitionKeyFromLambda:dt}."
  }
}

variable "backup_buffering_interval_seconds" {
  description = "Buffering interval of the backup of every record with the snowflake destination (config/pipeline.json delivery_modes.*.backup_buffer_interval_seconds): 60-900 s (zero buffering is not available for a backup); null with extended_s3."
  type        = number
  default     = null

  validation {
    condition     = (var.destination == "snowflake") == (var.backup_buffering_interval_seconds != null)
    error_message = "backup_buffering_interval_seconds is required with the snowflake destination and must be null with extended_s3."
  }

  validation {
    condition     = var.backup_buffering_interval_seconds == null ? true : var.backup_buffering_interval_seconds >= 60 && var.backup_buffering_interval_seconds <= 900
    error_message = "backup_buffering_interval_seconds must be between 60 and 900, the range AWS accepts for a backup (zero buffering is not available for it)."
  }
}

variable "backup_buffering_size_mib" {
  description = "Buffering size of the backup of every record with the snowflake destination (config/pipeline.json delivery_modes.*.backup_buffer_size_mib): 1-128 MiB; null with extended_s3."
  type        = number
  default     = null

  validation {
    condition     = (var.destination == "snowflake") == (var.backup_buffering_size_mib != null)
    error_message = "backup_buffering_size_mib is required with the snowflake destination and must be null with extended_s3."
  }

  validation {
    condition     = var.backup_buffering_size_mib == null ? true : var.backup_buffering_size_mib >= 1 && var.backup_buffering_size_mib <= 128
    error_message = "backup_buffering_size_mib must be between 1 and 128."
  }
}

variable "backup_prefix" {
  description = "S3 prefix of the backup of every record with the snowflake destination (config/pipeline.json delivery_modes: outside prefixes.events, so no pipe loads it); null with extended_s3."
  type        = string
  default     = null

  validation {
    condition     = (var.destination == "snowflake") == (var.backup_prefix != null)
    error_message = "backup_prefix is required with the snowflake destination and must be null with extended_s3."
  }

  validation {
    condition     = var.backup_prefix == null ? true : !strcontains(var.backup_prefix, "!{partitionKey")
    error_message = "backup_prefix cannot use partition keys (no dynamic partitioning with the snowflake destination)."
  }
}

variable "snowflake" {
  description = "The snowflake destination (null with extended_s3): account_url (https://ORG-ACCOUNT.snowflakecomputing.com), database, schema and table to insert into, the role Firehose uses (INSERT on the table), and the name of the Secrets Manager secret this module creates for the key pair."
  type = object({
    account_url = string
    database    = string
    schema      = string
    table       = string
    role        = string
    secret_name = string
  })
  default = null

  validation {
    condition     = (var.destination == "snowflake") == (var.snowflake != null)
    error_message = "snowflake is required with the snowflake destination and must be null with extended_s3."
  }

  validation {
    condition     = var.snowflake == null ? true : can(regex("^https://[A-Za-z0-9_.-]+\\.snowflakecomputing\\.com$", var.snowflake.account_url))
    error_message = "snowflake.account_url must be https://<org>-<account>.snowflakecomputing.com."
  }

  validation {
    condition     = var.snowflake == null ? true : can(regex("^[A-Za-z0-9/_+=.@-]{1,512}$", var.snowflake.secret_name))
    error_message = "snowflake.secret_name must be a Secrets Manager name: 1-512 letters, digits and /_+=.@-."
  }
}

variable "error_output_prefix" {
  description = "S3 prefix of records Firehose could not process (config/pipeline.json firehose.error_output_prefix_template)."
  type        = string

  validation {
    condition     = strcontains(var.error_output_prefix, "!{firehose:error-output-type}")
    error_message = "error_output_prefix must contain !{firehose:error-output-type}, which dynamic partitioning and a prefix with expressions require."
  }
}

variable "buffering_size_mib" {
  description = "Deliver when the destination's buffer (a partition's, with dynamic partitioning) reaches this size, in MiB: 64-128 with dynamic partitioning, else 1-128."
  type        = number

  validation {
    condition     = var.buffering_size_mib >= (var.dynamic_partitioning ? 64 : 1) && var.buffering_size_mib <= 128
    error_message = "buffering_size_mib must be between 64 (1 without dynamic partitioning) and 128 MiB."
  }
}

variable "buffering_interval_seconds" {
  description = "Deliver when the destination's buffer (a partition's, with dynamic partitioning) is this old, in seconds; with small traffic this sets the latency to the destination. 0 (zero buffering) needs dynamic partitioning off."
  type        = number

  validation {
    condition     = var.buffering_interval_seconds >= (var.dynamic_partitioning ? 60 : 0) && var.buffering_interval_seconds <= 900
    error_message = "buffering_interval_seconds must be between 60 (0 without dynamic partitioning: zero buffering is not available with it) and 900."
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

variable "transformer_environment" {
  description = "Environment of the transformer Lambda (names from config/pipeline.json lambda_env: its metrics namespace)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for name in keys(var.transformer_environment) : can(regex("^[A-Za-z][A-Za-z0-9_]*$", name))])
    error_message = "Environment variable names are letters, digits and underscores, starting with a letter."
  }
}

variable "iam_permissions_boundary_arn" {
  description = "Permissions boundary of the Firehose role and of the transformer's role (the root's iam_permissions_boundary_arn); null for none."
  type        = string
  default     = null
}
