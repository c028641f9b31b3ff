# modules/api with a mocked provider (runs in GitHub Actions only, see README).

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

variables {
  name       = "rtstream-api"
  stage_name = "v1"
  path_part  = "events"
  validator = {
    name                 = "rtstream-validator"
    zip_path             = "tests/fixtures/bootstrap.zip"
    architecture         = "arm64"
    memory_size          = 256
    timeout              = 20
    reserved_concurrency = -1
    tracing_mode         = "PassThrough"
  }
  validator_environment = { RTSTREAM_STREAM_NAME = "rtstream-events" }
  stream_arn            = "arn:aws:kinesis:eu-west-1:123456789012:stream/rtstream-events"
  error_bucket_arn      = "arn:aws:s3:::rtstream-errors-test"
  error_prefix          = "errors/"
  kms_key_arn           = "arn:aws:kms:eu-west-1:123456789012:key/test"
  log_retention_days    = 30
  throttle_rate_limit   = 500
  throttle_burst_limit  = 1000
  quota_limit           = 1000000
  quota_period          = "DAY"
}

run "keyed_lambda_proxy_post" {
  command = plan

  module {
    source = "./modules/api"
  }

  assert {
    condition     = aws_api_gateway_method.post.http_method == "POST" && aws_api_gateway_method.post.api_key_required
    error_message = "POST /events requires the API key."
  }

  assert {
    condition     = aws_api_gateway_integration.post.type == "AWS_PROXY"
    error_message = "The validator is a Lambda proxy integration."
  }

  assert {
    condition     = one(aws_api_gateway_usage_plan.this.throttle_settings).rate_limit == 500 && one(aws_api_gateway_usage_plan.this.quota_settings).limit == 1000000
    error_message = "The usage plan takes its limits from the variables."
  }

  assert {
    condition     = one(aws_api_gateway_method_settings.all.settings).throttling_burst_limit == 1000
    error_message = "The stage is throttled."
  }
}

run "rejects_a_timeout_beyond_api_gateway" {
  command = plan

  module {
    source = "./modules/api"
  }

  variables {
    validator = {
      name                 = "rtstream-validator"
      zip_path             = "tests/fixtures/bootstrap.zip"
      architecture         = "arm64"
      memory_size          = 256
      timeout              = 60
      reserved_concurrency = -1
      tracing_mode         = "PassThrough"
    }
  }

  expect_failures = [var.validator]
}
