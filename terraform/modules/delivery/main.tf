data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

module "transformer" {
  source = "../lambda_function"

  name                 = var.transformer.name
  description          = "rtstream Firehose transformer: events to NDJSON lines with _ingest metadata and partition keys."
  zip_path             = var.transformer.zip_path
  architecture         = var.transformer.architecture
  memory_size          = var.transformer.memory_size
  timeout              = var.transformer.timeout
  reserved_concurrency = var.transformer.reserved_concurrency
  tracing_mode         = var.transformer.tracing_mode
  environment          = var.transformer_environment
  kms_key_arn          = var.kms_key_arn
  log_retention_days   = var.log_retention_days
  # Firehose invokes it and receives the records back: it needs nothing beyond its logs.

  iam_permissions_boundary_arn = var.iam_permissions_boundary_arn
}

resource "aws_cloudwatch_log_group" "firehose" {
  #checkov:skip=CKV_AWS_338:Operational logs; retention is the log_retention_days variable (default 30 days), raise it where an audit trail is required.
  name              = "/aws/kinesisfirehose/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_cloudwatch_log_stream" "delivery" {
  name           = "DestinationDelivery"
  log_group_name = aws_cloudwatch_log_group.firehose.name
}

# snowpipe_streaming: Firehose's Snowflake login. Terraform creates the secret empty: its value
# (user, private_key, key_passphrase) is put by hand (docs/deploy.md), so neither a variable nor a
# saved plan nor the state ever holds the private key.
resource "aws_secretsmanager_secret" "snowflake" {
  #checkov:skip=CKV2_AWS_57:No automatic rotation: Secrets Manager has no rotation function for a Snowflake key pair; it is rotated by hand (docs/deploy.md, Rotating the Firehose key).
  count = var.destination == "snowflake" ? 1 : 0

  name        = var.snowflake.secret_name
  description = "Snowflake key pair of the Firehose stream ${var.name} (JSON: user, private_key, key_passphrase)."
  kms_key_id  = var.kms_key_arn
  # Deleted at once when the mode leaves snowpipe_streaming: within a recovery window (30 days by
  # default) a secret of the same name can't be created, so switching back would fail. It only
  # holds a copy of a key pair the operator keeps (docs/deploy.md), put again after a switch.
  recovery_window_in_days = 0
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["firehose.${data.aws_partition.current.dns_suffix}"]
    }

    # Only Firehose streams of this account may use the role (confused deputy).
    condition {
      test     = "StringEquals"
      variable = "sts:ExternalId"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "firehose" {
  name                 = "${var.name}-firehose"
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  permissions_boundary = var.iam_permissions_boundary_arn
}

data "aws_iam_policy_document" "firehose" {
  statement {
    sid = "ReadStream"
    actions = [
      "kinesis:DescribeStream",
      "kinesis:DescribeStreamSummary",
      "kinesis:GetShardIterator",
      "kinesis:GetRecords",
      "kinesis:ListShards",
    ]
    resources = [var.stream_arn]
  }

  statement {
    sid = "WriteBucket"
    actions = [
      "s3:AbortMultipartUpload",
      "s3:GetBucketLocation",
      "s3:GetObject",
      "s3:ListBucket",
      "s3:ListBucketMultipartUploads",
      "s3:PutObject",
    ]
    resources = [var.bucket_arn, "${var.bucket_arn}/*"]
  }

  statement {
    sid       = "InvokeTransformer"
    actions   = ["lambda:InvokeFunction", "lambda:GetFunctionConfiguration"]
    resources = [module.transformer.function_arn, "${module.transformer.function_arn}:*"]
  }

  statement {
    sid       = "UseKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }

  statement {
    sid       = "WriteLogs"
    actions   = ["logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.firehose.arn}:*"]
  }

  # The Snowflake destination logs in with the key pair in the secret (decrypted with the key
  # of UseKey); nothing else of Secrets Manager.
  dynamic "statement" {
    for_each = aws_secretsmanager_secret.snowflake

    content {
      sid       = "ReadSnowflakeSecret"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [statement.value.arn]
    }
  }
}

resource "aws_iam_role_policy" "firehose" {
  name   = "${var.name}-firehose"
  role   = aws_iam_role.firehose.id
  policy = data.aws_iam_policy_document.firehose.json
}

locals {
  # The transformer as Firehose's processor, the same in every destination.
  processor_parameters = [
    { name = "LambdaArn", value = "${module.transformer.function_arn}:$LATEST" },
    { name = "BufferSizeInMBs", value = tostring(var.processor_buffer_size_mib) },
    { name = "BufferIntervalInSeconds", value = tostring(var.processor_buffer_interval_seconds) },
  ]
  compression_format = var.gzip ? "GZIP" : "UNCOMPRESSED"
}

resource "aws_kinesis_firehose_delivery_stream" "this" {
  #checkov:skip=CKV_AWS_240:Server-side encryption settings apply to Direct PUT only; the Kinesis source and the S3 destination are both encrypted with the CMK.
  #checkov:skip=CKV_AWS_241:Same as CKV_AWS_240: with a Kinesis source, encryption is configured on the stream (CMK) and on S3 (kms_key_arn below).
  name = var.name
  # Changing it replaces the Firehose stream (docs/deploy.md, "Switching the delivery mode").
  destination = var.destination

  kinesis_source_configuration {
    kinesis_stream_arn = var.stream_arn
    role_arn           = aws_iam_role.firehose.arn
  }

  # The S3 modes: objects under prefix, loaded by the pipe.
  dynamic "extended_s3_configuration" {
    for_each = var.destination == "extended_s3" ? [var.prefix] : []

    content {
      role_arn            = aws_iam_role.firehose.arn
      bucket_arn          = var.bucket_arn
      prefix              = extended_s3_configuration.value
      error_output_prefix = var.error_output_prefix
      buffering_size      = var.buffering_size_mib
      buffering_interval  = var.buffering_interval_seconds
      compression_format  = local.compression_format
      kms_key_arn         = var.kms_key_arn

      dynamic_partitioning_configuration {
        enabled = var.dynamic_partitioning
      }

      processing_configuration {
        enabled = true

        processors {
          type = "Lambda"

          dynamic "parameters" {
            for_each = local.processor_parameters

            content {
              parameter_name  = parameters.value.name
              parameter_value = parameters.value.value
            }
          }
        }
      }

      cloudwatch_logging_options {
        enabled         = true
        log_group_name  = aws_cloudwatch_log_group.firehose.name
        log_stream_name = aws_cloudwatch_log_stream.delivery.name
      }
    }
  }

  # snowpipe_streaming: rows straight into the table (Snowpipe Streaming), the transformer's
  # keys mapped to its columns (JSON_MAPPING), and every record also written to the data bucket
  # under backup_prefix, so the archive keeps every event (docs/latency.md); records Firehose
  # could not insert go to the processing-failed output, which scripts/replay reads.
  dynamic "snowflake_configuration" {
    for_each = var.destination == "snowflake" ? [var.snowflake] : []
    iterator = account

    content {
      account_url         = account.value.account_url
      database            = account.value.database
      schema              = account.value.schema
      table               = account.value.table
      role_arn            = aws_iam_role.firehose.arn
      data_loading_option = "JSON_MAPPING"
      buffering_interval  = var.buffering_interval_seconds
      buffering_size      = var.buffering_size_mib
      s3_backup_mode      = "AllData"

      # The user and its private key come from the secret, never from Terraform.
      secrets_manager_configuration {
        enabled    = true
        secret_arn = aws_secretsmanager_secret.snowflake[0].arn
        role_arn   = aws_iam_role.firehose.arn
      }

      snowflake_role_configuration {
        enabled        = true
        snowflake_role = account.value.role
      }

      processing_configuration {
        enabled = true

        processors {
          type = "Lambda"

          dynamic "parameters" {
            for_each = local.processor_parameters

            content {
              parameter_name  = parameters.value.name
              parameter_value = parameters.value.value
            }
          }
        }
      }

      cloudwatch_logging_options {
        enabled         = true
        log_group_name  = aws_cloudwatch_log_group.firehose.name
        log_stream_name = aws_cloudwatch_log_stream.delivery.name
      }

      # The backup (and the records Firehose could not process or deliver, under
      # error_output_prefix). Its buffering cannot be zero; it is off the query path.
      s3_configuration {
        role_arn            = aws_iam_role.firehose.arn
        bucket_arn          = var.bucket_arn
        prefix              = var.backup_prefix
        buffering_interval  = var.backup_buffering_interval_seconds
        buffering_size      = var.backup_buffering_size_mib
        error_output_prefix = var.error_output_prefix
        compression_format  = local.compression_format
        kms_key_arn         = var.kms_key_arn

        cloudwatch_logging_options {
          enabled         = true
          log_group_name  = aws_cloudwatch_log_group.firehose.name
          log_stream_name = aws_cloudwatch_log_stream.delivery.name
        }
      }
    }
  }

  depends_on = [aws_iam_role_policy.firehose]
}
