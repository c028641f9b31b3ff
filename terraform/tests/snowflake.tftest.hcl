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
    warehouse           = "RTSTREAM_WH"
    reader_role         = "RTSTREAM_READER"
    probe_user          = "RTSTREAM_PROBE"
    streaming_user      = "RTSTREAM_FIREHOSE"
    streaming_role      = "RTSTREAM_STREAMING_WRITER"
  }
  sql_dir           = "../snowflake"
  data_bucket_name  = "rtstream-data-test"
  data_bucket_arn   = "arn:aws:s3:::rtstream-data-test"
  events_prefix     = "events/"
  kms_key_arn       = "arn:aws:kms:eu-west-1:123456789012:key/test"
  storage_role_name = "rtstream-snowflake-storage"
  error_topic_name  = "rtstream-snowpipe-errors"
  error_role_name   = "rtstream-snowflake-sns"
  # What the root passes without overrides: the module has no defaults of its own.
  dedup = jsondecode(file("../config/pipeline.json")).dedup
}

run "pipe_and_notification" {
  command = apply

  module {
    source = "./modules/snowflake"
  }

  assert {
    condition     = length(aws_s3_bucket_notification.snowpipe[0].queue) == 1
    error_message = "Exactly one notification: the pipe's queue."
  }

  assert {
    condition     = one(aws_s3_bucket_notification.snowpipe[0].queue).queue_arn == snowflake_pipe.events[0].notification_channel
    error_message = "The bucket notification must target the pipe's notification_channel."
  }

  assert {
    condition     = one(aws_s3_bucket_notification.snowpipe[0].queue).filter_prefix == "events/"
    error_message = "Only objects under events/ may reach the pipe (not processing-failed/)."
  }

  assert {
    condition     = one(aws_s3_bucket_notification.snowpipe[0].queue).events == toset(["s3:ObjectCreated:*"])
    error_message = "The pipe must hear about every object creation."
  }

  assert {
    condition     = snowflake_pipe.events[0].auto_ingest
    error_message = "The pipe must be AUTO_INGEST."
  }

  assert {
    condition     = snowflake_pipe.events[0].copy_statement == trimspace(templatefile("../snowflake/pipe_copy.sql", local.sql_vars))
    error_message = "The pipe must run snowflake/pipe_copy.sql."
  }

  assert {
    condition     = strcontains(snowflake_pipe.events[0].copy_statement, "COPY INTO RTSTREAM.RAW.EVENTS") && length(regexall("[$][{]", snowflake_pipe.events[0].copy_statement)) == 0
    error_message = "Every placeholder of pipe_copy.sql must be filled."
  }

  assert {
    condition     = snowflake_stage_external_s3.events[0].url == "s3://rtstream-data-test/events/"
    error_message = "The stage must point at the events prefix."
  }

  assert {
    condition     = snowflake_storage_integration_aws.this[0].storage_aws_role_arn == "arn:aws:iam::123456789012:role/rtstream-snowflake-storage"
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
    condition = alltrue([
      for statement in data.aws_iam_policy_document.trust["storage"].statement : length(statement.condition) > 0 && alltrue([
        for condition in statement.condition : condition.variable == "sts:ExternalId" && length(condition.values) > 0 && alltrue([for v in condition.values : v != null && v != ""])
      ])
    ])
    error_message = "The storage role's trust policy must require the integration's external ID: an empty one means Snowpipe can never read the bucket."
  }

  assert {
    condition     = one(one(data.aws_iam_policy_document.trust["storage"].statement).condition).values == toset(["ORG_SFCRole=1_TEST"])
    error_message = "The external ID must be the one Snowflake generated (describe_output), not the optional storage_aws_external_id input."
  }

  assert {
    condition     = length(snowflake_service_user.probe) == 0
    error_message = "No probe user without a public key."
  }

  assert {
    condition = (
      snowflake_grant_privileges_to_account_role.reader_select["view"].on_schema_object[0].object_name == "RTSTREAM.RAW.EVENTS_DEDUP"
      && snowflake_grant_privileges_to_account_role.reader_select["view"].privileges == toset(["SELECT"])
      && snowflake_grant_privileges_to_account_role.reader_usage["warehouse"].on_account_object[0].object_name == "RTSTREAM_WH"
    )
    error_message = "The reader role may SELECT the dedup view and USE the reader warehouse."
  }
}

