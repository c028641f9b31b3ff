provider "aws" {
  region = var.aws_region

  default_tags {
    tags = merge({ Project = "rtstream", ManagedBy = "terraform" }, var.tags)
  }
}

# Key-pair (JWT) authentication of a service user; see docs/deploy.md for creating it.
# The key is read from SNOWFLAKE_PRIVATE_KEY (and SNOWFLAKE_PRIVATE_KEY_PASSPHRASE for an
# encrypted one) in the environment, never from a variable: variable values are written
# into saved plan files, and the workflow keeps the reviewed plan as an artifact.
provider "snowflake" {
  organization_name = var.snowflake_organization_name
  account_name      = var.snowflake_account_name
  user              = var.snowflake_user
  role              = var.snowflake_role
  authenticator     = "SNOWFLAKE_JWT"

  # Resources the provider still labels preview must be switched on explicitly.
  preview_features_enabled = [
    "snowflake_notification_integration_resource",
    "snowflake_pipe_resource",
    "snowflake_stage_external_s3_resource",
    "snowflake_storage_integration_aws_resource",
  ]
}
