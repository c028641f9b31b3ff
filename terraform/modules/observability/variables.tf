variable "name" {
  description = "The environment's name prefix: the topic is <name>-alarms, every alarm <name>-<alarm>, the dashboard <name>-pipeline."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,27}$", var.name))
    error_message = "name must be 2-28 lower-case letters, digits or hyphens, starting with a letter (the root's name_prefix)."
  }
}

variable "kms_key_arn" {
  description = "KMS key encrypting the alarm topic (the pipeline's key). Its key policy must let cloudwatch.amazonaws.com use it, or CloudWatch cannot publish to the topic (README.md)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be the ARN of a KMS key (arn:aws:kms:REGION:ACCOUNT:key/KEY-ID), not an alias."
  }
}

variable "email_addresses" {
  description = "E-mail addresses subscribed to the alarm topic and to the Snowflake notification topic. Each must confirm the subscription from the mail AWS sends."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for address in var.email_addresses : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", address))])
    error_message = "email_addresses must be e-mail addresses (name@domain.tld)."
  }
}

variable "https_endpoints" {
  description = "HTTPS URLs subscribed to the alarm topic and to the Snowflake notification topic (chat or paging webhooks). Each must confirm the subscription (SubscriptionConfirmation message)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for endpoint in var.https_endpoints : startswith(endpoint, "https://")])
    error_message = "https_endpoints must be https:// URLs: the messages name the pipeline's resources and files, so never over plain HTTP."
  }
}

variable "thresholds" {
  description = "Alarm thresholds; an attribute left out or null takes the default (README.md, Alarms). period_seconds is the period of every alarm and graph."
  type = object({
    period_seconds                     = optional(number, 300)
    api_5xx_rate_percent               = optional(number, 1)
    api_p99_latency_ms                 = optional(number, 3000)
    lambda_duration_percent_of_timeout = optional(number, 80)
    kinesis_iterator_age_seconds       = optional(number, 300)
    kinesis_write_throttle_periods     = optional(number, 3)
    kinesis_unread_periods             = optional(number, 3)
    firehose_freshness_seconds         = optional(number)
  })
  default = {}

  validation {
    condition     = contains([60, 300, 900, 3600], var.thresholds.period_seconds)
    error_message = "thresholds.period_seconds must be 60, 300, 900 or 3600."
  }

  validation {
    condition     = var.thresholds.api_5xx_rate_percent > 0 && var.thresholds.api_5xx_rate_percent <= 100
    error_message = "thresholds.api_5xx_rate_percent must be in (0, 100]."
  }

  validation {
    condition     = var.thresholds.api_p99_latency_ms > 0 && var.thresholds.api_p99_latency_ms <= 29000
    error_message = "thresholds.api_p99_latency_ms must be in (0, 29000]: API Gateway's integration timeout is 29 s."
  }

  validation {
    condition     = var.thresholds.lambda_duration_percent_of_timeout > 0 && var.thresholds.lambda_duration_percent_of_timeout < 100
    error_message = "thresholds.lambda_duration_percent_of_timeout must be in (0, 100): at 100 the function has already been killed."
  }

  validation {
    condition     = var.thresholds.kinesis_iterator_age_seconds >= 60
    error_message = "thresholds.kinesis_iterator_age_seconds must be at least 60: Firehose reads the stream about once a second, but a minute of age is normal under load."
  }

  validation {
    condition     = var.thresholds.kinesis_write_throttle_periods >= 1 && floor(var.thresholds.kinesis_write_throttle_periods) == var.thresholds.kinesis_write_throttle_periods
    error_message = "thresholds.kinesis_write_throttle_periods must be a whole number >= 1."
  }

  validation {
    condition     = var.thresholds.kinesis_unread_periods >= 2 && floor(var.thresholds.kinesis_unread_periods) == var.thresholds.kinesis_unread_periods
    error_message = "thresholds.kinesis_unread_periods must be a whole number >= 2: a record written at the end of a period is read in the next one, so one period alone can be unread at low traffic."
  }

  validation {
    condition     = coalesce(var.thresholds.firehose_freshness_seconds, var.delivery.freshness_seconds) >= max(10, 2 * var.delivery.buffering_interval_seconds)
    error_message = "thresholds.firehose_freshness_seconds (default delivery.freshness_seconds) must be at least twice delivery.buffering_interval_seconds, and at least 10: Firehose buffers that long before it delivers."
  }
}

