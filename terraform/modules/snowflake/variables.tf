variable "names" {
  description = "Snowflake object names (config/pipeline.json snowflake.* with {PREFIX} expanded): database, schema, table, dedup_view, file_format, stage, pipe, storage_integration, error_integration, warehouse, reader_role, probe_user."
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
  })

  validation {
    condition     = alltrue([for n in values(var.names) : can(regex("^[A-Za-z_][A-Za-z0-9_$]*$", n))])
    error_message = "Snowflake names must be unquoted identifiers (letters, digits, _ and $, not starting with a digit)."
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
  description = "Create an SNS topic and a Snowflake notification integration that receive the pipe's load errors."
  type        = bool
  default     = false
}

variable "error_topic_name" {
  description = "Name of the SNS topic for pipe errors (used when enable_error_integration)."
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
