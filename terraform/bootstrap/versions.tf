terraform {
  # Cross-variable validation (1.9) and the S3 lock file of the root module's backend (1.10).
  required_version = ">= 1.10.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.69.1"
    }
  }

  # No backend: this module creates the state bucket the root module uses, so its own state
  # starts local. README.md says how to move it into that bucket afterwards.
}
