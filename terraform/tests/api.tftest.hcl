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
  usage_plans = {
    default = { rate_limit = 500, burst_limit = 1000, quota_limit = 1000000, quota_period = "DAY" }
  }
  clients = {
    default = { usage_plan = "default", enabled = true }
  }
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
    condition     = one(aws_api_gateway_usage_plan.this["default"].throttle_settings).rate_limit == 500 && one(aws_api_gateway_usage_plan.this["default"].quota_settings).limit == 1000000
    error_message = "The usage plan takes its limits from the variables."
  }

  assert {
    condition     = aws_api_gateway_api_key.this["default"].name == "rtstream-api-default" && aws_api_gateway_usage_plan.this["default"].name == "rtstream-api-default"
    error_message = "The default client's key and plan keep the names of the single key and plan before per-client keys (the moved blocks keep their values)."
  }

  assert {
    condition     = length(aws_wafv2_web_acl.this) == 0 && length(aws_cloudwatch_log_group.waf) == 0
    error_message = "No WAF unless waf.enabled."
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

run "one_key_per_client_on_its_plan" {
  command = apply

  module {
    source = "./modules/api"
  }

  variables {
    usage_plans = {
      default        = { rate_limit = 500, burst_limit = 1000, quota_limit = 1000000, quota_period = "DAY" }
      partner        = { rate_limit = 100, burst_limit = 200, quota_limit = 50000, quota_period = "WEEK" }
      "client-batch" = { rate_limit = 20, burst_limit = 40, quota_limit = 1000, quota_period = "MONTH" }
    }
    clients = {
      default = { usage_plan = "default", enabled = true }
      shop    = { usage_plan = "partner", enabled = true }
      crm     = { usage_plan = "partner", enabled = false }
      batch   = { usage_plan = "client-batch", enabled = true }
    }
  }

  assert {
    condition     = length(aws_api_gateway_api_key.this) == 4 && length(aws_api_gateway_usage_plan.this) == 3 && length(aws_api_gateway_usage_plan_key.this) == 4
    error_message = "One API key and one plan association per client, one plan per usage_plans entry."
  }

  assert {
    condition = alltrue([
      for name, client in var.clients :
      aws_api_gateway_usage_plan_key.this[name].usage_plan_id == aws_api_gateway_usage_plan.this[client.usage_plan].id
      && aws_api_gateway_usage_plan_key.this[name].key_id == aws_api_gateway_api_key.this[name].id
    ])
    error_message = "Each client's key is attached to its own usage plan."
  }

  assert {
    condition     = one(aws_api_gateway_usage_plan.this["client-batch"].throttle_settings).rate_limit == 20 && one(aws_api_gateway_usage_plan.this["partner"].quota_settings).period == "WEEK"
    error_message = "Each plan takes its own limits."
  }

  assert {
    condition     = aws_api_gateway_api_key.this["shop"].name == "rtstream-api-shop" && !aws_api_gateway_api_key.this["crm"].enabled && aws_api_gateway_api_key.this["shop"].enabled
    error_message = "Keys are named after their client; a disabled client's key stays, disabled."
  }

  assert {
    condition     = toset(keys(output.client_api_keys)) == toset(keys(var.clients)) && output.api_key == output.client_api_keys["default"]
    error_message = "client_api_keys has every client's key; api_key is the default client's."
  }

  assert {
    condition     = output.client_api_key_ids["shop"] == aws_api_gateway_api_key.this["shop"].id
    error_message = "client_api_key_ids maps clients to key ids."
  }
}

run "rejects_a_plan_above_the_stage_throttle" {
  command = plan

  module {
    source = "./modules/api"
  }

  variables {
    usage_plans = {
      default = { rate_limit = 500, burst_limit = 1000, quota_limit = 1000000, quota_period = "DAY" }
      bulk    = { rate_limit = 800, burst_limit = 1000, quota_limit = 1000000, quota_period = "DAY" }
    }
  }

  expect_failures = [var.usage_plans]
}

run "rejects_clients_without_default" {
  command = plan

  module {
    source = "./modules/api"
  }

  variables {
    clients = {
      shop = { usage_plan = "default", enabled = true }
    }
  }

  expect_failures = [var.clients]
}

run "rejects_a_client_on_an_unknown_plan" {
  command = plan

  module {
    source = "./modules/api"
  }

  variables {
    clients = {
      default = { usage_plan = "default", enabled = true }
      shop    = { usage_plan = "gold", enabled = true }
    }
  }

  expect_failures = [var.clients]
}

run "waf_rate_and_content_length_rules" {
  command = apply

  module {
    source = "./modules/api"
  }

  variables {
    waf = {
      enabled             = true
      rate_limit          = 2000
      rate_window_seconds = 60
      max_request_bytes   = 4456448
    }
  }

  assert {
    condition     = aws_wafv2_web_acl.this[0].scope == "REGIONAL" && aws_wafv2_web_acl.this[0].name == "rtstream-api" && length(aws_wafv2_web_acl.this[0].rule) == 2
    error_message = "A regional web ACL named after the API, with the rate and Content-Length rules only (common rule set OFF by default)."
  }

  assert {
    condition     = aws_wafv2_web_acl_association.this[0].resource_arn == aws_api_gateway_stage.this.arn && aws_wafv2_web_acl_association.this[0].web_acl_arn == aws_wafv2_web_acl.this[0].arn
    error_message = "The web ACL is associated with the stage."
  }

  assert {
    condition = alltrue(concat(
      [for over in ["4456449", "4456450", "4460000", "5000000", "10485760", "99999999", "004456500"] : can(regex(output.waf_content_length_pattern, over))],
      [for within in ["4456448", "4456439", "4399999", "999999", "0", "1"] : !can(regex(output.waf_content_length_pattern, within))],
    ))
    error_message = "The Content-Length rule matches exactly the numbers above max_request_bytes."
  }

  assert {
    condition = alltrue([
      for body in aws_wafv2_web_acl.this[0].custom_response_body :
      jsondecode(body.content).request_id == "waf" && contains(["body.too_large", "rate.limited"], jsondecode(body.content).error.code)
    ])
    error_message = "The WAF answers in the event contract's error shape: body.too_large (413) and rate.limited (429)."
  }

  assert {
    condition     = aws_cloudwatch_log_group.waf[0].name == "aws-waf-logs-rtstream-api" && aws_cloudwatch_log_group.waf[0].kms_key_id == var.kms_key_arn
    error_message = "WAF logs go to an aws-waf-logs- group encrypted with the pipeline key."
  }

  assert {
    condition = alltrue([
      one(aws_wafv2_web_acl_logging_configuration.this[0].redacted_fields[0].single_header).name == "x-api-key",
      length(aws_wafv2_web_acl_logging_configuration.this[0].logging_filter) == 1,
      aws_wafv2_web_acl_logging_configuration.this[0].log_destination_configs == [aws_cloudwatch_log_group.waf[0].arn],
    ])
    error_message = "The API key header is redacted, and only blocked or counted requests are logged by default."
  }

  assert {
    condition     = output.waf_web_acl_arn == aws_wafv2_web_acl.this[0].arn
    error_message = "waf_web_acl_arn is the web ACL's."
  }
}

run "waf_common_rule_set_in_count_mode" {
  command = plan

  module {
    source = "./modules/api"
  }

  variables {
    waf = {
      enabled           = true
      max_request_bytes = 4456448
      common_rule_set   = "COUNT"
      log_all_requests  = true
    }
  }

  assert {
    condition     = length(aws_wafv2_web_acl.this[0].rule) == 3
    error_message = "COUNT adds the common rule set as a third rule."
  }

  assert {
    condition     = length(aws_wafv2_web_acl_logging_configuration.this[0].logging_filter) == 0
    error_message = "log_all_requests logs every request."
  }
}

run "rejects_a_waf_without_its_size_limit" {
  command = plan

  module {
    source = "./modules/api"
  }

  variables {
    waf = { enabled = true }
  }

  expect_failures = [var.waf]
}

run "rejects_a_window_waf_does_not_offer" {
  command = plan

  module {
    source = "./modules/api"
  }

  variables {
    waf = { enabled = true, max_request_bytes = 4456448, rate_window_seconds = 30 }
  }

  expect_failures = [var.waf]
}
