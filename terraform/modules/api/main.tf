data "aws_partition" "current" {}

module "validator" {
  source = "../lambda_function"

  name                 = var.validator.name
  description          = "rtstream validator: checks events against their JSON Schema, PutRecords the valid ones, stores rejections."
  zip_path             = var.validator.zip_path
  architecture         = var.validator.architecture
  memory_size          = var.validator.memory_size
  timeout              = var.validator.timeout
  reserved_concurrency = var.validator.reserved_concurrency
  tracing_mode         = var.validator.tracing_mode
  kms_key_arn          = var.kms_key_arn
  log_retention_days   = var.log_retention_days
  environment          = var.validator_environment

  iam_permissions_boundary_arn = var.iam_permissions_boundary_arn

  policy_statements = [
    {
      sid       = "PutEvents"
      actions   = ["kinesis:PutRecords", "kinesis:PutRecord"]
      resources = [var.stream_arn]
    },
    {
      sid       = "WriteRejections"
      actions   = ["s3:PutObject"]
      resources = ["${var.error_bucket_arn}/${var.error_prefix}*"]
    },
    {
      # SSE-KMS on the stream and on the error bucket: writers need a data key.
      sid       = "EncryptWrites"
      actions   = ["kms:GenerateDataKey"]
      resources = [var.kms_key_arn]
    },
  ]
}

