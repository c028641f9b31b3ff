# One dashboard that reads left to right like the pipeline: a column per stage (API,
# validator, Kinesis, Firehose and the transformer, S3, Snowpipe) under a row with the state
# of every alarm. Thresholds of the alarms are drawn on their graphs.

locals {
  lambda_metrics = {
    for key, lambda in local.lambdas : key => [
      for name in ["Invocations", "Errors", "Throttles"] : { namespace = "AWS/Lambda", name = name, dimensions = { FunctionName = lambda.name }, stat = "Sum" }
    ]
  }
  lambda_duration = {
    for key, lambda in local.lambdas : key => {
      title       = "${key} duration (ms)"
      metrics     = [for stat in ["p99", "Maximum"] : { namespace = "AWS/Lambda", name = "Duration", dimensions = { FunctionName = lambda.name }, stat = stat }]
      annotations = [{ label = "alarm", value = local.alarms["${key}-duration"].threshold }, { label = "timeout", value = lambda.timeout_seconds * 1000 }]
    }
  }

  columns = [
    {
      title = "1 · API"
      text  = "API Gateway `${var.api.name}`, stage `${var.api.stage}`: the clients' requests."
      graphs = [
        {
          title       = "API requests"
          metrics     = [for name in ["Count", "4XXError", "5XXError"] : { namespace = "AWS/ApiGateway", name = name, dimensions = local.api_dimensions, stat = "Sum" }]
          annotations = []
        },
        {
          title       = "Latency (ms)"
          metrics     = [for stat in ["p50", "p99"] : { namespace = "AWS/ApiGateway", name = "Latency", dimensions = local.api_dimensions, stat = stat }]
          annotations = [{ label = "p99 alarm", value = var.thresholds.api_p99_latency_ms }]
        },
      ]
    },
    {
      title = "2 · Validator"
      text  = "Lambda `${var.validator.name}`: events accepted (in Kinesis), rejected (400, kept in the error bucket), failed (503)."
      graphs = [
        {
          title       = "Events"
          metrics     = [for key in ["events_accepted", "events_rejected", "events_failed"] : { namespace = var.metrics.namespace, name = var.metrics.validator[key], dimensions = {}, stat = "Sum" }]
          annotations = []
        },
        { title = "Invocations", metrics = local.lambda_metrics.validator, annotations = [] },
        local.lambda_duration.validator,
        {
          title = "Time in Kinesis and the error bucket (ms)"
          metrics = [
            for pair in setproduct(["kinesis_time", "error_store_time"], ["p99", "Maximum"]) :
            { namespace = var.metrics.namespace, name = var.metrics.validator[pair[0]], dimensions = {}, stat = pair[1] }
          ]
          annotations = []
        },
      ]
    },
    {
      title = "3 · Kinesis"
      text  = "Stream `${var.stream_name}`: the validator writes, Firehose reads."
      graphs = [
        {
          # kinesis-unread fires while the first line is above zero and the last at zero.
          title = "Records in and out"
          metrics = [
            { namespace = "AWS/Kinesis", name = "IncomingRecords", dimensions = { StreamName = var.stream_name }, stat = "Sum" },
            { namespace = "AWS/Kinesis", name = "GetRecords.Records", dimensions = { StreamName = var.stream_name }, stat = "Sum" },
            { namespace = "AWS/Firehose", name = "DataReadFromKinesisStream.Records", dimensions = local.firehose_dimensions, stat = "Sum" },
          ]
          annotations = []
        },
        {
          title = "Write throttles and the validator's retries"
          metrics = concat(
            [{ namespace = "AWS/Kinesis", name = "WriteProvisionedThroughputExceeded", dimensions = { StreamName = var.stream_name }, stat = "Sum" }],
            [for key in ["put_retries", "records_refused"] : { namespace = var.metrics.namespace, name = var.metrics.validator[key], dimensions = {}, stat = "Sum" }],
          )
          annotations = []
        },
        {
          title       = "Iterator age (ms)"
          metrics     = [{ namespace = "AWS/Kinesis", name = "GetRecords.IteratorAgeMilliseconds", dimensions = { StreamName = var.stream_name }, stat = "Maximum" }]
          annotations = [{ label = "alarm", value = var.thresholds.kinesis_iterator_age_seconds * 1000 }]
        },
      ]
    },
    {
      title = "4 · Firehose and transformer"
      text  = "Firehose `${var.delivery_stream_name}` reads the stream and calls Lambda `${var.transformer.name}`; records it could not transform go to its processing-failed output."
      graphs = [
        {
          title       = "Records transformed"
          metrics     = [for key in ["records_ok", "records_processing_failed"] : { namespace = var.metrics.namespace, name = var.metrics.transformer[key], dimensions = {}, stat = "Sum" }]
          annotations = []
        },
        {
          title       = "Processing success (1 = all)"
          metrics     = [{ namespace = "AWS/Firehose", name = "ExecuteProcessing.Success", dimensions = local.firehose_dimensions, stat = "Minimum" }]
          annotations = [{ label = "alarm below", value = 1 }]
        },
        { title = "Transformer invocations", metrics = local.lambda_metrics.transformer, annotations = [] },
        local.lambda_duration.transformer,
      ]
    },
    {
      title = var.delivery.destination == "snowflake" ? "5 · Snowflake delivery" : "5 · S3"
      text  = var.delivery.destination == "snowflake" ? "Firehose inserts the events into Snowflake (Snowpipe Streaming) and backs every record up to bucket `${var.data_bucket_name}`." : "Firehose writes the events to bucket `${var.data_bucket_name}`."
      graphs = [
        {
          title       = "Delivered (${join(", ", local.delivery.counts)})"
          metrics     = [for name in local.delivery.counts : { namespace = "AWS/Firehose", name = "${local.delivery.metric_prefix}.${name}", dimensions = local.firehose_dimensions, stat = "Sum" }]
          annotations = []
        },
        {
          title       = "Delivery success (1 = all)"
          metrics     = [{ namespace = "AWS/Firehose", name = "${local.delivery.metric_prefix}.Success", dimensions = local.firehose_dimensions, stat = "Minimum" }]
          annotations = [{ label = "alarm below", value = 1 }]
        },
        {
          title       = "Data freshness (s)"
          metrics     = [{ namespace = "AWS/Firehose", name = "${local.delivery.metric_prefix}.DataFreshness", dimensions = local.firehose_dimensions, stat = "Maximum" }]
          annotations = [{ label = "alarm", value = local.firehose_freshness_seconds }]
        },
      ]
    },
    {
      title = "6 · Snowpipe"
      text = join("\n", concat(
        ["CloudWatch cannot see Snowflake. Load errors and failed checks (freshness, dedup) arrive on the Snowflake topic; the monitoring views (reader role) say more:", ""],
        [for key, view in var.snowflake.monitoring_views : "- ${key}: `SELECT * FROM ${view}`"],
      ))
      graphs = [
        for topic in var.snowflake.notification_topic == null ? [] : [var.snowflake.notification_topic] : {
          title       = "Snowflake notifications (load errors, stale data)"
          metrics     = [{ namespace = "AWS/SNS", name = "NumberOfMessagesPublished", dimensions = { TopicName = topic.name }, stat = "Sum" }]
          annotations = []
        }
      ]
    },
  ]

  column_width  = 24 / length(local.columns)
  header_height = 3
  graph_height  = 6
  alarm_height  = 3

  dashboard_widgets = concat(
    [{
      type       = "alarm"
      x          = 0
      y          = 0
      width      = 24
      height     = local.alarm_height
      properties = { title = "Alarms", alarms = [for alarm in aws_cloudwatch_metric_alarm.this : alarm.arn] }
    }],
    flatten([
      for index, column in local.columns : concat(
        [{
          type       = "text"
          x          = index * local.column_width
          y          = local.alarm_height
          width      = local.column_width
          height     = local.header_height
          properties = { markdown = "### ${column.title}\n${column.text}" }
        }],
        [
          for row, graph in column.graphs : {
            type   = "metric"
            x      = index * local.column_width
            y      = local.alarm_height + local.header_height + row * local.graph_height
            width  = local.column_width
            height = local.graph_height
            properties = merge(
              {
                title  = graph.title
                region = local.region
                view   = "timeSeries"
                period = local.period
                metrics = [
                  for metric in graph.metrics : concat(
                    [metric.namespace, metric.name],
                    flatten([for dimension, value in metric.dimensions : [dimension, value]]),
                    [{ stat = metric.stat, label = "${metric.name} ${metric.stat}" }],
                  )
                ]
              },
              # The alarm thresholds, as lines; a graph without any has no annotations at all.
              length(graph.annotations) == 0 ? {} : { annotations = { horizontal = graph.annotations } },
            )
          }
        ],
      )
    ]),
  )
}

resource "aws_cloudwatch_dashboard" "pipeline" {
  dashboard_name = "${var.name}-pipeline"
  dashboard_body = jsonencode({ widgets = local.dashboard_widgets })
}
