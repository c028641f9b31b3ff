terraform {
  # 1.10: use_lockfile (S3 state locking without DynamoDB). The providers are pinned to the
  # versions whose schemas tests/terraform checks this configuration against.
  required_version = ">= 1.10.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.69.1"
    }
    snowflake = {
      source  = "snowflakedb/snowflake"
      version = "~> 2.22.0"
    }
  }

  # Partial configuration: bucket, key and region come from `terraform init
  # -backend-config=env/<env>.backend.hcl` (see docs/deploy.md); CI validates with -backend=false.
  backend "s3" {}
}