resource "aws_api_gateway_rest_api" "this" {
  name        = var.name
  description = "rtstream event ingestion: POST /${var.path_part}"
  # Every body reaches the Lambda base64-encoded and untouched, so gzip bodies
  # (Content-Encoding: gzip) survive whatever their Content-Type.
  binary_media_types = ["*/*"]

  endpoint_configuration {
    types = ["REGIONAL"]
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_api_gateway_resource" "events" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_rest_api.this.root_resource_id
  path_part   = var.path_part
}

resource "aws_api_gateway_method" "post" {
  #checkov:skip=CKV2_AWS_53:Requests are validated by the validator Lambda against per-event-type JSON Schemas; a model here would duplicate them.
  rest_api_id      = aws_api_gateway_rest_api.this.id
  resource_id      = aws_api_gateway_resource.events.id
  http_method      = "POST"
  authorization    = "NONE"
  api_key_required = true
}

resource "aws_api_gateway_integration" "post" {
  rest_api_id             = aws_api_gateway_rest_api.this.id
  resource_id             = aws_api_gateway_resource.events.id
  http_method             = aws_api_gateway_method.post.http_method
  type                    = "AWS_PROXY"
  integration_http_method = "POST"
  uri                     = module.validator.invoke_arn
}

resource "aws_lambda_permission" "api" {
  statement_id  = "AllowApiGatewayPostEvents"
  action        = "lambda:InvokeFunction"
  function_name = module.validator.function_name
  principal     = "apigateway.${data.aws_partition.current.dns_suffix}"
  source_arn    = "${aws_api_gateway_rest_api.this.execution_arn}/${var.stage_name}/POST${aws_api_gateway_resource.events.path}"
}

resource "aws_api_gateway_deployment" "this" {
  rest_api_id = aws_api_gateway_rest_api.this.id

  # A REST API only serves what was deployed: redeploy whenever the route changes.
  triggers = {
    redeployment = sha1(jsonencode([
      aws_api_gateway_resource.events,
      aws_api_gateway_method.post,
      aws_api_gateway_integration.post,
    ]))
  }

  lifecycle {
    create_before_destroy = true
  }
}

# Access and execution logging need the account's API Gateway CloudWatch Logs role in this
# region: an account-wide setting, made once by terraform/bootstrap, not by each stack.

resource "aws_cloudwatch_log_group" "access" {
  #checkov:skip=CKV_AWS_338:Operational logs; retention is the log_retention_days variable (default 30 days), raise it where an audit trail is required.
  name              = "/aws/apigateway/${var.name}/${var.stage_name}/access"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

# Created here (API Gateway would create it unencrypted and never expiring).
resource "aws_cloudwatch_log_group" "execution" {
  #checkov:skip=CKV_AWS_338:Operational logs; retention is the log_retention_days variable (default 30 days), raise it where an audit trail is required.
  name              = "API-Gateway-Execution-Logs_${aws_api_gateway_rest_api.this.id}/${var.stage_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_api_gateway_stage" "this" {
  #checkov:skip=CKV_AWS_120:Ingestion is POST-only: responses are per request and must never be cached.
  #checkov:skip=CKV2_AWS_29:The WAF web ACL is optional (waf.tf; root waf_enabled, true in env/prod.tfvars) and associated with this stage there.
  #checkov:skip=CKV2_AWS_77:The stage's one backend is a Rust Lambda, no Log4j; the optional web ACL (waf.tf) has no Log4j rule group, see CKV_AWS_192 there.
  #checkov:skip=CKV2_AWS_51:Public clients authenticate with an API key; the integration is a Lambda proxy, not an HTTP backend that would check a client certificate.
  rest_api_id   = aws_api_gateway_rest_api.this.id
  deployment_id = aws_api_gateway_deployment.this.id
  stage_name    = var.stage_name
  # The stage samples requests; the validator (PassThrough by default) follows its decision.
  xray_tracing_enabled = true

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.access.arn
    format = jsonencode({
      requestId          = "$context.requestId"
      extendedRequestId  = "$context.extendedRequestId"
      ip                 = "$context.identity.sourceIp"
      apiKeyId           = "$context.identity.apiKeyId"
      requestTime        = "$context.requestTime"
      httpMethod         = "$context.httpMethod"
      resourcePath       = "$context.resourcePath"
      status             = "$context.status"
      responseLength     = "$context.responseLength"
      integrationStatus  = "$context.integration.status"
      integrationLatency = "$context.integration.latency"
      errorMessage       = "$context.error.message"
    })
  }

  depends_on = [aws_cloudwatch_log_group.execution]
}

resource "aws_api_gateway_method_settings" "all" {
  #checkov:skip=CKV_AWS_225:Caching is off on purpose: every POST must reach the validator.
  #checkov:skip=CKV_AWS_308:No cache, hence no cache data to encrypt.
  rest_api_id = aws_api_gateway_rest_api.this.id
  stage_name  = aws_api_gateway_stage.this.stage_name
  method_path = "*/*"

  settings {
    metrics_enabled        = true
    logging_level          = "ERROR"
    data_trace_enabled     = false
    throttling_rate_limit  = var.throttle_rate_limit
    throttling_burst_limit = var.throttle_burst_limit
  }
}

# --- Clients: one API key each, attached to its usage plan --------------------------------
# A usage plan per tier, and one per client with limits of its own (the root's api_clients and
# api_usage_tiers build both maps). Throttling and quota of a plan apply to each of its keys
# separately: clients of one tier share its settings, never its budget. API Gateway applies
# them on a best-effort basis (README.md): they meter and shape, the WAF's rate rule and the
# validator's reserved concurrency are what hold under abuse.

resource "aws_api_gateway_usage_plan" "this" {
  for_each = var.usage_plans

  name        = "${var.name}-${each.key}"
  description = "rtstream ${var.name}: limits of usage plan ${each.key}, applied to each of its API keys separately"

  api_stages {
    api_id = aws_api_gateway_rest_api.this.id
    stage  = aws_api_gateway_stage.this.stage_name
  }

  throttle_settings {
    rate_limit  = each.value.rate_limit
    burst_limit = each.value.burst_limit
  }

  quota_settings {
    limit  = each.value.quota_limit
    period = each.value.quota_period
  }
}

resource "aws_api_gateway_api_key" "this" {
  for_each = var.clients

  # The default client's key keeps the name (and, through the moved block, the value) of the
  # single key this module had before: output api_key, the probe and Postman use it.
  name        = "${var.name}-${each.key}"
  description = "rtstream ${var.name}: API key of client ${each.key} (usage plan ${each.value.usage_plan})"
  enabled     = each.value.enabled
}

resource "aws_api_gateway_usage_plan_key" "this" {
  for_each = var.clients

  key_id        = aws_api_gateway_api_key.this[each.key].id
  key_type      = "API_KEY"
  usage_plan_id = aws_api_gateway_usage_plan.this[each.value.usage_plan].id
}

# Before per-client keys the module had one key, one plan and their association, unkeyed.
moved {
  from = aws_api_gateway_api_key.this
  to   = aws_api_gateway_api_key.this["default"]
}

moved {
  from = aws_api_gateway_usage_plan.this
  to   = aws_api_gateway_usage_plan.this["default"]
}

moved {
  from = aws_api_gateway_usage_plan_key.this
  to   = aws_api_gateway_usage_plan_key.this["default"]
}
