# The Snowflake module alone, with mocked providers (runs in GitHub Actions only).

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

mock_provider "snowflake" {
  source = "./tests/mocks/snowflake"
}

variables {
  names = {
    database            = "RTSTREAM"
    schema              = "RAW"
    table               = "EVENTS"
    dedup_view          = "EVENTS_DEDUP"
    file_format         = "EVENTS_NDJSON"
    stage               = "EVENTS_STAGE"
    pipe                = "EVENTS_PIPE"
    storage_integration = "RTSTREAM_S3"
    error_integration   = "RTSTREAM_PIPE_ERRORS"
  }
  sql_dir           = "../snowflake"
  data_bucket_name  = "rtstream-data-test"
  data_bucket_arn   = "arn:aws:s3:::rtstream-data-test"
  events_prefix     = "events/"
  kms_key_arn       = "arn:aws:kms:eu-west-1:123456789012:key/test"
  storage_role_name = "rtstream-snowflake-storage"
  error_topic_name  = "rtstream-snowpipe-errors"
  error_role_name   = "rtstream-snowflake-sns"
}

run "pipe_and_notification" {
  command = apply

  module {
    source = "./modules/snowflake"
  }

  assert {
    condition     = length(aws_s3_bucket_notification.snowpipe.queue) == 1
    error_message = "Exactly one notification: the pipe's queue."
  }

  assert {
    condition     = one(aws_s3_bucket_notification.snowpipe.queue).queue_arn == snowflake_pipe.events.notification_channel
    error_message = "The bucket notification must target the pipe's notification_channel."
  }

  assert {
    condition     = one(aws_s3_bucket_notification.snowpipe.queue).filter_prefix == "events/"
    error_message = "Only objects under events/ may reach the pipe (not processing-failed/)."
  }

  assert {
    condition     = one(aws_s3_bucket_notification.snowpipe.queue).events == toset(["s3:ObjectCreated:*"])
    error_message = "The pipe must hear about every object creation."
  }

  assert {
    condition     = snowflake_pipe.events.auto_ingest
    error_message = "The pipe must be AUTO_INGEST."
  }

  assert {
    condition     = snowflake_pipe.events.copy_statement == trimspace(templatefile("../snowflake/pipe_copy.sql", local.sql_vars))
    error_message = "The pipe must run snowflake/pipe_copy.sql."
  }

  assert {
    condition     = strcontains(snowflake_pipe.events.copy_statement, "COPY INTO RTSTREAM.RAW.EVENTS") && length(regexall("[$][{]", snowflake_pipe.events.copy_statement)) == 0
    error_message = "Every placeholder of pipe_copy.sql must be filled."
  }

  assert {
    condition     = snowflake_stage.events.url == "s3://rtstream-data-test/events/"
    error_message = "The stage must point at the events prefix."
  }

  assert {
    condition     = snowflake_storage_integration.this.storage_aws_role_arn == "arn:aws:iam::123456789012:role/rtstream-snowflake-storage"
    error_message = "The integration's role ARN is built as a string from account and role name."
  }

  assert {
    condition     = aws_iam_role.snowflake["storage"].name == "rtstream-snowflake-storage"
    error_message = "The role the integration names must be the one created."
  }

  assert {
    condition = contains(
      flatten([for p in data.aws_iam_policy_document.trust["storage"].statement[0].principals : tolist(p.identifiers)]),
      "arn:aws:iam::999999999999:user/abc-s-snowflake",
    )
    error_message = "The role must trust the integration's IAM user."
  }

  assert {
    condition     = length(aws_sns_topic.errors) == 0 && snowflake_pipe.events.error_integration == null
    error_message = "The error integration is off by default."
  }
}

run "error_integration" {
  command = apply

  module {
    source = "./modules/snowflake"
  }

  variables {
    enable_error_integration = true
  }

  assert {
    condition     = snowflake_pipe.events.error_integration == "RTSTREAM_PIPE_ERRORS"
    error_message = "With the error integration on, the pipe reports to it."
  }

  assert {
    condition     = snowflake_notification_integration.errors[0].aws_sns_role_arn == "arn:aws:iam::123456789012:role/rtstream-snowflake-sns"
    error_message = "The notification integration's role ARN is built as a string too."
  }
}
