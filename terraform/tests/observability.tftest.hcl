# Alarms, dashboard and the Snowflake side of monitoring, with mocked providers (runs in
# GitHub Actions only, like the other tftest files).

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

mock_provider "snowflake" {
  source = "./tests/mocks/snowflake"
}

variables {
  # The root module's.
  aws_region                  = "eu-west-1"
  snowflake_organization_name = "TESTORG"
  snowflake_account_name      = "TESTACCOUNT"
  snowflake_user              = "RTSTREAM_TERRAFORM"
  validator_zip_path          = "tests/fixtures/bootstrap.zip"
  transformer_zip_path        = "tests/fixtures/bootstrap.zip"
}

run "every_stage_alarms_on_the_topic" {
  command = apply

  override_data {
    target = module.observability.data.aws_region.current
    values = { region = "eu-west-1" }
  }

  # Its own ARN, not the one the mocks give every topic: the assertions tell the two apart.
  override_resource {
    target = module.observability.aws_sns_topic.alarms
    values = { arn = "arn:aws:sns:eu-west-1:123456789012:rtstream-alarms" }
  }

  assert {
    condition = alltrue([
      for stage in ["api", "validator", "kinesis", "firehose", "s3", "snowpipe"] :
      length([for alarm in values(output.alarms) : alarm if alarm.stage == stage && contains(alarm.alarm_actions, output.alarm_topic_arn)]) > 0
    ])
    error_message = "Every stage of the pipeline (api, validator, kinesis, firehose, s3, snowpipe) needs at least one alarm notifying the alarm topic."
  }

  assert {
    condition     = alltrue([for alarm in values(output.alarms) : toset(alarm.alarm_actions) == toset([output.alarm_topic_arn]) && startswith(alarm.name, "rtstream-")])
    error_message = "Every alarm notifies the alarm topic, and only it; its name starts with the name prefix."
  }

  assert {
    condition = (
      output.alarms["validator-events-failed"].namespace == "rtstream"
      && output.alarms["validator-events-failed"].metric_name == jsondecode(file("../config/pipeline.json")).metrics.validator.events_failed
      && output.alarms["transformer-processing-failed"].metric_name == jsondecode(file("../config/pipeline.json")).metrics.transformer.records_processing_failed
    )
    error_message = "The EMF alarms read the namespace ({prefix} expanded) and the metric names of config/pipeline.json."
  }

  assert {
    condition     = output.alarms["snowpipe-notifications"].namespace == "AWS/SNS" && output.snowflake_error_topic_arn != null
    error_message = "Snowpipe's alarm watches the topic Snowflake publishes to, which is on by default."
  }

  assert {
    condition     = output.monitoring_views.freshness == "RTSTREAM.RAW.EVENTS_FRESHNESS" && output.monitoring_views.pipe_status == "RTSTREAM.RAW.EVENTS_PIPE_STATUS"
    error_message = "The monitoring views are named after the table and the pipe of config/pipeline.json."
  }

  assert {
    condition     = output.dashboard_name == "rtstream-pipeline"
    error_message = "One dashboard, <prefix>-pipeline."
  }
}

run "snowpipe_without_the_error_integration_has_no_alarm" {
  command = plan

  variables {
    snowflake_enable_error_integration = false
  }

  assert {
    condition     = output.snowflake_error_topic_arn == null
    error_message = "Without the error integration there is no Snowflake topic."
  }
}

