"""The delivery modes of issue 10 (docs/latency.md, "Decisions for the delivery modes"): one root
variable, each mode's settings from config/pipeline.json delivery_modes, each mode's resources only
in that mode, the same EVENTS in every mode. terraform/tests/delivery_modes.tftest.hcl plans each
mode with mocked providers in GitHub Actions."""

import re

import pytest

import hcl
from conftest import MODULES, TERRAFORM, tf_files

DELIVERY = MODULES / "delivery"
SNOWFLAKE = MODULES / "snowflake"
OBSERVABILITY = MODULES / "observability"
MODES = ["snowpipe", "snowpipe_fresh", "snowpipe_streaming"]
# What exists only with the pipe (the S3 modes): the objects and the addresses they had before.
SNOWPIPE_OBJECTS = [
    ("snowflake_storage_integration_aws", "this"),
    ("snowflake_stage_external_s3", "events"),
    ("snowflake_pipe", "events"),
    ("aws_s3_bucket_notification", "snowpipe"),
    ("snowflake_view", "freshness"),
    ("snowflake_grant_privileges_to_account_role", "reader_monitor_pipe"),
]
STREAMING_FILES = ["streaming_role.tf", "streaming_user.tf"]


def resources(merged, directory):
    return {(rtype, name): body for rtype, name, body in hcl.typed_blocks(merged(directory), "resource")}


def dynamic_blocks(body):
    return {name: block for entry in body.get("dynamic", []) for name, block in entry.items()}


@pytest.fixture(scope="module")
def modes(config):
    return config["delivery_modes"]["modes"]


def effective(config, mode, key):
    """A mode's setting; null means the firehose block's (config _comment)."""
    value = config["delivery_modes"]["modes"][mode][key]
    return config["firehose"][key] if value is None else value


def test_the_variable_offers_exactly_the_configured_modes(merged, modes):
    variable = dict(hcl.blocks(merged(TERRAFORM), "variable"))["delivery_mode"]
    assert variable["type"] == "${string}" and variable["default"] == "snowpipe"
    (validation,) = variable["validation"]
    offered = re.findall(r'"(\w+)"', hcl.compact(validation["condition"]))
    assert offered == MODES == list(modes)
    for environment in ["dev", "prod"]:
        assert hcl.load(TERRAFORM / "env" / f"{environment}.tfvars")["delivery_mode"] == "snowpipe", environment


@pytest.mark.parametrize("mode", MODES)
def test_each_mode_is_consistent(config, mode):
    settings = config["delivery_modes"]["modes"][mode]
    events, backup = config["prefixes"]["events"], config["prefixes"]["backup"]
    interval = effective(config, mode, "buffer_interval_seconds")
    if settings["destination"] == "extended_s3":
        # Snowpipe loads what Firehose writes under events/: nothing else to back up.
        assert settings["snowpipe"] is True and settings["backup_prefix_template"] is None
        prefix = effective(config, mode, "events_prefix_template")
        assert prefix.startswith(events)
        if settings["dynamic_partitioning"]:
            assert "!{partitionKeyFromLambda:" in prefix and 60 <= interval <= 900
        else:
            assert "partitionKey" not in prefix and 0 <= interval <= 900
    else:
        assert settings["destination"] == "snowflake"
        # No pipe: it would load the backup a second time; the backup is the archive.
        assert settings["snowpipe"] is False and settings["dynamic_partitioning"] is False
        assert settings["events_prefix_template"] is None
        template = settings["backup_prefix_template"]
        assert template.startswith(backup) and not template.startswith(events) and not backup.startswith(events)
        assert interval == 0, "Snowpipe Streaming's point is seconds: zero buffering, set explicitly"
    assert 0 <= effective(config, mode, "processor_buffer_interval_seconds") <= 900
    assert 0.2 <= effective(config, mode, "processor_buffer_size_mib") <= 3
    # The alarm floor of modules/observability: twice the buffering interval, at least 10 s.
    assert settings["freshness_alarm_seconds"] >= max(10, 2 * interval)


def test_the_faster_modes_use_the_short_processor_interval(config):
    # docs/latency.md: both faster modes' models assume the processor interval at 1 s.
    for mode in ["snowpipe_fresh", "snowpipe_streaming"]:
        assert effective(config, mode, "processor_buffer_interval_seconds") == 1, mode