run "gov_cloud" {
  command = plan

  module {
    source = "./modules/snowflake"
  }

  override_data {
    target = data.aws_partition.current
    values = { partition = "aws-us-gov", dns_suffix = "amazonaws.com" }
  }

  assert {
    condition = (
      snowflake_storage_integration_aws.this[0].storage_provider == "S3GOV"
      && one(snowflake_storage_integration_aws.this[0].storage_allowed_locations) == "s3gov://rtstream-data-test/events/"
      && snowflake_stage_external_s3.events[0].url == "s3gov://rtstream-data-test/events/"
    )
    error_message = "In GovCloud the integration's provider is S3GOV and its URLs use s3gov://."
  }

  assert {
    condition     = length(aws_sns_topic.errors) == 1 && snowflake_pipe.events[0].error_integration == "RTSTREAM_PIPE_ERRORS"
    error_message = "The error integration is on by default: Snowpipe's load errors reach the snowpipe-notifications alarm."
  }
}

run "error_integration" {
  command = apply

  module {
    source = "./modules/snowflake"
  }

  variables {
    enable_error_integration = true
    probe_rsa_public_key     = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtest"
  }

  assert {
    condition     = snowflake_service_user.probe[0].default_role == "RTSTREAM_READER" && snowflake_grant_account_role.probe_reader[0].user_name == "RTSTREAM_PROBE"
    error_message = "The probe user gets the reader role, nothing more."
  }

  assert {
    condition     = snowflake_pipe.events[0].error_integration == "RTSTREAM_PIPE_ERRORS"
    error_message = "With the error integration on, the pipe reports to it."
  }

  assert {
    condition     = snowflake_notification_integration.errors[0].aws_sns_role_arn == "arn:aws:iam::123456789012:role/rtstream-snowflake-sns"
    error_message = "The notification integration's role ARN is built as a string too."
  }
}

run "roles_within_the_permissions_boundary" {
  command = plan

  module {
    source = "./modules/snowflake"
  }

  variables {
    enable_error_integration     = true
    iam_permissions_boundary_arn = "arn:aws:iam::123456789012:policy/github-actions/rtstream-workload-boundary"
  }

  assert {
    condition     = length(aws_iam_role.snowflake) == 2 && alltrue([for role in aws_iam_role.snowflake : role.permissions_boundary == "arn:aws:iam::123456789012:policy/github-actions/rtstream-workload-boundary"])
    error_message = "Both roles Snowflake assumes must carry the boundary the apply role requires (terraform/bootstrap)."
  }
}

# delivery_mode snowpipe_streaming: Firehose inserts with the streaming role; nothing of the pipe.
run "streaming_mode_has_a_writer_and_no_pipe" {
  command = apply

  module {
    source = "./modules/snowflake"
  }

  variables {
    snowpipe_enabled         = false
    streaming_rsa_public_key = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtest"
  }

  assert {
    condition = (
      length(snowflake_pipe.events) == 0 && length(aws_s3_bucket_notification.snowpipe) == 0
      && length(snowflake_stage_external_s3.events) == 0 && length(snowflake_storage_integration_aws.this) == 0
      && !contains(keys(aws_iam_role.snowflake), "storage")
    )
    error_message = "No pipe, notification, stage or storage integration (nor its role) in snowpipe_streaming."
  }

  assert {
    condition     = length(snowflake_view.freshness) == 0 && length(snowflake_task.freshness_check) == 0 && !contains(keys(snowflake_view.monitoring), "pipe_status")
    error_message = "The pipe's status and freshness views and the freshness check exist with the pipe only."
  }

  assert {
    condition     = length(snowflake_task.dedup_slipped_check) == 1 && snowflake_task.dedup_slipped_check[0].schedule[0].using_cron == "0 6 * * * UTC"
    error_message = "The daily duplicate check watches EVENTS_DEDUP in every mode."
  }

  assert {
    condition = (
      snowflake_grant_privileges_to_account_role.streaming_insert[0].privileges == toset(["INSERT"])
      && snowflake_grant_privileges_to_account_role.streaming_insert[0].on_schema_object[0].object_name == "RTSTREAM.RAW.EVENTS"
      && snowflake_grant_privileges_to_account_role.streaming_schema[0].privileges == toset(["USAGE"])
      && snowflake_grant_privileges_to_account_role.streaming_database[0].privileges == toset(["USAGE"])
    )
    error_message = "The streaming role may use the database and schema and INSERT into EVENTS, nothing else."
  }

  assert {
    condition     = snowflake_service_user.streaming[0].default_role == "RTSTREAM_STREAMING_WRITER" && output.streaming == { user = "RTSTREAM_FIREHOSE", role = "RTSTREAM_STREAMING_WRITER" }
    error_message = "Firehose logs in as the streaming user, whose default role is the streaming role."
  }

  assert {
    condition     = output.pipe_name == null && output.notification_channel == null && output.table_name == "RTSTREAM.RAW.EVENTS"
    error_message = "No pipe outputs in snowpipe_streaming; the table is the same."
  }
}

run "rejects_no_loader_at_all" {
  command = plan

  module {
    source = "./modules/snowflake"
  }

  variables {
    snowpipe_enabled = false
  }

  expect_failures = [var.streaming_rsa_public_key]
}