variable "delivery" {
  description = "Firehose's destination (config/pipeline.json delivery_modes): extended_s3 (alarms and graphs on DeliveryToS3.*) or snowflake (DeliveryToSnowflake.*), whether it partitions dynamically (then PartitionCountExceeded is alarmed), its buffering interval in seconds (the floor of the freshness threshold is twice it), and freshness_seconds, the delivery mode's default of thresholds.firehose_freshness_seconds."
  type = object({
    destination                = optional(string, "extended_s3")
    dynamic_partitioning       = optional(bool, false)
    buffering_interval_seconds = optional(number, 60)
    freshness_seconds          = optional(number, 900)
  })
  default = {}

  validation {
    condition     = contains(["extended_s3", "snowflake"], var.delivery.destination)
    error_message = "delivery.destination must be extended_s3 or snowflake."
  }

  validation {
    condition     = !var.delivery.dynamic_partitioning || var.delivery.destination == "extended_s3"
    error_message = "delivery.dynamic_partitioning needs delivery.destination extended_s3: Firehose partitions only what it writes to S3."
  }

  validation {
    condition     = var.delivery.buffering_interval_seconds >= 0 && var.delivery.buffering_interval_seconds <= 900
    error_message = "delivery.buffering_interval_seconds must be between 0 and 900 (Firehose's range)."
  }
}

variable "api" {
  description = "The REST API: its name and stage (the ApiName and Stage dimensions of AWS/ApiGateway)."
  type = object({
    name  = string
    stage = string
  })

  validation {
    condition     = length(var.api.name) > 0 && can(regex("^[A-Za-z0-9_-]{1,128}$", var.api.stage))
    error_message = "api needs a name and a stage name of letters, digits, hyphens or underscores."
  }
}

variable "validator" {
  description = "The validator Lambda: name and timeout in seconds (its duration alarm fires near the timeout)."
  type = object({
    name            = string
    timeout_seconds = number
  })

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.validator.name)) && var.validator.timeout_seconds >= 1 && var.validator.timeout_seconds <= 900
    error_message = "validator needs a Lambda function name (1-64 letters, digits, hyphens, underscores) and a timeout_seconds between 1 and 900."
  }
}

variable "transformer" {
  description = "The transformer Lambda: name and timeout in seconds."
  type = object({
    name            = string
    timeout_seconds = number
  })

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.transformer.name)) && var.transformer.timeout_seconds >= 1 && var.transformer.timeout_seconds <= 900
    error_message = "transformer needs a Lambda function name (1-64 letters, digits, hyphens, underscores) and a timeout_seconds between 1 and 900."
  }
}

variable "stream_name" {
  description = "Name of the Kinesis data stream."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{1,128}$", var.stream_name))
    error_message = "A stream name is 1-128 letters, digits, underscores, hyphens or dots."
  }
}

variable "delivery_stream_name" {
  description = "Name of the Firehose stream."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{1,64}$", var.delivery_stream_name))
    error_message = "A Firehose stream name is 1-64 letters, digits, underscores, hyphens or dots."
  }
}

variable "data_bucket_name" {
  description = "Name of the data bucket Firehose writes (shown on the dashboard)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.data_bucket_name))
    error_message = "data_bucket_name must be an S3 bucket name."
  }
}

variable "metrics" {
  description = "The Lambdas' EMF metrics (config/pipeline.json metrics, namespace with {prefix} expanded): namespace, and validator and transformer metric names by key. The alarms read the metrics published without dimensions."
  type = object({
    namespace   = string
    validator   = map(string)
    transformer = map(string)
  })

  validation {
    condition = (
      alltrue([for key in ["events_accepted", "events_rejected", "events_failed", "records_refused", "put_retries", "kinesis_time", "error_store_time"] : contains(keys(var.metrics.validator), key)])
      && alltrue([for key in ["records_ok", "records_processing_failed"] : contains(keys(var.metrics.transformer), key)])
    )
    error_message = "metrics must name the validator's events_accepted, events_rejected, events_failed, records_refused, put_retries, kinesis_time and error_store_time and the transformer's records_ok and records_processing_failed (config/pipeline.json metrics)."
  }
}

variable "snowflake" {
  description = "The Snowflake side: the SNS topic Snowflake publishes pipe load errors and the failed checks (freshness, dedup) to (null when the error integration is off: then Snowpipe has no alarm), and the fully qualified names of the monitoring views the dashboard points to."
  type = object({
    notification_topic = optional(object({
      name = string
      arn  = string
    }))
    monitoring_views = map(string)
  })

  validation {
    condition     = var.snowflake.notification_topic == null ? true : can(regex("^[A-Za-z0-9_-]{1,256}$", var.snowflake.notification_topic.name))
    error_message = "snowflake.notification_topic.name must be an SNS topic name (standard, not FIFO: Snowflake sends to standard topics only)."
  }
}