def test_mode_settings_are_read_from_the_config(merged):
    root = hcl.locals_of(merged(TERRAFORM))
    assert hcl.compact(root["delivery_mode"]) == "${local.config.delivery_modes.modes[var.delivery_mode]}"
    delivery = hcl.compact(root["delivery"])
    for key in [
        "destination",
        "dynamic_partitioning",
        "events_prefix_template",
        "backup_prefix_template",
        "buffer_interval_seconds",
        "processor_buffer_interval_seconds",
        "processor_buffer_size_mib",
        "backup_buffer_interval_seconds",
        "backup_buffer_size_mib",
    ]:
        assert f"local.delivery_mode.{key}" in delivery, key
    calls = dict(hcl.blocks(merged(TERRAFORM), "module"))
    assert calls["delivery"]["destination"] == "${local.delivery.destination}"
    assert calls["delivery"]["backup_prefix"] == "${local.delivery.backup_prefix}"
    for name in ("backup_buffering_interval_seconds", "backup_buffering_size_mib"):
        assert calls["delivery"][name] == f"${{local.delivery.{name}}}"
    assert calls["snowflake"]["snowpipe_enabled"] == "${local.delivery_mode.snowpipe}"
    assert hcl.compact(calls["snowflake"]["streaming_rsa_public_key"]) == (
        '${local.delivery.destination=="snowflake"?var.snowflake_streaming_rsa_public_key:None}'
    )
    observability = hcl.as_map(calls["observability"]["delivery"])
    assert observability["freshness_seconds"] == "${local.delivery_mode.freshness_alarm_seconds}"
    assert observability["destination"] == "${local.delivery.destination}"


def test_no_mode_setting_is_typed_into_terraform(config):
    block = config["delivery_modes"]
    literals = {block["transformer_env"]} | {
        value for mode in block["modes"].values() for key, value in mode.items() if key.endswith("_template") and value
    }
    for path in tf_files():
        code = "\n".join(line.split("#", 1)[0] for line in path.read_text().splitlines())
        typed = [value for value in literals if value in code]
        assert not typed, f"{path.relative_to(TERRAFORM)} types {typed}"


def test_the_transformer_is_told_the_mode(merged):
    root = hcl.locals_of(merged(TERRAFORM))
    # python-hcl2 reads the parenthesised key (an expression, not a literal name) as its text.
    assert hcl.compact(root["transformer_delivery_mode_environment"]) == (
        '[{"local.config.delivery_modes.transformer_env":"${var.delivery_mode}"}]'
    )
    assert "local.transformer_delivery_mode_environment" in hcl.compact(root["transformer_environment"])


def test_the_backup_is_checked_to_stay_outside_events(merged):
    checks = dict(hcl.blocks(merged(TERRAFORM), "check"))
    (assertion,) = checks["backup_outside_events"]["assert"]
    condition = hcl.compact(assertion["condition"])
    assert "startswith(local.delivery.backup_prefix,local.prefixes.backup)" in condition
    assert "!startswith(local.delivery.backup_prefix,local.prefixes.events)" in condition


# --- the Snowflake module ----------------------------------------------------------------


@pytest.mark.parametrize("address", SNOWPIPE_OBJECTS, ids=lambda a: ".".join(a))
def test_snowpipe_objects_exist_only_with_the_pipe_and_keep_their_state(merged, address):
    body = resources(merged, SNOWFLAKE)[address]
    assert hcl.compact(body["count"]) == "${var.snowpipe_enabled?1:0}", address
    moves = {(move["from"], move["to"]) for move in merged(SNOWFLAKE).get("moved", [])}
    rtype, name = address
    assert (f"${{{rtype}.{name}}}", f"${{{rtype}.{name}[0]}}") in moves, f"no moved block for {address}: its deployed object would be replaced"


def test_the_storage_role_and_the_pipe_views_follow_the_pipe(merged):
    roles = hcl.compact(hcl.locals_of(merged(SNOWFLAKE))["snowflake_roles"])
    assert roles.startswith("${merge(var.snowpipe_enabled?{\"storage\":")
    check = resources(merged, SNOWFLAKE)[("snowflake_task", "freshness_check")]
    assert "var.snowpipe_enabled" in hcl.compact(check["count"])
    monitoring = resources(merged, SNOWFLAKE)[("snowflake_view", "monitoring")]
    assert "var.snowpipe_enabled||!view.pipe" in hcl.compact(monitoring["for_each"])


def test_the_table_and_its_containers_never_depend_on_the_mode(merged):
    found = resources(merged, SNOWFLAKE)
    table = found[("snowflake_execute", "table")]
    assert "count" not in table and hcl.as_map(table["lifecycle"])["prevent_destroy"] is True
    for address in [("snowflake_database", "this"), ("snowflake_schema", "this")]:
        assert hcl.compact(found[address]["count"]) == "${var.create_database?1:0}", address
        assert hcl.as_map(found[address]["lifecycle"])["prevent_destroy"] is True
    for address in [("snowflake_view", "dedup"), ("snowflake_stream_on_table", "dedup_changes"), ("snowflake_task", "dedup_merge")]:
        assert "count" not in found[address] and "for_each" not in found[address], address