# The module alone: subscriptions, thresholds, validation.
run "module_subscriptions_and_thresholds" {
  command = apply

  module {
    source = "./modules/observability"
  }

  variables {
    name            = "rtstream"
    kms_key_arn     = "arn:aws:kms:eu-west-1:123456789012:key/test"
    email_addresses = ["oncall@example.com", "data@example.com"]
    https_endpoints = ["https://hooks.example.com/sns"]
    thresholds      = { api_p99_latency_ms = 5000, lambda_duration_percent_of_timeout = 50, kinesis_write_throttle_periods = 2 }
    delivery        = { dynamic_partitioning = true }
    api             = { name = "rtstream-api", stage = "v1" }
    validator       = { name = "rtstream-validator", timeout_seconds = 20 }
    transformer     = { name = "rtstream-transformer", timeout_seconds = 60 }
    stream_name     = "rtstream-events"

    delivery_stream_name = "rtstream-delivery"
    data_bucket_name     = "rtstream-data-test"
    metrics = {
      namespace   = "rtstream"
      validator   = jsondecode(file("../config/pipeline.json")).metrics.validator
      transformer = jsondecode(file("../config/pipeline.json")).metrics.transformer
    }
    snowflake = {
      notification_topic = { name = "rtstream-snowpipe-errors", arn = "arn:aws:sns:eu-west-1:123456789012:rtstream-snowpipe-errors" }
      monitoring_views   = { freshness = "RTSTREAM.RAW.EVENTS_FRESHNESS" }
    }
  }

  override_data {
    target = data.aws_region.current
    values = { region = "eu-west-1" }
  }

  override_resource {
    target = aws_sns_topic.alarms
    values = { arn = "arn:aws:sns:eu-west-1:123456789012:rtstream-alarms" }
  }

  assert {
    condition     = length(aws_sns_topic_subscription.this) == 6 && length([for s in aws_sns_topic_subscription.this : s if s.topic_arn == "arn:aws:sns:eu-west-1:123456789012:rtstream-snowpipe-errors"]) == 3
    error_message = "Every address and URL is subscribed to both topics."
  }

  assert {
    condition     = aws_sns_topic.alarms.name == "rtstream-alarms" && aws_sns_topic.alarms.kms_master_key_id == "arn:aws:kms:eu-west-1:123456789012:key/test"
    error_message = "The alarm topic is <name>-alarms, encrypted with the given key."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.this["api-p99-latency"].threshold == 5000
      && aws_cloudwatch_metric_alarm.this["api-p99-latency"].extended_statistic == "p99"
      && aws_cloudwatch_metric_alarm.this["validator-duration"].threshold == 10000
      && aws_cloudwatch_metric_alarm.this["transformer-duration"].threshold == 30000
      && aws_cloudwatch_metric_alarm.this["api-5xx-rate"].threshold == 0.01
      && aws_cloudwatch_metric_alarm.this["kinesis-write-throttles"].evaluation_periods == 2
      && aws_cloudwatch_metric_alarm.this["kinesis-write-throttles"].datapoints_to_alarm == 2
      && aws_cloudwatch_metric_alarm.this["s3-delivery-freshness"].threshold == 900
    )
    error_message = "Thresholds come from the variable, the defaults fill the rest, durations are a share of each timeout."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.this["snowpipe-notifications"].dimensions == tomap({ TopicName = "rtstream-snowpipe-errors" })
    error_message = "The Snowpipe alarm watches the Snowflake topic's published messages."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.this["kinesis-unread"].namespace == null
      && aws_cloudwatch_metric_alarm.this["kinesis-unread"].period == null
      && aws_cloudwatch_metric_alarm.this["kinesis-unread"].evaluation_periods == 3
      && aws_cloudwatch_metric_alarm.this["kinesis-unread"].treat_missing_data == "notBreaching"
      && toset([for query in aws_cloudwatch_metric_alarm.this["kinesis-unread"].metric_query : "${query.id}:${one(query.metric[*].metric_name)}" if length(query.metric) > 0]) == toset(["incoming:IncomingRecords", "firehose_read:DataReadFromKinesisStream.Records"])
      && [for query in aws_cloudwatch_metric_alarm.this["kinesis-unread"].metric_query : query.expression if query.return_data == true] == ["IF(FILL(incoming, 0) > 0 AND FILL(firehose_read, 0) == 0, 1, 0)"]
    )
    error_message = "kinesis-unread is metric math over the stream's incoming records and Firehose's reads (3 periods by default), its period in its queries."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.this["s3-partition-count-exceeded"].metric_name == "PartitionCountExceeded" && aws_cloudwatch_metric_alarm.this["s3-partition-count-exceeded"].tags.Stage == "s3"
    error_message = "With dynamic partitioning, Firehose's PartitionCountExceeded is alarmed (stage s3)."
  }

  assert {
    condition = (
      jsondecode(aws_cloudwatch_dashboard.pipeline.dashboard_body).widgets[0].type == "alarm"
      && length(jsondecode(aws_cloudwatch_dashboard.pipeline.dashboard_body).widgets[0].properties.alarms) == length(aws_cloudwatch_metric_alarm.this)
      && [for w in jsondecode(aws_cloudwatch_dashboard.pipeline.dashboard_body).widgets : w.properties.markdown if w.type == "text"][0] == "### 1 · API\nAPI Gateway `rtstream-api`, stage `v1`: the clients' requests."
    )
    error_message = "The dashboard shows every alarm's state on top, then the stages from left to right starting with the API."
  }
}

run "module_without_the_snowflake_topic" {
  command = plan

  module {
    source = "./modules/observability"
  }

  variables {
    name                 = "rtstream"
    kms_key_arn          = "arn:aws:kms:eu-west-1:123456789012:key/test"
    email_addresses      = ["oncall@example.com"]
    api                  = { name = "rtstream-api", stage = "v1" }
    validator            = { name = "rtstream-validator", timeout_seconds = 20 }
    transformer          = { name = "rtstream-transformer", timeout_seconds = 60 }
    stream_name          = "rtstream-events"
    delivery_stream_name = "rtstream-delivery"
    data_bucket_name     = "rtstream-data-test"
    metrics = {
      namespace   = "rtstream"
      validator   = jsondecode(file("../config/pipeline.json")).metrics.validator
      transformer = jsondecode(file("../config/pipeline.json")).metrics.transformer
    }
    snowflake = { notification_topic = null, monitoring_views = {} }
  }

  assert {
    condition     = !contains(keys(aws_cloudwatch_metric_alarm.this), "snowpipe-notifications") && length(aws_sns_topic_subscription.this) == 1
    error_message = "Without the Snowflake topic: no Snowpipe alarm, and subscriptions to the alarm topic only."
  }

  assert {
    condition     = !contains(keys(aws_cloudwatch_metric_alarm.this), "s3-partition-count-exceeded") && contains(keys(aws_cloudwatch_metric_alarm.this), "kinesis-unread")
    error_message = "Without dynamic partitioning (the default) no partition-count alarm; kinesis-unread in every mode."
  }
}

