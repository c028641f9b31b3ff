output "events_url" {
  description = "Full URL of POST /<path_part>, e.g. https://<id>.execute-api.<region>.amazonaws.com/v1/events."
  value       = "${aws_api_gateway_stage.this.invoke_url}${aws_api_gateway_resource.events.path}"
}

output "api_key" {
  description = "Value of the default client's API key, to send as x-api-key."
  value       = aws_api_gateway_api_key.this["default"].value
  sensitive   = true
}

output "client_api_keys" {
  description = "Value of every client's API key, by client name."
  value       = { for name, key in aws_api_gateway_api_key.this : name => key.value }
  sensitive   = true
}

output "client_api_key_ids" {
  description = "ID of every client's API key, by client name: $context.identity.apiKeyId of the access log, --key-id of aws apigateway get-usage. Not secret."
  value       = { for name, key in aws_api_gateway_api_key.this : name => key.id }
}

output "usage_plan_ids" {
  description = "ID of every usage plan, by plan key (tier, or client-<name>)."
  value       = { for key, plan in aws_api_gateway_usage_plan.this : key => plan.id }
}

output "rest_api_id" {
  description = "ID of the REST API."
  value       = aws_api_gateway_rest_api.this.id
}

output "stage_name" {
  description = "Name of the deployed stage."
  value       = aws_api_gateway_stage.this.stage_name
}

output "stage_arn" {
  description = "ARN of the deployed stage (what a WAF web ACL is associated with)."
  value       = aws_api_gateway_stage.this.arn
}

output "validator_function_name" {
  description = "Name of the validator Lambda."
  value       = module.validator.function_name
}

output "validator_role_name" {
  description = "Name of the validator Lambda's IAM role."
  value       = module.validator.role_name
}

output "waf_web_acl_arn" {
  description = "ARN of the stage's WAF web ACL, or null without waf.enabled."
  value       = one(aws_wafv2_web_acl.this[*].arn)
}

output "waf_log_group_name" {
  description = "Log group of the WAF's logs (aws-waf-logs-<name>), or null without waf.enabled."
  value       = one(aws_cloudwatch_log_group.waf[*].name)
}

output "waf_content_length_pattern" {
  description = "The regular expression of the WAF's Content-Length rule: a number greater than waf.max_request_bytes."
  value       = local.waf_content_length_over_limit
}