def test_streaming_objects_exist_only_with_the_streaming_key(parsed, merged):
    assert hcl.compact(hcl.locals_of(merged(SNOWFLAKE))["streaming_enabled"]) == "${var.streaming_rsa_public_key!=None}"
    found = []
    for name in STREAMING_FILES:
        for rtype, resource_name, body in hcl.typed_blocks(parsed[SNOWFLAKE / name], "resource"):
            assert hcl.compact(body["count"]) == "${local.streaming_enabled?1:0}", (rtype, resource_name)
            found.append(rtype)
    assert {"snowflake_account_role", "snowflake_service_user", "snowflake_grant_privileges_to_account_role"} <= set(found)
    user = resources(merged, SNOWFLAKE)[("snowflake_service_user", "streaming")]
    assert user["rsa_public_key"] == "${var.streaming_rsa_public_key}"
    assert user["default_role"] == "${snowflake_account_role.streaming[0].name}"
    assert "password" not in user


def test_the_streaming_role_may_only_insert_into_the_table(merged):
    grants = [
        (name, body)
        for (rtype, name), body in resources(merged, SNOWFLAKE).items()
        if rtype == "snowflake_grant_privileges_to_account_role" and "snowflake_account_role.streaming" in hcl.compact(body)
    ]
    assert grants
    by_privilege = {}
    for name, body in grants:
        assert body["account_role_name"] == "${snowflake_account_role.streaming[0].name}", name
        assert not {"all_privileges", "with_grant_option", "on_account"} & set(body), name
        (privilege,) = body["privileges"]
        by_privilege.setdefault(privilege, []).append(body)
    assert set(by_privilege) == {"USAGE", "INSERT"}, by_privilege.keys()
    (insert,) = by_privilege["INSERT"]
    target = hcl.as_map(insert["on_schema_object"])
    assert target == {"object_type": "TABLE", "object_name": "${local.qualified_schema}.${var.names.table}"}
    usage = sorted(hcl.compact({k: v for k, v in body.items() if k.startswith("on_")}) for body in by_privilege["USAGE"])
    assert usage == sorted([
        '{"on_account_object":[{"object_type":"DATABASE","object_name":"${local.database}"}]}',
        '{"on_schema":[{"schema_name":"${local.qualified_schema}"}]}',
    ])
    # The role goes to the streaming user and rolls up to SYSADMIN, nowhere else.
    role_grants = [
        body for (rtype, _), body in resources(merged, SNOWFLAKE).items()
        if rtype == "snowflake_grant_account_role" and "streaming" in body["role_name"]
    ]
    assert sorted(body.get("user_name", body.get("parent_role_name")) for body in role_grants) == [
        "${snowflake_service_user.streaming[0].name}",
        "SYSADMIN",
    ]


# --- the delivery module -----------------------------------------------------------------


def test_each_destination_block_exists_only_for_its_destination(merged):
    firehose = resources(merged, DELIVERY)[("aws_kinesis_firehose_delivery_stream", "this")]
    assert firehose["destination"] == "${var.destination}"
    assert not {"extended_s3_configuration", "snowflake_configuration"} & set(firehose), "static destination blocks"
    blocks = dynamic_blocks(firehose)
    assert set(blocks) == {"extended_s3_configuration", "snowflake_configuration"}
    assert 'var.destination=="extended_s3"' in hcl.compact(blocks["extended_s3_configuration"]["for_each"])
    assert 'var.destination=="snowflake"' in hcl.compact(blocks["snowflake_configuration"]["for_each"])


def test_the_snowflake_destination_is_snowpipe_streaming_with_a_full_backup(merged):
    firehose = resources(merged, DELIVERY)[("aws_kinesis_firehose_delivery_stream", "this")]
    snowflake = hcl.as_map(dynamic_blocks(firehose)["snowflake_configuration"]["content"])
    assert snowflake["data_loading_option"] == "JSON_MAPPING"
    assert snowflake["s3_backup_mode"] == "AllData"
    assert snowflake["buffering_interval"] == "${var.buffering_interval_seconds}"
    assert "user" not in snowflake and "private_key" not in snowflake and "key_passphrase" not in snowflake
    secrets = hcl.as_map(snowflake["secrets_manager_configuration"])
    assert secrets["enabled"] is True and secrets["secret_arn"] == "${aws_secretsmanager_secret.snowflake[0].arn}"
    role = hcl.as_map(snowflake["snowflake_role_configuration"])
    assert role["enabled"] is True
    backup = hcl.as_map(snowflake["s3_configuration"])
    assert backup["prefix"] == "${var.backup_prefix}"
    assert backup["buffering_interval"] == "${var.backup_buffering_interval_seconds}"
    assert backup["buffering_size"] == "${var.backup_buffering_size_mib}"
    assert backup["error_output_prefix"] == "${var.error_output_prefix}"
    assert backup["kms_key_arn"] == "${var.kms_key_arn}"
    assert hcl.as_map(snowflake["cloudwatch_logging_options"])["enabled"] is True
    processors = hcl.as_map(hcl.as_map(snowflake["processing_configuration"])["processors"])
    assert processors["type"] == "Lambda"
    assert dynamic_blocks(processors)["parameters"]["for_each"] == "${local.processor_parameters}"


