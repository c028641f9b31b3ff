# Every alarm of the pipeline, by stage (the Stage tag): api, validator, kinesis, firehose
# (the transformer and Firehose's processing), s3 (Firehose's delivery) and snowpipe. All of
# them notify the alarm topic, in alarm and back to OK. docs/operations.md has, per alarm key,
# what it means and what to do first. An alarm watches one metric (namespace, metric_name) or,
# with queries and expression, a metric-math expression over the queries' sums.

locals {
  period = var.thresholds.period_seconds

  # What most alarms share: the sum over one period above a threshold; no data (no traffic)
  # is not a failure.
  alarm_defaults = {
    statistic          = "Sum"
    extended_statistic = null
    comparison         = "GreaterThanThreshold"
    evaluation_periods = 1
    treat_missing_data = "notBreaching"
    queries            = {}
    expression         = null
  }

  lambdas = {
    validator   = merge(var.validator, { stage = "validator" })
    transformer = merge(var.transformer, { stage = "firehose" })
  }

  lambda_alarms = merge([
    for key, lambda in local.lambdas : {
      "${key}-errors" = merge(local.alarm_defaults, {
        stage       = lambda.stage
        description = "The ${key} Lambda failed invocations (unhandled errors, timeouts, out of memory)."
        namespace   = "AWS/Lambda"
        metric_name = "Errors"
        dimensions  = { FunctionName = lambda.name }
        threshold   = 0
      })
      "${key}-throttles" = merge(local.alarm_defaults, {
        stage       = lambda.stage
        description = "Lambda refused invocations of ${key}: its reserved concurrency or the account's is exhausted."
        namespace   = "AWS/Lambda"
        metric_name = "Throttles"
        dimensions  = { FunctionName = lambda.name }
        threshold   = 0
      })
      "${key}-duration" = merge(local.alarm_defaults, {
        stage       = lambda.stage
        description = "An invocation of ${key} took more than ${var.thresholds.lambda_duration_percent_of_timeout}% of its ${lambda.timeout_seconds} s timeout."
        namespace   = "AWS/Lambda"
        metric_name = "Duration"
        dimensions  = { FunctionName = lambda.name }
        statistic   = "Maximum"
        threshold   = lambda.timeout_seconds * 1000 * var.thresholds.lambda_duration_percent_of_timeout / 100
      })
    }
  ]...)

  api_dimensions      = { ApiName = var.api.name, Stage = var.api.stage }
  firehose_dimensions = { DeliveryStreamName = var.delivery_stream_name }

  # Firehose's delivery metrics are named after its destination: DeliveryToS3.* in the S3 modes,
  # DeliveryToSnowflake.* in snowpipe_streaming (AWS's "Delivery to Snowflake" metrics, linked in
  # docs/operations.md). Its alarms are s3-delivery-* (stage s3) or snowflake-delivery-* (stage
  # snowpipe). A failed delivery shows differently: DeliveryToS3.Success is the share of S3 puts
  # that succeeded, DeliveryToSnowflake.Success only a count of successful inserts, so in
  # snowpipe_streaming the signal is DeliveryToS3.Records, which Firehose emits only when it writes
  # data it could not deliver to Snowflake to S3.
  delivery = {
    extended_s3 = {
      alarm = "s3", stage = "s3", metric_prefix = "DeliveryToS3", counts = ["Records", "ObjectCount"], target = "the data bucket"
      errors = {
        metric_name = "DeliveryToS3.Success", statistic = "Minimum", comparison = "LessThanThreshold", threshold = 1
        description = "Firehose failed to deliver to the data bucket (with a Kinesis source it retries as long as the stream keeps the records; past the stream's retention they are lost)."
      }
    }
    snowflake = {
      alarm = "snowflake", stage = "snowpipe", metric_prefix = "DeliveryToSnowflake", counts = ["Records", "Bytes"], target = "Snowflake (Snowpipe Streaming)"
      errors = {
        metric_name = "DeliveryToS3.Records", statistic = "Sum", comparison = "GreaterThanThreshold", threshold = 0
        description = "Firehose could not insert records into Snowflake (rows refused, or inserts failing past its retry duration) and wrote them to its processing-failed output: they are missing from the events table until replayed."
      }
    }
  }[var.delivery.destination]
  # The mode's default unless thresholds sets one.
  firehose_freshness_seconds = coalesce(var.thresholds.firehose_freshness_seconds, var.delivery.freshness_seconds)

  stage_alarms = {
    "api-5xx-rate" = merge(local.alarm_defaults, {
      stage       = "api"
      description = "More than ${var.thresholds.api_5xx_rate_percent}% of the API's requests answered 5xx."
      namespace   = "AWS/ApiGateway"
      metric_name = "5XXError"
      dimensions  = local.api_dimensions
      # 5XXError is 0 or 1 per request: its average is the share of 5xx answers.
      statistic = "Average"
      threshold = var.thresholds.api_5xx_rate_percent / 100
    })
    "api-p99-latency" = merge(local.alarm_defaults, {
      stage              = "api"
      description        = "The API's p99 latency exceeded ${var.thresholds.api_p99_latency_ms} ms."
      namespace          = "AWS/ApiGateway"
      metric_name        = "Latency"
      dimensions         = local.api_dimensions
      statistic          = null
      extended_statistic = "p99"
      threshold          = var.thresholds.api_p99_latency_ms
    })
    "validator-events-failed" = merge(local.alarm_defaults, {
      stage       = "validator"
      description = "The validator answered 503 for events it could neither write to Kinesis nor keep: clients must retry them."
      namespace   = var.metrics.namespace
      metric_name = var.metrics.validator.events_failed
      dimensions  = {}
      threshold   = 0
    })
    "kinesis-iterator-age" = merge(local.alarm_defaults, {
      stage       = "kinesis"
      description = "Firehose is more than ${var.thresholds.kinesis_iterator_age_seconds} s behind the stream's newest record."
      namespace   = "AWS/Kinesis"
      metric_name = "GetRecords.IteratorAgeMilliseconds"
      dimensions  = { StreamName = var.stream_name }
      statistic   = "Maximum"
      threshold   = var.thresholds.kinesis_iterator_age_seconds * 1000
    })
    # No reader emits no iterator age and leaves nothing in Firehose to be stale: only the
    # stream's own count of incoming records shows what nobody reads. FILL: a period Firehose
    # did not read at all has no datapoint, not a 0.
    "kinesis-unread" = merge(local.alarm_defaults, {
      stage       = "kinesis"
      description = "The stream received records while Firehose read none, ${var.thresholds.kinesis_unread_periods} periods in a row: accepted events wait in Kinesis until its retention ends."
      namespace   = null
      metric_name = null
      dimensions  = null
      statistic   = null
      queries = {
        incoming      = { namespace = "AWS/Kinesis", metric_name = "IncomingRecords", dimensions = { StreamName = var.stream_name } }
        firehose_read = { namespace = "AWS/Firehose", metric_name = "DataReadFromKinesisStream.Records", dimensions = local.firehose_dimensions }
      }
      expression         = "IF(FILL(incoming, 0) > 0 AND FILL(firehose_read, 0) == 0, 1, 0)"
      threshold          = 0
      evaluation_periods = var.thresholds.kinesis_unread_periods
    })
    "kinesis-write-throttles" = merge(local.alarm_defaults, {
      stage = "kinesis"
      # The validator retries throttled records (PutRetries), so a short burst costs latency
      # only; throttling that lasts means the stream lacks write capacity.
      description        = "Kinesis throttled the validator's writes in ${var.thresholds.kinesis_write_throttle_periods} periods in a row."
      namespace          = "AWS/Kinesis"
      metric_name        = "WriteProvisionedThroughputExceeded"
      dimensions         = { StreamName = var.stream_name }
      threshold          = 0
      evaluation_periods = var.thresholds.kinesis_write_throttle_periods
    })
    "transformer-processing-failed" = merge(local.alarm_defaults, {
      stage       = "firehose"
      description = "The transformer marked records ProcessingFailed: Firehose wrote them to its processing-failed output, not to the events Snowpipe loads."
      namespace   = var.metrics.namespace
      metric_name = var.metrics.transformer.records_processing_failed
      dimensions  = {}
      threshold   = 0
    })
    "firehose-processing-errors" = merge(local.alarm_defaults, {
      stage       = "firehose"
      description = "Firehose's invocations of the transformer failed: after its retries the records go to its processing-failed output."
      namespace   = "AWS/Firehose"
      metric_name = "ExecuteProcessing.Success"
      dimensions  = local.firehose_dimensions
      statistic   = "Minimum"
      comparison  = "LessThanThreshold"
      threshold   = 1
    })
  }

  # Firehose's delivery, keyed and staged by its destination (local.delivery).
  delivery_alarms = {
    "${local.delivery.alarm}-delivery-errors" = merge(local.alarm_defaults, local.delivery.errors, {
      stage      = local.delivery.stage
      namespace  = "AWS/Firehose"
      dimensions = local.firehose_dimensions
    })
    "${local.delivery.alarm}-delivery-freshness" = merge(local.alarm_defaults, {
      stage       = local.delivery.stage
      description = "The oldest record in Firehose is more than ${local.firehose_freshness_seconds} s old: accepted events are not reaching ${local.delivery.target}."
      namespace   = "AWS/Firehose"
      metric_name = "${local.delivery.metric_prefix}.DataFreshness"
      dimensions  = local.firehose_dimensions
      statistic   = "Maximum"
      threshold   = local.firehose_freshness_seconds
    })
  }

  # Dynamic partitioning (the snowpipe mode) stops at Firehose's limit of active partitions:
  # records of further partitions go to the processing-failed output, not to the events.
  partitioning_alarms = {
    for enabled in var.delivery.dynamic_partitioning ? [true] : [] :
    "s3-partition-count-exceeded" => merge(local.alarm_defaults, {
      stage       = "s3"
      description = "Firehose exceeded its limit of active dynamic partitions: it writes the records of further partitions to its processing-failed output."
      namespace   = "AWS/Firehose"
      metric_name = "PartitionCountExceeded"
      dimensions  = local.firehose_dimensions
      statistic   = "Maximum"
      comparison  = "GreaterThanOrEqualToThreshold"
      threshold   = 1
    })
  }

  # CloudWatch cannot see Snowflake: what Snowflake published to its topic (a file the pipe
  # skipped, or a failed freshness check) raises this alarm.
  snowpipe_alarms = {
    for topic in var.snowflake.notification_topic == null ? [] : [var.snowflake.notification_topic] :
    "snowpipe-notifications" => merge(local.alarm_defaults, {
      stage       = "snowpipe"
      description = "Snowflake reported a pipe load error or stale data to ${topic.name}: read that topic's message, then the monitoring views."
      namespace   = "AWS/SNS"
      metric_name = "NumberOfMessagesPublished"
      dimensions  = { TopicName = topic.name }
      threshold   = 0
    })
  }

  alarms = merge(local.lambda_alarms, local.stage_alarms, local.delivery_alarms, local.partitioning_alarms, local.snowpipe_alarms)
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name         = "${var.name}-${each.key}"
  alarm_description  = "${each.value.description} Runbook: docs/operations.md, alarm ${each.key}."
  namespace          = each.value.namespace
  metric_name        = each.value.metric_name
  dimensions         = each.value.dimensions
  statistic          = each.value.statistic
  extended_statistic = each.value.extended_statistic
  # A metric-math alarm has its period in its queries.
  period              = each.value.expression == null ? local.period : null
  evaluation_periods  = each.value.evaluation_periods
  datapoints_to_alarm = each.value.evaluation_periods
  threshold           = each.value.threshold
  comparison_operator = each.value.comparison
  treat_missing_data  = each.value.treat_missing_data
  # A p99 over a handful of requests is one slow request: wait for enough samples.
  evaluate_low_sample_count_percentiles = each.value.extended_statistic == null ? null : "ignore"

  dynamic "metric_query" {
    for_each = each.value.queries
    content {
      id = metric_query.key
      metric {
        namespace   = metric_query.value.namespace
        metric_name = metric_query.value.metric_name
        dimensions  = metric_query.value.dimensions
        stat        = "Sum"
        period      = local.period
      }
    }
  }

  dynamic "metric_query" {
    for_each = each.value.expression == null ? [] : [each.value.expression]
    content {
      id          = "breaching"
      expression  = metric_query.value
      label       = "1 while the expression holds"
      return_data = true
    }
  }

  alarm_actions = [aws_sns_topic.alarms.arn]
  ok_actions    = [aws_sns_topic.alarms.arn]

  tags = { Stage = each.value.stage }
}
