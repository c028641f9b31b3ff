variable "names" {
  description = "Snowflake object names (config/pipeline.json snowflake.*): database, schema, table, dedup_view, file_format, stage, pipe, storage_integration, error_integration."
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
