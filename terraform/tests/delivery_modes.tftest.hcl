# The three delivery modes of the root module with mocked providers (docs/latency.md, "Decisions
# for the delivery modes"). They need the provider schemas, hence `terraform init`: they run in
# GitHub Actions (ci.yml), not offline; tests/terraform/test_delivery_modes.py checks the same
# statically.

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

mock_provider "snowflake" {
  source = "./tests/mocks/snowflake"
}

variables {
  aws_region                  = "eu-west-1"
  snowflake_organization_name = "TESTORG"
  snowflake_account_name      = "TEST_ACCOUNT"
  snowflake_user              = "RTSTREAM_TERRAFORM"
  validator_zip_path          = "tests/fixtures/bootstrap.zip"
  transformer_zip_path        = "tests/fixtures/bootstrap.zip"
}

run "snowpipe_is_the_default" {
  command = apply

  assert {
    condition     = output.delivery_mode == "snowpipe"
    error_message = "delivery_mode defaults to snowpipe, the design as specified."
  }

  assert {
    condition     = output.pipe_name == "RTSTREAM.RAW.EVENTS_PIPE" && output.notification_channel != null
    error_message = "The S3 modes load with the pipe, fed by the bucket notification."
  }

  assert {
    condition     = output.snowflake_streaming_secret_arn == null && output.snowflake_streaming_user == null
    error_message = "No secret and no streaming user outside snowpipe_streaming."
  }

  assert {
    condition     = output.alarms["s3-delivery-freshness"].metric_name == "DeliveryToS3.DataFreshness" && !contains(keys(output.alarms), "snowflake-delivery-freshness")
    error_message = "The S3 modes alarm on Firehose's DeliveryToS3 metrics."
  }

  assert {
    condition     = output.alarms["s3-delivery-errors"].metric_name == "DeliveryToS3.Success"
    error_message = "The S3 modes' delivery errors are the share of successful S3 puts."
  }

  assert {
    condition     = output.table_name == "RTSTREAM.RAW.EVENTS" && output.dedup_view_name == "RTSTREAM.RAW.EVENTS_DEDUP"
    error_message = "The table contract is the same in every mode."
  }
}

run "snowpipe_fresh_keeps_the_pipe" {
  command = apply

  variables {
    delivery_mode = "snowpipe_fresh"
  }

  assert {
    condition     = output.pipe_name == "RTSTREAM.RAW.EVENTS_PIPE" && output.notification_channel != null
    error_message = "snowpipe_fresh loads with the same pipe."
  }

  assert {
    condition     = output.snowflake_streaming_secret_arn == null && output.snowflake_streaming_user == null
    error_message = "No secret and no streaming user outside snowpipe_streaming."
  }

  assert {
    condition     = output.alarms["s3-delivery-freshness"].metric_name == "DeliveryToS3.DataFreshness"
    error_message = "snowpipe_fresh still delivers to S3."
  }

  assert {
    condition     = output.table_name == "RTSTREAM.RAW.EVENTS" && output.dedup_view_name == "RTSTREAM.RAW.EVENTS_DEDUP"
    error_message = "The table contract is the same in every mode."
  }
}

run "snowpipe_streaming_has_no_pipe" {
  command = apply

  variables {
    delivery_mode                      = "snowpipe_streaming"
    snowflake_streaming_rsa_public_key = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtest"
  }

  override_resource {
    target = module.delivery.aws_secretsmanager_secret.snowflake
    values = { arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rtstream-snowflake-streaming-AbCdEf" }
  }

  assert {
    condition     = output.pipe_name == null && output.notification_channel == null
    error_message = "No pipe, queue or notification in snowpipe_streaming: a pipe would load the backup a second time."
  }

  assert {
    condition     = output.snowflake_streaming_secret_arn == "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rtstream-snowflake-streaming-AbCdEf"
    error_message = "snowpipe_streaming creates the key-pair secret."
  }

  assert {
    condition     = output.snowflake_streaming_user == { user = "RTSTREAM_FIREHOSE", role = "RTSTREAM_STREAMING_WRITER" }
    error_message = "The streaming user and role are snowflake.streaming_user and streaming_role of config/pipeline.json."
  }

  assert {
    condition     = output.alarms["snowflake-delivery-freshness"].metric_name == "DeliveryToSnowflake.DataFreshness" && !contains(keys(output.alarms), "s3-delivery-freshness")
    error_message = "snowpipe_streaming alarms on Firehose's DeliveryToSnowflake metrics, not the S3 ones."
  }

  assert {
    condition     = output.alarms["snowflake-delivery-errors"].metric_name == "DeliveryToS3.Records"
    error_message = "snowpipe_streaming's delivery errors are records Firehose wrote to S3 because it could not insert them."
  }

  assert {
    condition     = output.table_name == "RTSTREAM.RAW.EVENTS" && output.dedup_view_name == "RTSTREAM.RAW.EVENTS_DEDUP"
    error_message = "The table contract is the same in every mode."
  }
}

run "rejects_an_unknown_mode" {
  command = plan

  variables {
    delivery_mode = "kafka"
  }

  expect_failures = [var.delivery_mode]
}

run "rejects_streaming_without_the_public_key" {
  command = plan

  variables {
    delivery_mode = "snowpipe_streaming"
  }

  expect_failures = [var.snowflake_streaming_rsa_public_key]
}
