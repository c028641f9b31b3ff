variable "names" {
  description = "Snowflake object names (config/pipeline.json snowflake.* with {PREFIX} expanded): database, schema, table, dedup_view, file_format, stage, pipe, storage_integration, error_integration, warehouse, reader_role, probe_user, streaming_user, streaming_role."
  type = object({
    database            = string
    schema              = string
    table               = string
    dedup_view          = string
    file_format         = string
    stage               = string
    pipe                = string
    storage_integration = string
    error_integration   = string
    warehouse           = string
    reader_role         = string
    probe_user          = string
    streaming_user      = string
    streaming_role      = string
  })

  validation {
    condition     = alltrue([for n in values(var.names) : can(regex("^[A-Za-z_][A-Za-z0-9_$]*$", n))])
    error_message = "Snowflake names must be unquoted identifiers (letters, digits, _ and $, not starting with a digit)."
  }
}

variable "snowpipe_enabled" {
  description = "Load EVENTS with Snowpipe (the S3 delivery modes snowpipe and snowpipe_fresh): the storage integration and its role, the stage, the pipe, the bucket notification to the pipe's queue, the pipe's status and freshness views and the freshness check. false in snowpipe_streaming, where Firehose inserts the rows and a pipe would load the backup a second time."
  type        = bool
  default     = true
}

variable "streaming_rsa_public_key" {
  description = "RSA public key (PEM body, without the BEGIN/END lines) of the service user Firehose's Snowflake destination logs in as (snowpipe_streaming); its private key goes into the delivery module's secret, never through Terraform. Non-null creates the user and its role (USAGE on the database and schema, INSERT on the table); null creates neither."
  type        = string
  default     = null

  validation {
    condition     = var.streaming_rsa_public_key == null || can(regex("^MII[A-Za-z0-9+/=]+$", var.streaming_rsa_public_key))
    error_message = "streaming_rsa_public_key must be the base64 body of an RSA public key (starts with MII) on one line, without the BEGIN/END lines."
  }

  # Something must load EVENTS.
  validation {
    condition     = var.snowpipe_enabled || var.streaming_rsa_public_key != null
    error_message = "With snowpipe_enabled = false (snowpipe_streaming), streaming_rsa_public_key must be set: otherwise nothing loads EVENTS."
  }
}

variable "create_database" {
  description = "Create the database and the schema; false when they already exist (the provider's role then needs CREATE privileges in the schema)."
  type        = bool
  default     = true
}

variable "sql_dir" {
  description = "Directory of the Snowflake SQL shared with the local stack (the repository's snowflake/)."
  type        = string
}

variable "data_bucket_name" {
  description = "Name of the data bucket the stage reads and whose notifications feed the pipe."
  type        = string
}

variable "data_bucket_arn" {
  description = "ARN of the data bucket."
  type        = string
}

variable "events_prefix" {
  description = "Prefix of the event objects in the data bucket (config/pipeline.json prefixes.events): the stage URL and the notification filter."
  type        = string

  validation {
    condition     = endswith(var.events_prefix, "/")
    error_message = "events_prefix must end with a slash."
  }
}

variable "kms_key_arn" {
  description = "KMS key encrypting the data bucket (and the error topic)."
  type        = string
}

variable "storage_role_name" {
  description = "Name of the IAM role the storage integration assumes to read the data bucket."
  type        = string
}

variable "enable_error_integration" {
  description = "Create an SNS topic and a Snowflake notification integration that receive the pipe's load errors, the freshness and duplicate checks and the check tasks' failures (on by default; false leaves Snowpipe without any alarm)."
  type        = bool
  default     = true
}

variable "freshness_check" {
  description = "The serverless task that checks the freshness view (needs enable_error_integration): every check_interval_minutes it notifies the error topic when a file has waited pending_file_minutes in the pipe, when the pipe is not RUNNING, or, if max_minutes_without_rows is set, when no row has loaded for that long (set it only where traffic never pauses that long)."
  type = object({
    enabled                  = optional(bool, true)
    pending_file_minutes     = optional(number, 30)
    check_interval_minutes   = optional(number, 10)
    max_minutes_without_rows = optional(number)
  })
  default = {}

  validation {
    condition     = var.freshness_check.pending_file_minutes >= 5 && floor(var.freshness_check.pending_file_minutes) == var.freshness_check.pending_file_minutes
    error_message = "freshness_check.pending_file_minutes must be a whole number >= 5: Snowpipe usually loads a file within a minute or two, sometimes longer."
  }

  validation {
    condition     = var.freshness_check.check_interval_minutes >= 1 && var.freshness_check.check_interval_minutes <= 11520 && floor(var.freshness_check.check_interval_minutes) == var.freshness_check.check_interval_minutes
    error_message = "freshness_check.check_interval_minutes must be a whole number of minutes, 1 to 11520 (a task's schedule limit, 8 days)."
  }

  validation {
    condition     = var.freshness_check.max_minutes_without_rows == null ? true : var.freshness_check.max_minutes_without_rows >= var.freshness_check.pending_file_minutes
    error_message = "freshness_check.max_minutes_without_rows must be null or at least pending_file_minutes."
  }
}

