# modules/delivery with a mocked provider (runs in GitHub Actions only, see README).

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

variables {
  name                              = "rtstream-delivery"
  stream_arn                        = "arn:aws:kinesis:eu-west-1:123456789012:stream/rtstream-events"
  bucket_arn                        = "arn:aws:s3:::rtstream-data-test"
  prefix                            = "events/event_type=!{partitionKeyFromLambda:event_type}/dt=!{partitionKeyFromLambda:dt}/"
  error_output_prefix               = "processing-failed/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/"
  buffering_size_mib                = 64
  buffering_interval_seconds        = 60
  processor_buffer_size_mib         = 0.4
  processor_buffer_interval_seconds = 60
  kms_key_arn                       = "arn:aws:kms:eu-west-1:123456789012:key/test"
  log_retention_days                = 30
  transformer = {
    name                 = "rtstream-transformer"
    zip_path             = "tests/fixtures/bootstrap.zip"
    architecture         = "arm64"
    memory_size          = 256
    timeout              = 60
    reserved_concurrency = -1
    tracing_mode         = "PassThrough"
  }
}

run "dynamic_partitioning_from_the_transformer" {
  command = plan

  module {
    source = "./modules/delivery"
  }

  assert {
    condition     = aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].dynamic_partitioning_configuration[0].enabled
    error_message = "Dynamic partitioning must be on."
  }

  assert {
    condition     = aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].prefix == var.prefix
    error_message = "The S3 prefix is the configured template."
  }

  assert {
    condition     = aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].compression_format == "UNCOMPRESSED"
    error_message = "GZIP is off by default."
  }

  assert {
    condition = [
      for parameter in aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].processing_configuration[0].processors[0].parameters :
      parameter.parameter_value if parameter.parameter_name == "BufferSizeInMBs"
    ] == ["0.4"]
    error_message = "A fractional processor buffer size reaches Firehose as written (0.4, not 0 or 1)."
  }
}

run "gzip_on_request" {
  command = plan

  module {
    source = "./modules/delivery"
  }

  variables {
    gzip = true
  }

  assert {
    condition     = aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].compression_format == "GZIP"
    error_message = "gzip = true compresses the objects."
  }
}

run "rejects_buffers_below_the_dynamic_partitioning_minimum" {
  command = plan

  module {
    source = "./modules/delivery"
  }

  variables {
    buffering_size_mib = 5
  }

  expect_failures = [var.buffering_size_mib]
}

run "rejects_a_partition_per_client_value" {
  command = plan

  module {
    source = "./modules/delivery"
  }

  variables {
    prefix = "events/tenant=!{partitionKeyFromLambda:tenant}/dt=!{partitionKeyFromLambda:dt}/"
  }

  expect_failures = [var.prefix]
}

run "rejects_partitioning_by_a_query_over_the_record" {
  command = plan

  module {
    source = "./modules/delivery"
  }

  variables {
    prefix = "events/event_type=!{partitionKeyFromLambda:event_type}/day=!{partitionKeyFromQuery:day}/"
  }

  expect_failures = [var.prefix]
}

run "roles_within_the_permissions_boundary" {
  command = plan

  module {
    source = "./modules/delivery"
  }

  variables {
    iam_permissions_boundary_arn = "arn:aws:iam::123456789012:policy/github-actions/rtstream-workload-boundary"
  }

  assert {
    condition     = aws_iam_role.firehose.permissions_boundary == "arn:aws:iam::123456789012:policy/github-actions/rtstream-workload-boundary"
    error_message = "The Firehose role must carry the boundary the apply role requires (terraform/bootstrap)."
  }
}

# Delivery modes (docs/latency.md): snowpipe_fresh's zero buffering without partitions.
run "zero_buffering_without_dynamic_partitioning" {
  command = plan

  module {
    source = "./modules/delivery"
  }

  variables {
    dynamic_partitioning              = false
    prefix                            = "events/dt=!{timestamp:yyyy-MM-dd}/"
    buffering_interval_seconds        = 0
    processor_buffer_interval_seconds = 1
  }

  assert {
    condition = (
      aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].dynamic_partitioning_configuration[0].enabled == false
      && aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].buffering_interval == 0
      && length(aws_kinesis_firehose_delivery_stream.this.snowflake_configuration) == 0
      && length(aws_secretsmanager_secret.snowflake) == 0
    )
    error_message = "snowpipe_fresh: extended S3 without dynamic partitioning, zero buffering, no secret."
  }
}

