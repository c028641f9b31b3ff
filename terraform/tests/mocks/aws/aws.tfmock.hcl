# Stable identities so ARNs built from them can be asserted.
mock_data "aws_caller_identity" {
  defaults = { account_id = "123456789012" }
}

mock_data "aws_partition" {
  defaults = { partition = "aws", dns_suffix = "amazonaws.com" }
}

# The provider refuses alarm actions and subscriptions whose topic is not an ARN, and the
# observability module refuses a key that is not a key ARN: the mocks' random strings are neither.
mock_resource "aws_kms_key" {
  defaults = { arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000" }
}

mock_resource "aws_sns_topic" {
  defaults = { arn = "arn:aws:sns:eu-west-1:123456789012:rtstream-mock" }
}
