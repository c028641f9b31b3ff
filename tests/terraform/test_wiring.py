"""How the modules are wired: notification, IAM, Lambdas, Snowflake trust."""

import hcl
from conftest import MODULES, TERRAFORM, tf_files


def resource(merged, directory, rtype, name):
    for found_type, found_name, body in hcl.typed_blocks(merged(directory), "resource"):
        if (found_type, found_name) == (rtype, name):
            return body
    raise AssertionError(f"no {rtype}.{name} in {directory.name}")


def module_call(merged, directory, name):
    return dict(hcl.blocks(merged(directory), "module"))[name]


def test_bucket_notification_targets_the_pipe_channel_on_events_prefix_only(merged):
    notification = resource(merged, MODULES / "snowflake", "aws_s3_bucket_notification", "snowpipe")
    assert set(notification) <= {"count", "bucket", "queue"}, "no topic or lambda notifications"
    assert notification["count"] == "${var.snowpipe_enabled ? 1 : 0}"
    (queue,) = notification["queue"]
    assert queue["queue_arn"] == "${snowflake_pipe.events[0].notification_channel}"
    assert queue["events"] == ["s3:ObjectCreated:*"]
    assert queue["filter_prefix"] == "${var.events_prefix}"
    root_call = module_call(merged, TERRAFORM, "snowflake")
    assert root_call["events_prefix"] == "${local.prefixes.events}"


def test_no_notification_on_processing_failed_prefix(parsed):
    for path, tree in parsed.items():
        for rtype, name, body in hcl.typed_blocks(tree, "resource"):
            if rtype == "aws_s3_bucket_notification":
                assert "processing" not in hcl.compact(body), f"{path.name}: {name}"


def test_pipe_auto_ingests_the_copy_file(merged):
    pipe = resource(merged, MODULES / "snowflake", "snowflake_pipe", "events")
    assert pipe["auto_ingest"] is True
    assert hcl.compact(pipe["copy_statement"]) == '${trimspace(templatefile("${var.sql_dir}/pipe_copy.sql",local.sql_vars))}'


def test_sql_dir_is_the_repository_snowflake_directory(merged):
    call = module_call(merged, TERRAFORM, "snowflake")
    assert call["sql_dir"] == "${path.module}/../snowflake"
    assert (TERRAFORM / "../snowflake/pipe_copy.sql").resolve().is_file()


def test_table_view_and_file_format_come_from_the_sql_files(merged):
    snowflake = MODULES / "snowflake"
    for rtype, name, attribute, filename, values in [
        ("snowflake_execute", "table", "execute", "table.sql", "sql_vars"),
        ("snowflake_execute", "file_format", "execute", "file_format.sql", "sql_vars"),
        ("snowflake_view", "dedup", "statement", "dedup_view.sql", "dedup_sql_vars"),
    ]:
        body = resource(merged, snowflake, rtype, name)
        assert f'templatefile("${{var.sql_dir}}/{filename}",local.{values})' in hcl.compact(body[attribute]), name


def test_storage_integration_role_arn_is_built_as_a_string(merged):
    snowflake = MODULES / "snowflake"
    integration = resource(merged, snowflake, "snowflake_storage_integration_aws", "this")
    assert integration["storage_aws_role_arn"] == "${local.storage_role_arn}"
    local_values = hcl.locals_of(merged(snowflake))
    prefix = hcl.compact(local_values["role_arn_prefix"])
    assert prefix.startswith("arn:") and prefix.endswith(":role/")
    assert "aws_iam_role." not in prefix + hcl.compact(local_values["storage_role_arn"])
    assert "${var.storage_role_name}" in local_values["storage_role_arn"]


def test_snowflake_role_trusts_the_integration_user_and_external_id(merged):
    # Which attributes hold the user and the external ID is the schema check's business
    # (a read of an optional input fails there) and terraform/tests/snowflake.tftest.hcl's.
    snowflake = MODULES / "snowflake"
    trust = next(body for t, n, body in hcl.typed_blocks(merged(snowflake), "data") if (t, n) == ("aws_iam_policy_document", "trust"))
    (statement,) = trust["statement"]
    (principal,) = statement["principals"]
    assert principal["identifiers"] == ["${each.value.iam_user_arn}"]
    (condition,) = statement["condition"]
    assert condition["variable"] == "sts:ExternalId"
    assert condition["values"] == ["${each.value.external_id}"]


def _policy_statements(parsed, skip_key_policy=True):
    """(file, document, statement) of every aws_iam_policy_document except the KMS key policy."""
    for path, tree in parsed.items():
        for rtype, name, body in hcl.typed_blocks(tree, "data"):
            if rtype != "aws_iam_policy_document" or (skip_key_policy and name == "kms"):
                continue
            for statement in body.get("statement", []):
                yield path, name, statement
            for dynamic in body.get("dynamic", []):
                for content in hcl.as_map(dynamic["statement"])["content"]:
                    yield path, name, content


def test_role_policies_name_no_wildcard_action(parsed):
    # Allow statements of role policies; the bucket policies' Deny s3:* over plain HTTP is fine.
    wildcards = [
        f"{path.relative_to(TERRAFORM)}: {name}: {statement['actions']}"
        for path, name, statement in _policy_statements(parsed)
        if statement.get("effect", "Allow") == "Allow"
        and "*" in hcl.compact(statement.get("actions", ""))
    ]
    assert not wildcards, wildcards


def test_lambda_function_module_rejects_wildcard_actions(merged):
    variables = dict(hcl.blocks(merged(MODULES / "lambda_function"), "variable"))
    (validation,) = variables["policy_statements"]["validation"]
    assert '!strcontains(a,"*")' in hcl.compact(validation["condition"])


