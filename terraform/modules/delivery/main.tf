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
}

resource "aws_iam_role_policy" "firehose" {
  name   = "${var.name}-firehose"
  role   = aws_iam_role.firehose.id
  policy = data.aws_iam_policy_document.firehose.json
}

resource "aws_kinesis_firehose_delivery_stream" "this" {
  #checkov:skip=CKV_AWS_240:Server-side encryption settings apply to Direct PUT only; the Kinesis source and the S3 destination are both encrypted with the CMK.
  #checkov:skip=CKV_AWS_241:Same as CKV_AWS_240: with a Kinesis source, encryption is configured on the stream (CMK) and on S3 (kms_key_arn below).
  name        = var.name
  destination = "extended_s3"

  kinesis_source_configuration {
    kinesis_stream_arn = var.stream_arn
    role_arn           = aws_iam_role.firehose.arn
  }

  extended_s3_configuration {
    role_arn            = aws_iam_role.firehose.arn
    bucket_arn          = var.bucket_arn
    prefix              = var.prefix
    error_output_prefix = var.error_output_prefix
    buffering_size      = var.buffering_size_mib
    buffering_interval  = var.buffering_interval_seconds
    compression_format  = var.gzip ? "GZIP" : "UNCOMPRESSED"
    kms_key_arn         = var.kms_key_arn

    dynamic_partitioning_configuration {
      enabled = true
    }

    processing_configuration {
      enabled = true

      processors {
        type = "Lambda"

        parameters {
          parameter_name  = "LambdaArn"
          parameter_value = "${module.transformer.function_arn}:$LATEST"
        }

        parameters {
          parameter_name  = "BufferSizeInMBs"
          parameter_value = tostring(var.processor_buffer_size_mib)
        }

        parameters {
          parameter_name  = "BufferIntervalInSeconds"
          parameter_value = tostring(var.processor_buffer_interval_seconds)
        }
      }
    }

    cloudwatch_logging_options {
      enabled         = true
      log_group_name  = aws_cloudwatch_log_group.firehose.name
      log_stream_name = aws_cloudwatch_log_stream.delivery.name
    }
  }

  depends_on = [aws_iam_role_policy.firehose]
}
