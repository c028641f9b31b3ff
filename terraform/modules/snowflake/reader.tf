# The read-only side: a role that may query the events with the reader warehouse, granted
# to the probe's service user (and to any user you grant it). It cannot alter the pipe,
# the stage or the table.

resource "snowflake_account_role" "reader" {
  name    = var.names.reader_role
  comment = "rtstream: read ${var.names.dedup_view} and ${var.names.table}."
}

locals {
  # What the reader role may use, and how: account objects, the schema, schema objects.
  reader_account_objects = {
    warehouse = { type = "WAREHOUSE", name = snowflake_warehouse.reader.name }
    database  = { type = "DATABASE", name = local.database }
  }
  reader_schema_objects = {
    table = { type = "TABLE", name = "${local.qualified_schema}.${var.names.table}" }
    view  = { type = "VIEW", name = "${local.qualified_schema}.${snowflake_view.dedup.name}" }
  }
}

resource "snowflake_grant_privileges_to_account_role" "reader_usage" {
  for_each = local.reader_account_objects

  account_role_name = snowflake_account_role.reader.name
  privileges        = ["USAGE"]

  on_account_object {
    object_type = each.value.type
    object_name = each.value.name
  }
}

resource "snowflake_grant_privileges_to_account_role" "reader_schema" {
  account_role_name = snowflake_account_role.reader.name
  privileges        = ["USAGE"]

  on_schema {
    schema_name = local.qualified_schema
  }
}

resource "snowflake_grant_privileges_to_account_role" "reader_select" {
  for_each = local.reader_schema_objects

  account_role_name = snowflake_account_role.reader.name
  privileges        = ["SELECT"]

  on_schema_object {
    object_type = each.value.type
    object_name = each.value.name
  }

  depends_on = [snowflake_execute.table]
}

# The post-deploy probe's identity: key-pair only (a SERVICE user has no password), the
# reader role by default. Created when a public key is given.
resource "snowflake_service_user" "probe" {
  count = var.probe_rsa_public_key == null ? 0 : 1

  name              = var.names.probe_user
  comment           = "rtstream: post-deploy probe (scripts/probe), read-only."
  default_role      = snowflake_account_role.reader.name
  default_warehouse = snowflake_warehouse.reader.name
  rsa_public_key    = var.probe_rsa_public_key
}

resource "snowflake_grant_account_role" "probe_reader" {
  count = var.probe_rsa_public_key == null ? 0 : 1

  role_name = snowflake_account_role.reader.name
  user_name = snowflake_service_user.probe[0].name
}

# Custom roles roll up to SYSADMIN, so the account's administrators hold what the reader
# can do. The deploying role owns the reader role, which is what granting it takes.
resource "snowflake_grant_account_role" "reader_to_sysadmin" {
  role_name        = snowflake_account_role.reader.name
  parent_role_name = "SYSADMIN"
}