# snowpipe_streaming: the Snowflake destination with every record backed up to S3.
run "snowflake_destination_streams_and_backs_up_every_record" {
  command = plan

  module {
    source = "./modules/delivery"
  }

  variables {
    destination                       = "snowflake"
    dynamic_partitioning              = false
    prefix                            = null
    backup_prefix                     = "backup/dt=!{timestamp:yyyy-MM-dd}/"
    backup_buffering_interval_seconds = 300
    backup_buffering_size_mib         = 64
    buffering_interval_seconds        = 0
    processor_buffer_interval_seconds = 1
    snowflake = {
      account_url = "https://testorg-test-account.snowflakecomputing.com"
      database    = "RTSTREAM"
      schema      = "RAW"
      table       = "EVENTS"
      role        = "RTSTREAM_STREAMING_WRITER"
      secret_name = "rtstream-snowflake-streaming"
    }
  }

  assert {
    condition     = aws_kinesis_firehose_delivery_stream.this.destination == "snowflake" && length(aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration) == 0
    error_message = "The Snowflake destination only."
  }

  assert {
    condition = (
      aws_kinesis_firehose_delivery_stream.this.snowflake_configuration[0].data_loading_option == "JSON_MAPPING"
      && aws_kinesis_firehose_delivery_stream.this.snowflake_configuration[0].buffering_interval == 0
      && aws_kinesis_firehose_delivery_stream.this.snowflake_configuration[0].snowflake_role_configuration[0].snowflake_role == "RTSTREAM_STREAMING_WRITER"
      && aws_kinesis_firehose_delivery_stream.this.snowflake_configuration[0].table == "EVENTS"
    )
    error_message = "JSON_MAPPING into EVENTS, zero buffering, as the streaming role."
  }

  assert {
    condition = (
      aws_kinesis_firehose_delivery_stream.this.snowflake_configuration[0].s3_backup_mode == "AllData"
      && aws_kinesis_firehose_delivery_stream.this.snowflake_configuration[0].s3_configuration[0].prefix == var.backup_prefix
      && aws_kinesis_firehose_delivery_stream.this.snowflake_configuration[0].s3_configuration[0].kms_key_arn == var.kms_key_arn
      && aws_kinesis_firehose_delivery_stream.this.snowflake_configuration[0].s3_configuration[0].buffering_interval == 300
      && aws_kinesis_firehose_delivery_stream.this.snowflake_configuration[0].s3_configuration[0].buffering_size == 64
    )
    error_message = "Every record is backed up, KMS-encrypted, under the backup prefix."
  }

  assert {
    condition = (
      length(aws_secretsmanager_secret.snowflake) == 1 && aws_secretsmanager_secret.snowflake[0].kms_key_id == var.kms_key_arn
      && aws_secretsmanager_secret.snowflake[0].recovery_window_in_days == 0
    )
    error_message = "The key-pair secret exists, encrypted with the pipeline key, and goes at once when the mode changes (a switch back can create it again)."
  }
}

run "rejects_zero_buffering_with_dynamic_partitioning" {
  command = plan

  module {
    source = "./modules/delivery"
  }

  variables {
    buffering_interval_seconds = 0
  }

  expect_failures = [var.buffering_interval_seconds]
}

run "rejects_partition_keys_without_dynamic_partitioning" {
  command = plan

  module {
    source = "./modules/delivery"
  }

  variables {
    dynamic_partitioning = false
  }

  expect_failures = [var.prefix]
}

run "rejects_the_snowflake_destination_without_its_settings" {
  command = plan

  module {
    source = "./modules/delivery"
  }

  variables {
    destination          = "snowflake"
    dynamic_partitioning = false
    prefix               = null
  }

  expect_failures = [var.backup_prefix, var.snowflake]
}