def test_validator_may_only_put_records_and_write_rejections(merged):
    call = module_call(merged, MODULES / "api", "validator")
    statements = {s["sid"]: s for s in call["policy_statements"]}
    assert set(statements) == {"PutEvents", "WriteRejections", "EncryptWrites"}
    assert set(statements["PutEvents"]["actions"]) <= {"kinesis:PutRecords", "kinesis:PutRecord"}
    assert "kinesis:PutRecords" in statements["PutEvents"]["actions"]
    assert statements["PutEvents"]["resources"] == ["${var.stream_arn}"]
    assert statements["WriteRejections"]["actions"] == ["s3:PutObject"]
    assert statements["WriteRejections"]["resources"] == ["${var.error_bucket_arn}/${var.error_prefix}*"]
    assert statements["EncryptWrites"]["actions"] == ["kms:GenerateDataKey"]
    for statement in statements.values():
        assert not any("*" in action for action in statement["actions"])


def test_transformer_gets_no_permission_beyond_its_logs(merged):
    call = module_call(merged, MODULES / "delivery", "transformer")
    assert "policy_statements" not in call


def test_lambdas_run_cargo_lambda_zips(merged, config):
    function = resource(merged, MODULES / "lambda_function", "aws_lambda_function", "this")
    assert function["runtime"] == "provided.al2023"
    assert function["handler"] == "bootstrap"
    assert function["architectures"] == ["${var.architecture}"]
    assert function["filename"] == "${var.zip_path}"
    assert function["reserved_concurrent_executions"] == "${var.reserved_concurrency}"
    root_locals = hcl.locals_of(merged(TERRAFORM))
    for name in ["validator", "transformer"]:
        zip_path = hcl.compact(hcl.as_map(root_locals[name])["zip_path"])
        assert f"target/lambda/{name}/bootstrap.zip" in zip_path
        assert f"var.{name}_zip_path" in zip_path
    variables = dict(hcl.blocks(merged(TERRAFORM), "variable"))
    assert variables["lambda_architecture"]["default"] == "arm64"
    assert "validation" in variables["lambda_architecture"]


def test_each_lambda_has_a_log_group_with_retention(merged):
    log_group = resource(merged, MODULES / "lambda_function", "aws_cloudwatch_log_group", "this")
    assert log_group["name"] == "/aws/lambda/${var.name}"
    assert log_group["retention_in_days"] == "${var.log_retention_days}"


def test_api_is_a_keyed_lambda_proxy_post(merged):
    api = MODULES / "api"
    method = resource(merged, api, "aws_api_gateway_method", "post")
    assert method["http_method"] == "POST" and method["api_key_required"] is True
    integration = resource(merged, api, "aws_api_gateway_integration", "post")
    assert integration["type"] == "AWS_PROXY"
    assert integration["uri"] == "${module.validator.invoke_arn}"
    stage = resource(merged, api, "aws_api_gateway_stage", "this")
    assert "access_log_settings" in stage
    plan = resource(merged, api, "aws_api_gateway_usage_plan", "this")
    assert plan["throttle_settings"] and plan["quota_settings"]
    settings = hcl.as_map(resource(merged, api, "aws_api_gateway_method_settings", "all")["settings"])
    assert settings["throttling_rate_limit"] == "${var.throttle_rate_limit}"


def test_firehose_partitions_by_the_transformer_keys(merged):
    # The S3 modes' destination (test_delivery_modes.py checks the Snowflake one).
    firehose = resource(merged, MODULES / "delivery", "aws_kinesis_firehose_delivery_stream", "this")
    dynamic = {name: block for entry in firehose["dynamic"] for name, block in entry.items()}["extended_s3_configuration"]
    s3 = hcl.as_map(dynamic["content"])
    assert hcl.as_map(s3["dynamic_partitioning_configuration"])["enabled"] == "${var.dynamic_partitioning}"
    assert s3["prefix"] == "${extended_s3_configuration.value}"
    assert 'var.destination=="extended_s3"' in hcl.compact(dynamic["for_each"]) and "var.prefix" in hcl.compact(dynamic["for_each"])
    assert s3["error_output_prefix"] == "${var.error_output_prefix}"
    assert hcl.as_map(s3["cloudwatch_logging_options"])["enabled"] is True
    processor = hcl.as_map(hcl.as_map(s3["processing_configuration"])["processors"])
    assert processor["type"] == "Lambda"
    assert hcl.as_map(processor["dynamic"])["parameters"]["for_each"] == "${local.processor_parameters}"
    parameters = {p["name"]: p["value"] for p in hcl.locals_of(merged(MODULES / "delivery"))["processor_parameters"]}
    assert parameters["LambdaArn"] == "${module.transformer.function_arn}:$LATEST"


def test_buckets_are_hardened_alike(merged):
    storage = MODULES / "storage"
    kinds = {t for t, _, _ in hcl.typed_blocks(merged(storage), "resource")}
    assert {
        "aws_s3_bucket",
        "aws_s3_bucket_public_access_block",
        "aws_s3_bucket_server_side_encryption_configuration",
        "aws_s3_bucket_versioning",
        "aws_s3_bucket_lifecycle_configuration",
        "aws_s3_bucket_policy",
    } <= kinds
    for rtype, _, body in hcl.typed_blocks(merged(storage), "resource"):
        assert body.get("for_each") == "${local.buckets}", f"{rtype} must cover both buckets"
    sse = resource(merged, storage, "aws_s3_bucket_server_side_encryption_configuration", "this")
    default = hcl.as_map(hcl.as_map(sse["rule"])["apply_server_side_encryption_by_default"])
    assert default["sse_algorithm"] == "aws:kms"


def test_no_tf_file_configures_credentials():
    for path in tf_files():
        text = path.read_text()
        assert "access_key" not in text and "secret_key" not in text, path.name