def test_the_secret_is_encrypted_and_never_given_a_value_by_terraform(merged, parsed):
    secret = resources(merged, DELIVERY)[("aws_secretsmanager_secret", "snowflake")]
    assert hcl.compact(secret["count"]) == '${var.destination=="snowflake"?1:0}'
    assert secret["kms_key_id"] == "${var.kms_key_arn}"
    versions = [path for path, tree in parsed.items() for rtype, _, _ in hcl.typed_blocks(tree, "resource") if rtype == "aws_secretsmanager_secret_version"]
    assert not versions, "the private key would be in the state and the plan"
    root_variables = {name for name, _ in hcl.blocks(merged(TERRAFORM), "variable")}
    assert not [name for name in root_variables if "private" in name or "secret" in name]


def test_firehose_reads_only_its_own_secret(merged):
    policy = next(body for dtype, name, body in hcl.typed_blocks(merged(DELIVERY), "data") if (dtype, name) == ("aws_iam_policy_document", "firehose"))
    statement = dynamic_blocks(policy)["statement"]
    assert statement["for_each"] == "${aws_secretsmanager_secret.snowflake}"
    content = hcl.as_map(statement["content"])
    assert content["actions"] == ["secretsmanager:GetSecretValue"]
    assert content["resources"] == ["${statement.value.arn}"]
    every_action = hcl.compact(policy)
    assert every_action.count("secretsmanager:") == 1


def test_the_module_validates_destination_and_settings_together(merged):
    variables = dict(hcl.blocks(merged(DELIVERY), "variable"))
    assert re.findall(r'"(\w+)"', hcl.compact(variables["destination"]["validation"][0]["condition"])) == ["extended_s3", "snowflake"]
    for name in ["prefix", "backup_prefix", "snowflake"]:
        conditions = " ".join(hcl.compact(v["condition"]) for v in variables[name]["validation"])
        assert "var.destination" in conditions, f"{name} is not validated against the destination"
    for name in ["buffering_interval_seconds", "buffering_size_mib"]:
        assert "var.dynamic_partitioning" in hcl.compact(variables[name]["validation"][0]["condition"]), name


# --- alarms and the deploy role -------------------------------------------------------------


def test_the_freshness_default_follows_the_mode(merged):
    thresholds = dict(hcl.blocks(merged(OBSERVABILITY), "variable"))["thresholds"]
    assert '"firehose_freshness_seconds":"${optional(number)}"' in hcl.compact(thresholds["type"])
    alarm_locals = hcl.locals_of(merged(OBSERVABILITY))
    assert hcl.compact(alarm_locals["firehose_freshness_seconds"]) == (
        "${coalesce(var.thresholds.firehose_freshness_seconds,var.delivery.freshness_seconds)}"
    )
    delivery = hcl.compact(alarm_locals["delivery"])
    assert '"metric_prefix":"DeliveryToS3"' in delivery and '"metric_prefix":"DeliveryToSnowflake"' in delivery
    assert delivery.endswith("[var.delivery.destination]}")


def test_the_deploy_role_manages_secrets_without_reading_them(merged):
    bootstrap = TERRAFORM / "bootstrap"
    documents = {name: body for dtype, name, body in hcl.typed_blocks(merged(bootstrap), "data") if dtype == "aws_iam_policy_document"}
    statements = {s.get("sid"): s for s in documents["deploy_services"]["statement"]}
    manage = statements["ManageDeploymentSecrets"]
    assert all(action.startswith("secretsmanager:") for action in manage["actions"])
    assert not {"secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:BatchGetSecretValue"} & set(manage["actions"])
    assert manage["resources"] == ["${local.arn_prefix.secretsmanager}:secret:${var.name_prefix}-*"]
    denied = {s.get("sid"): s for s in documents["deny_data_reads"]["statement"]}["DenyParametersAndSecrets"]
    assert "secretsmanager:GetSecretValue" in denied["actions"]
    boundary = {s.get("sid"): s for s in documents["workload_boundary"]["statement"]}["ReadTheSnowflakeSecret"]
    assert boundary["actions"] == ["secretsmanager:GetSecretValue"]
    assert boundary["resources"] == manage["resources"]
