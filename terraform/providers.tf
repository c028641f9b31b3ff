provider "aws" {
  region = var.aws_region

  default_tags {
    tags = merge({ Project = "rtstream", ManagedBy = "terraform" }, var.tags)
  }
}

# Key-pair (JWT) authentication of a service user; see docs/deploy.md for creating it.
provider "snowflake" {
  organization_name      = var.snowflake_organization_name
  account_name           = var.snowflake_account_name
  user                   = var.snowflake_user
  role                   = var.snowflake_role
  authenticator          = "SNOWFLAKE_JWT"
  private_key            = var.snowflake_private_key
  private_key_passphrase = var.snowflake_private_key_passphrase

  # Resources the provider still labels preview must be switched on explicitly.
  preview_features_enabled = [
    "snowflake_notification_integration_resource",
    "snowflake_pipe_resource",
    "snowflake_stage_resource",
    "snowflake_storage_integration_resource",
  ]
}
