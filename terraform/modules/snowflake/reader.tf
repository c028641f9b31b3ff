# The read-only side: a role that may query the events and the monitoring views (and see the
# pipe's status) with the reader warehouse, granted to the probe's service user (and to any
# user you grant it). It cannot alter the pipe, the stage or the table.

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
  reader_schema_objects = merge(
    {
      table = { type = "TABLE", name = "${local.qualified_schema}.${var.names.table}" }
      view  = { type = "VIEW", name = "${local.qualified_schema}.${snowflake_view.dedup.name}" }
      # EVENTS_DEDUP needs no grant on the history it reads (a view runs with its owner's
      # rights); the duplicate check's view is read by people.
      dedup_slipped = { type = "VIEW", name = local.dedup_slipped_view }
    },
    { for key, view in snowflake_view.monitoring : key => { type = "VIEW", name = "${local.qualified_schema}.${view.name}" } },
    { for view in snowflake_view.freshness : "freshness" => { type = "VIEW", name = "${local.qualified_schema}.${view.name}" } },
  )
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

# SYSTEM$PIPE_STATUS answers the pipe's owner or a role with MONITOR on it: the pipe status and
# freshness views need it.
resource "snowflake_grant_privileges_to_account_role" "reader_monitor_pipe" {
  count = var.snowpipe_enabled ? 1 : 0

  account_role_name = snowflake_account_role.reader.name
  privileges        = ["MONITOR"]

  on_schema_object {
    object_type = "PIPE"
    object_name = "${local.qualified_schema}.${snowflake_pipe.events[0].name}"
  }
}

moved {
  from = snowflake_grant_privileges_to_account_role.reader_monitor_pipe
  to   = snowflake_grant_privileges_to_account_role.reader_monitor_pipe[0]
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
