# snowpipe_streaming: the service user Firehose's Snowflake destination logs in as. Key pair
# only (a SERVICE user has no password): Terraform sets the public key; the private key goes
# into the delivery module's Secrets Manager secret by hand (docs/deploy.md), never through a
# variable or a plan.
resource "snowflake_service_user" "streaming" {
  count = local.streaming_enabled ? 1 : 0

  name           = var.names.streaming_user
  comment        = "rtstream: Firehose's Snowflake destination (Snowpipe Streaming into ${var.names.table})."
  default_role   = snowflake_account_role.streaming[0].name
  rsa_public_key = var.streaming_rsa_public_key
}

resource "snowflake_grant_account_role" "streaming_user" {
  count = local.streaming_enabled ? 1 : 0

  role_name = snowflake_account_role.streaming[0].name
  user_name = snowflake_service_user.streaming[0].name
}
