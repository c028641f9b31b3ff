# Plan-level checks of the root module with mocked providers. They need the provider
# schemas, hence `terraform init`: they run in GitHub Actions (ci.yml), not offline.

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

mock_provider "snowflake" {
  source = "./tests/mocks/snowflake"
}

variables {
  aws_region                  = "eu-west-1"
  snowflake_organization_name = "TESTORG"
  snowflake_account_name      = "TESTACCOUNT"
  snowflake_user              = "RTSTREAM_TERRAFORM"
  snowflake_private_key       = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n"
  validator_zip_path          = "tests/fixtures/bootstrap.zip"
  transformer_zip_path        = "tests/fixtures/bootstrap.zip"
}

run "names_come_from_config" {
  command = apply

  override_resource {
    target = module.api.aws_api_gateway_stage.this
    values = { invoke_url = "https://abc123.execute-api.eu-west-1.amazonaws.com/v1" }
  }

  override_resource {
    target = module.api.aws_api_gateway_resource.events
    values = { path = "/events" }
  }

  assert {
    condition     = output.api_url == "https://abc123.execute-api.eu-west-1.amazonaws.com/v1/events"
    error_message = "api_url must be the full URL of POST /events on stage v1."
  }

  assert {
    condition     = output.data_bucket_name == "rtstream-data-123456789012-eu-west-1"
    error_message = "The data bucket is names.data_bucket of config/pipeline.json plus -<account>-<region>."
  }

  assert {
    condition     = output.error_bucket_name == "rtstream-errors-123456789012-eu-west-1"
    error_message = "The error bucket is names.error_bucket of config/pipeline.json plus -<account>-<region>."
  }

  assert {
    condition     = output.delivery_stream_name == "rtstream-delivery"
    error_message = "The Firehose stream is names.delivery_stream of config/pipeline.json."
  }

  assert {
    condition     = output.pipe_name == "RTSTREAM.RAW.EVENTS_PIPE"
    error_message = "The pipe is snowflake.database/schema/pipe of config/pipeline.json."
  }

  assert {
    condition     = output.notification_channel == "arn:aws:sqs:eu-west-1:999999999999:sf-snowpipe-TEST"
    error_message = "notification_channel must be the pipe's."
  }
}

run "overrides_apply" {
  command = plan

  variables {
    name_prefix        = "acme-dev"
    bucket_name_suffix = ""
    snowflake_database = "ACME"
  }

  assert {
    condition     = output.delivery_stream_name == "acme-dev-delivery"
    error_message = "name_prefix must replace {prefix} in every name."
  }

  assert {
    condition     = output.data_bucket_name == "acme-dev-data"
    error_message = "An empty bucket_name_suffix keeps the configured bucket name."
  }
}

run "rejects_unknown_architecture" {
  command = plan

  variables {
    lambda_architecture = "ppc64"
  }

  expect_failures = [var.lambda_architecture]
}
