# modules/storage with a mocked provider (runs in GitHub Actions only, see README).

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

variables {
  data_bucket_name                   = "rtstream-data-test"
  error_bucket_name                  = "rtstream-errors-test"
  error_prefix                       = "errors/"
  processing_failed_prefix           = "processing-failed/"
  kms_key_arn                        = "arn:aws:kms:eu-west-1:123456789012:key/test"
  error_expiration_days              = 14
  noncurrent_version_expiration_days = 30
}

run "buckets_are_hardened" {
  command = plan

  module {
    source = "./modules/storage"
  }

  assert {
    condition     = alltrue([for b in aws_s3_bucket_public_access_block.this : b.block_public_acls && b.block_public_policy && b.ignore_public_acls && b.restrict_public_buckets])
    error_message = "Both buckets block all public access."
  }

  assert {
    condition     = alltrue([for c in aws_s3_bucket_server_side_encryption_configuration.this : one(one(c.rule).apply_server_side_encryption_by_default).sse_algorithm == "aws:kms"])
    error_message = "Both buckets default to SSE-KMS."
  }

  assert {
    condition     = one([for r in aws_s3_bucket_lifecycle_configuration.this["error"].rule : r if r.id == "expire-failures"]).expiration[0].days == 14
    error_message = "Error objects expire after error_expiration_days."
  }

  assert {
    condition     = one([for r in aws_s3_bucket_lifecycle_configuration.this["error"].rule : r if r.id == "expire-failures"]).filter[0].prefix == "errors/"
    error_message = "Only the errors/ prefix of the error bucket expires."
  }
}
