output "events_url" {
  description = "Full URL of POST /<path_part>, e.g. https://<id>.execute-api.<region>.amazonaws.com/v1/events."
  value       = "${aws_api_gateway_stage.this.invoke_url}${aws_api_gateway_resource.events.path}"
}

output "api_key" {
  description = "Value of the API key to send as x-api-key."
  value       = aws_api_gateway_api_key.this.value
  sensitive   = true
}

output "rest_api_id" {
  description = "ID of the REST API."
  value       = aws_api_gateway_rest_api.this.id
}

output "stage_name" {
  description = "Name of the deployed stage."
  value       = aws_api_gateway_stage.this.stage_name
}

output "validator_function_name" {
  description = "Name of the validator Lambda."
  value       = module.validator.function_name
}

output "validator_role_name" {
  description = "Name of the validator Lambda's IAM role."
  value       = module.validator.role_name
}
