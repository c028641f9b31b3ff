mock_resource "snowflake_pipe" {
  defaults = { notification_channel = "arn:aws:sqs:eu-west-1:999999999999:sf-snowpipe-TEST" }
}

# Only computed attributes take mock values: describe_output is what Snowflake generates
# for the integration (storage_aws_external_id is an optional input since provider 2.5.0,
# and a mock value for it would be ignored).
mock_resource "snowflake_storage_integration_aws" {
  defaults = {
    describe_output = [{
      iam_user_arn = "arn:aws:iam::999999999999:user/abc-s-snowflake"
      external_id  = "ORG_SFCRole=1_TEST"
    }]
  }
}
