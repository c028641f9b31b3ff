# modules/stream with a mocked provider (runs in GitHub Actions only, see README).

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

variables {
  name        = "rtstream-events"
  kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/test"
}

run "on_demand_by_default" {
  command = plan

  module {
    source = "./modules/stream"
  }

  assert {
    condition     = aws_kinesis_stream.this.stream_mode_details[0].stream_mode == "ON_DEMAND"
    error_message = "The stream is on-demand by default."
  }

  assert {
    condition     = aws_kinesis_stream.this.encryption_type == "KMS" && aws_kinesis_stream.this.kms_key_id == var.kms_key_arn
    error_message = "The stream must be encrypted with the pipeline key."
  }
}

run "provisioned_uses_shard_count" {
  command = plan

  module {
    source = "./modules/stream"
  }

  variables {
    stream_mode = "PROVISIONED"
    shard_count = 4
  }

  assert {
    condition     = aws_kinesis_stream.this.shard_count == 4
    error_message = "PROVISIONED uses shard_count."
  }
}