variable "error_topic_name" {
  description = "Name of the SNS topic for pipe errors and the Snowflake checks (used when enable_error_integration)."
  type        = string
}

variable "error_role_name" {
  description = "Name of the IAM role Snowflake assumes to publish pipe errors (used when enable_error_integration)."
  type        = string
}

variable "warehouse_size" {
  description = "Size of the reader warehouse (it suspends after 60 s idle)."
  type        = string
  default     = "XSMALL"

  validation {
    condition     = contains(["XSMALL", "SMALL", "MEDIUM", "LARGE"], var.warehouse_size)
    error_message = "warehouse_size must be XSMALL, SMALL, MEDIUM or LARGE."
  }
}

variable "probe_rsa_public_key" {
  description = "RSA public key (PEM body, without the BEGIN/END lines) of the probe's service user; null creates no probe user."
  type        = string
  default     = null

  validation {
    condition     = var.probe_rsa_public_key == null || can(regex("^MII[A-Za-z0-9+/=]+$", var.probe_rsa_public_key))
    error_message = "probe_rsa_public_key must be the base64 body of an RSA public key (starts with MII) on one line, without the BEGIN/END lines."
  }
}

variable "iam_permissions_boundary_arn" {
  description = "Permissions boundary of the IAM roles Snowflake assumes (the root's iam_permissions_boundary_arn); null for none."
  type        = string
  default     = null
}

variable "dedup" {
  description = "How EVENTS_DEDUP is kept (dedup_history.tf, snowflake/README.md; the values of config/pipeline.json dedup, which the root passes): a serverless task merges new rows into the dedup history every merge_interval_minutes (task_size its first warehouse size); the view dedups rows received in the last recent_horizon_minutes on the fly and reads the history for older ones; a copy arriving more than window_hours after the kept one is no longer matched (kept too); the daily check (check_enabled, needs enable_error_integration), a serverless task at check_hour_utc, notifies of such copies merged in the last day, listing those of the last check_days."
  type = object({
    merge_interval_minutes = number
    recent_horizon_minutes = number
    window_hours           = number
    task_size              = string
    check_enabled          = bool
    check_days             = number
    check_hour_utc         = number
  })

  validation {
    condition     = alltrue([for n in [var.dedup.merge_interval_minutes, var.dedup.recent_horizon_minutes, var.dedup.window_hours, var.dedup.check_days, var.dedup.check_hour_utc] : floor(n) == n])
    error_message = "dedup: merge_interval_minutes, recent_horizon_minutes, window_hours, check_days and check_hour_utc must be whole numbers."
  }

  validation {
    condition     = var.dedup.merge_interval_minutes >= 1 && var.dedup.merge_interval_minutes <= 720
    error_message = "dedup.merge_interval_minutes must be 1 to 720: each merge reads window_hours of the history, so runs more often than a minute cost more than they bring."
  }

  validation {
    condition     = var.dedup.recent_horizon_minutes >= 2 * var.dedup.merge_interval_minutes + 15 && var.dedup.recent_horizon_minutes <= 1440
    error_message = "dedup.recent_horizon_minutes must be at least twice merge_interval_minutes plus 15 (Snowpipe's load delay), so every row is merged before it leaves the horizon, and at most 1440 (every query re-sorts that many minutes of rows)."
  }

  validation {
    condition     = var.dedup.window_hours * 60 >= 2 * var.dedup.recent_horizon_minutes && var.dedup.window_hours <= 720
    error_message = "dedup.window_hours must cover twice recent_horizon_minutes (what the view hides, the merge must also drop) and be at most 720 (each merge reads that much of the history)."
  }

  validation {
    condition     = var.dedup.check_days * 24 > var.dedup.window_hours && var.dedup.check_days <= 90
    error_message = "dedup.check_days must reach past window_hours (only copies further apart than the window slip) and be at most 90."
  }

  validation {
    condition     = var.dedup.check_hour_utc >= 0 && var.dedup.check_hour_utc <= 23
    error_message = "dedup.check_hour_utc must be an hour of the day, 0 to 23."
  }

  validation {
    condition     = contains(["XSMALL", "SMALL", "MEDIUM", "LARGE"], var.dedup.task_size)
    error_message = "dedup.task_size must be XSMALL, SMALL, MEDIUM or LARGE."
  }
}