run "module_rejects_a_plain_http_endpoint" {
  command = plan

  module {
    source = "./modules/observability"
  }

  variables {
    name                 = "rtstream"
    kms_key_arn          = "arn:aws:kms:eu-west-1:123456789012:key/test"
    https_endpoints      = ["http://hooks.example.com/sns"]
    thresholds           = { lambda_duration_percent_of_timeout = 100 }
    api                  = { name = "rtstream-api", stage = "v1" }
    validator            = { name = "rtstream-validator", timeout_seconds = 20 }
    transformer          = { name = "rtstream-transformer", timeout_seconds = 60 }
    stream_name          = "rtstream-events"
    delivery_stream_name = "rtstream-delivery"
    data_bucket_name     = "rtstream-data-test"
    metrics              = { namespace = "rtstream", validator = {}, transformer = {} }
    snowflake            = { notification_topic = null, monitoring_views = {} }
  }

  expect_failures = [var.https_endpoints, var.thresholds, var.metrics]
}

# The Snowflake module: monitoring views readable by the reader role, and the freshness check.
run "snowflake_views_and_freshness_check" {
  command = apply

  module {
    source = "./modules/snowflake"
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
    freshness_check   = { pending_file_minutes = 20, max_minutes_without_rows = 60 }
    dedup             = jsondecode(file("../config/pipeline.json")).dedup
  }

  assert {
    condition     = snowflake_notification_integration.errors[0].direction == "OUTBOUND" && snowflake_pipe.events[0].error_integration == "RTSTREAM_PIPE_ERRORS"
    error_message = "The error integration is on by default, outbound, and the pipe reports to it."
  }

  assert {
    condition = toset([for grant in snowflake_grant_privileges_to_account_role.reader_select : grant.on_schema_object[0].object_name]) == toset([
      "RTSTREAM.RAW.EVENTS", "RTSTREAM.RAW.EVENTS_DEDUP", "RTSTREAM.RAW.EVENTS_LOAD_ERRORS",
      "RTSTREAM.RAW.EVENTS_REJECTED_ROWS", "RTSTREAM.RAW.EVENTS_PIPE_STATUS", "RTSTREAM.RAW.EVENTS_FRESHNESS",
      "RTSTREAM.RAW.EVENTS_DEDUP_SLIPPED",
    ])
    error_message = "The reader role may SELECT the table, the dedup view, the duplicate check's view and every monitoring view."
  }

  assert {
    condition     = snowflake_grant_privileges_to_account_role.reader_monitor_pipe[0].privileges == toset(["MONITOR"]) && snowflake_grant_privileges_to_account_role.reader_monitor_pipe[0].on_schema_object[0].object_name == "RTSTREAM.RAW.EVENTS_PIPE"
    error_message = "SYSTEM$PIPE_STATUS needs MONITOR on the pipe."
  }

  assert {
    condition     = snowflake_view.monitoring["load_errors"].statement == trimspace(templatefile("../snowflake/load_errors_view.sql", local.sql_vars)) && length(regexall("[$][{]", snowflake_view.freshness[0].statement)) == 0
    error_message = "The views run the SQL files of snowflake/, every placeholder filled."
  }

  assert {
    condition = (
      strcontains(snowflake_task.freshness_check[0].sql_statement, "IF (EXISTS(SELECT 1 FROM RTSTREAM.RAW.EVENTS_FRESHNESS WHERE EXECUTION_STATE <> 'RUNNING' OR OLDEST_PENDING_FILE_MINUTES >= 20 OR COALESCE(MINUTES_SINCE_LAST_LOAD, 0) >= 60)) THEN")
      && strcontains(snowflake_task.freshness_check[0].sql_statement, "SNOWFLAKE.NOTIFICATION.INTEGRATION('RTSTREAM_PIPE_ERRORS')")
      && snowflake_task.freshness_check[0].schedule[0].minutes == 10
      && snowflake_task.freshness_check[0].error_integration == "RTSTREAM_PIPE_ERRORS"
      && output.freshness_check_name == "RTSTREAM.RAW.EVENTS_FRESHNESS_CHECK"
    )
    error_message = "The freshness check is a serverless task that reads the view every 10 minutes by default and notifies (and reports its own failures) through the error integration."
  }
}
