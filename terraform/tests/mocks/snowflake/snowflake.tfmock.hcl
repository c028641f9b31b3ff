mock_resource "snowflake_pipe" {
  defaults = { notification_channel = "arn:aws:sqs:eu-west-1:999999999999:sf-snowpipe-TEST" }
}

mock_resource "snowflake_storage_integration" {
  defaults = {
    storage_aws_iam_user_arn = "arn:aws:iam::999999999999:user/abc-s-snowflake"
    storage_aws_external_id  = "ORG_SFCRole=1_TEST"
  }
}
