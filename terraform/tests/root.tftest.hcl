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

  assert {
    condition     = keys(output.client_api_keys) == ["default"] && output.api_key == output.client_api_keys["default"]
    error_message = "Without api_clients there is one client, `default`, whose key is output api_key (the probe's and Postman's)."
  }

  assert {
    condition     = output.waf_web_acl_arn == null
    error_message = "No WAF unless waf_enabled (false by default, as in dev)."
  }
}

run "overrides_apply" {
  command = plan

  variables {
    name_prefix        = "acme-dev"
    bucket_name_suffix = ""
  }

  assert {
    condition     = output.delivery_stream_name == "acme-dev-delivery"
    error_message = "name_prefix must replace {prefix} in every name."
  }

  assert {
    condition = (
      output.pipe_name == "ACME_DEV.RAW.EVENTS_PIPE"
      && output.warehouse_name == "ACME_DEV_WH"
      && output.reader_role_name == "ACME_DEV_READER"
      && module.snowflake.storage_integration_name == "ACME_DEV_S3"
    )
    error_message = "Every account-level Snowflake name derives from name_prefix ({PREFIX}), so two environments can share one Snowflake account."
  }

  assert {
    condition     = output.data_bucket_name == "acme-dev-data"
    error_message = "An empty bucket_name_suffix keeps the configured bucket name."
  }
}

run "existing_database" {
  command = plan
  # Its own state: against the state of the runs before, dropping the created database
  # would be planned, and prevent_destroy refuses that.
  state_key = "existing_database"

  variables {
    snowflake_create_database = false
    snowflake_database        = "ANALYTICS"
  }

  assert {
    condition     = output.pipe_name == "ANALYTICS.RAW.EVENTS_PIPE"
    error_message = "snowflake_database names an existing database to deploy into."
  }
}

run "rejects_unknown_architecture" {
  command = plan

  variables {
    lambda_architecture = "ppc64"
  }

  expect_failures = [var.lambda_architecture]
}

run "rejects_a_boundary_that_is_not_a_managed_policy" {
  command = plan

  variables {
    iam_permissions_boundary_arn = "arn:aws:iam::123456789012:role/rtstream-workload-boundary"
  }

  expect_failures = [var.iam_permissions_boundary_arn]
}

run "clients_on_tiers_and_on_limits_of_their_own" {
  command   = apply
  state_key = "clients"

  variables {
    api_usage_tiers = {
      partner = { rate_limit = 100, burst_limit = 200, quota_limit = 2000000, quota_period = "DAY" }
    }
    api_clients = {
      default   = { tier = "default" }
      shop      = { tier = "partner" }
      analytics = { rate_limit = 20, burst_limit = 40, quota_limit = 100000, quota_period = "DAY" }
    }
  }

  assert {
    condition     = toset(keys(output.client_api_keys)) == toset(["default", "shop", "analytics"]) && toset(keys(output.client_api_key_ids)) == toset(["default", "shop", "analytics"])
    error_message = "One API key per client of api_clients."
  }

  assert {
    condition     = toset(keys(module.api.usage_plan_ids)) == toset(["default", "partner", "client-analytics"])
    error_message = "One usage plan per tier (default from config/pipeline.json api_usage_plan, the others from api_usage_tiers) and one per client with limits of its own."
  }

  assert {
    condition     = output.api_key == output.client_api_keys["default"]
    error_message = "api_key stays the default client's."
  }
}

run "waf_in_front_of_the_stage" {
  command   = apply
  state_key = "waf"

  variables {
    waf_enabled = true
  }

  assert {
    condition     = output.waf_web_acl_arn != null && module.api.waf_log_group_name == "aws-waf-logs-rtstream-api"
    error_message = "waf_enabled puts a web ACL, named after names.api, in front of the stage, logging to aws-waf-logs-<api name>."
  }

  assert {
    condition     = can(regex(module.api.waf_content_length_pattern, "4456449")) && !can(regex(module.api.waf_content_length_pattern, "4456448"))
    error_message = "The WAF's Content-Length limit is limits.max_request_bytes of config/pipeline.json (4456448)."
  }
}

run "prod_reservations_fit_the_account" {
  command = plan

  variables {
    lambda_account_concurrency       = 1000
    validator_reserved_concurrency   = 200
    transformer_reserved_concurrency = 50
  }

  assert {
    condition     = var.validator_reserved_concurrency + var.transformer_reserved_concurrency + 100 <= var.lambda_account_concurrency
    error_message = "The reservations of env/prod.tfvars leave Lambda's 100 unreserved executions."
  }
}

run "rejects_reservations_that_leave_less_than_100_unreserved" {
  command = plan

  variables {
    lambda_account_concurrency       = 1000
    validator_reserved_concurrency   = 900
    transformer_reserved_concurrency = 50
  }

  expect_failures = [var.lambda_account_concurrency]
}

run "rejects_a_reservation_without_the_account_quota" {
  command = plan

  variables {
    validator_reserved_concurrency = 200
  }

  expect_failures = [var.lambda_account_concurrency]
}

run "rejects_a_reservation_of_zero" {
  command = plan

  variables {
    lambda_account_concurrency     = 1000
    validator_reserved_concurrency = 0
  }

  expect_failures = [var.validator_reserved_concurrency]
}

run "rejects_api_clients_without_default" {
  command = plan

  variables {
    api_clients = { shop = { tier = "default" } }
  }

  expect_failures = [var.api_clients]
}

run "rejects_a_client_with_a_tier_and_limits" {
  command = plan

  variables {
    api_clients = {
      default = { tier = "default" }
      shop    = { tier = "default", rate_limit = 10, burst_limit = 20, quota_limit = 1000, quota_period = "DAY" }
    }
  }

  expect_failures = [var.api_clients]
}

run "rejects_a_client_on_an_undefined_tier" {
  command = plan

  variables {
    api_clients = {
      default = { tier = "default" }
      shop    = { tier = "gold" }
    }
  }

  expect_failures = [var.api_clients]
}

run "rejects_a_client_name_that_is_not_an_identifier" {
  command = plan

  variables {
    api_clients = {
      default    = { tier = "default" }
      "Shop-API" = { tier = "default" }
    }
  }

  expect_failures = [var.api_clients]
}

run "rejects_a_tier_named_default" {
  command = plan

  variables {
    api_usage_tiers = {
      default = { rate_limit = 1, burst_limit = 1, quota_limit = 1, quota_period = "DAY" }
    }
  }

  expect_failures = [var.api_usage_tiers]
}
