# API Gateway's CloudWatch Logs role: an account-wide setting of each region, which every
# stack's access and execution logs need (without it, creating a stage with access logging
# fails: "CloudWatch Logs role ARN must be set in account settings to enable logging"). One
# owner per account and region, so here, not in each environment's stack; opt in only where
# no other stack of the account already sets it (`aws apigateway get-account`).

data "aws_iam_policy_document" "apigateway_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["apigateway.${local.dns_suffix}"]
    }
  }
}

resource "aws_iam_role" "apigateway_logging" {
  count = var.manage_api_gateway_account_role ? 1 : 0

  name               = "${var.name_prefix}-apigateway-account-logs"
  path               = local.role_path
  assume_role_policy = data.aws_iam_policy_document.apigateway_assume.json
}

resource "aws_iam_role_policy_attachment" "apigateway_logging" {
  count = var.manage_api_gateway_account_role ? 1 : 0

  role       = aws_iam_role.apigateway_logging[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
}

resource "aws_api_gateway_account" "this" {
  count = var.manage_api_gateway_account_role ? 1 : 0

  cloudwatch_role_arn = aws_iam_role.apigateway_logging[0].arn

  depends_on = [aws_iam_role_policy_attachment.apigateway_logging]
}
