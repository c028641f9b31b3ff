# snowpipe_streaming: the role Firehose's Snowflake destination inserts with
# (snowflake_role_configuration), created with its user (streaming_user.tf). It may use the
# database and schema and INSERT into the table, nothing else: no SELECT, no other table, no
# warehouse (Snowpipe Streaming runs on Snowflake-managed compute).

locals {
  streaming_enabled = var.streaming_rsa_public_key != null
}

resource "snowflake_account_role" "streaming" {
  count = local.streaming_enabled ? 1 : 0

  name    = var.names.streaming_role
  comment = "rtstream: Firehose's Snowpipe Streaming inserts into ${var.names.table}."
}

resource "snowflake_grant_privileges_to_account_role" "streaming_database" {
  count = local.streaming_enabled ? 1 : 0

  account_role_name = snowflake_account_role.streaming[0].name
  privileges        = ["USAGE"]

  on_account_object {
    object_type = "DATABASE"
    object_name = local.database
  }
}

resource "snowflake_grant_privileges_to_account_role" "streaming_schema" {
  count = local.streaming_enabled ? 1 : 0

  account_role_name = snowflake_account_role.streaming[0].name
  privileges        = ["USAGE"]

  on_schema {
    schema_name = local.qualified_schema
  }
}

resource "snowflake_grant_privileges_to_account_role" "streaming_insert" {
  count = local.streaming_enabled ? 1 : 0

  account_role_name = snowflake_account_role.streaming[0].name
  privileges        = ["INSERT"]

  on_schema_object {
    object_type = "TABLE"
    object_name = "${local.qualified_schema}.${var.names.table}"
  }

  depends_on = [snowflake_execute.table]
}

# Like the reader role: custom roles roll up to SYSADMIN.
resource "snowflake_grant_account_role" "streaming_to_sysadmin" {
  count = local.streaming_enabled ? 1 : 0

  role_name        = snowflake_account_role.streaming[0].name
  parent_role_name = "SYSADMIN"
}
