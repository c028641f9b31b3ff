terraform {
  # 1.7: mock_provider in the .tftest.hcl files.
  required_version = ">= 1.7.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.80.0"
    }
    snowflake = {
      source  = "snowflakedb/snowflake"
      version = ">= 2.0.0"
    }
  }

  # Partial configuration: bucket, key and region come from `terraform init
  # -backend-config=backend.hcl` (see docs/deploy.md); CI validates with -backend=false.
  backend "s3" {}
}
