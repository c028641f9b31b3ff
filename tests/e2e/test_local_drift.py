"""The resources the local stack created are the ones config/pipeline.json describes, and the
ones Terraform declares (tests/terraform checks that Terraform reads the same config), in the
delivery mode the stack runs (`scripts/local up --mode`; the suite runs in the default mode and
tests/e2e/test_modes.py in each)."""

from __future__ import annotations

import sys

import pytest
from e2e_helpers import ROOT

from localstack import resources
from localstack.settings import LOCAL, PIPELINE

sys.path.insert(0, str(ROOT / "tests" / "terraform"))
import hcl  # noqa: E402  (tests/terraform's loader of .tf files)

MODULES = ROOT / "terraform" / "modules"


@pytest.fixture(scope="module")
def created(api) -> dict:
    return resources.describe()


def test_names_come_from_the_config(created):
    names = PIPELINE.names
    assert {names["data_bucket"], names["error_bucket"]} <= set(created["buckets"])
    assert created["streams"] == [names["stream"]]
    assert set(created["functions"]) == {names["validator_function"], names["transformer_function"]}
    assert created["delivery_stream"]["name"] == names["delivery_stream"]
    assert created["delivery_stream"]["bucket_arn"] == f"arn:aws:s3:::{names['data_bucket']}"
    assert created["api"]["name"] == names["api"]
    assert created["api"]["stages"] == [names["api_stage"]]
    assert created["api"]["path"] == f"/{names['api_path']}"


def test_the_validator_environment_is_lambda_env_of_the_config(created):
    config = PIPELINE.raw
    environment = created["functions"][PIPELINE.names["validator_function"]]["environment"]
    # Every variable but the schema directory, which is the Lambda's default locally.
    assert set(environment) == set(config["lambda_env"].values()) - {config["lambda_env"]["schema_dir"]}
    env = config["lambda_env"]
    assert environment[env["stream_name"]] == PIPELINE.names["stream"]
    assert environment[env["error_bucket"]] == PIPELINE.names["error_bucket"]
    assert environment[env["error_prefix"]] == PIPELINE.prefixes["errors"]
    assert environment[env["delivery_mode"]] == LOCAL.delivery_mode
    for key, value in config["limits"].items():
        if key in env:
            assert environment[env[key]] == str(value)


def test_the_transformer_environment_is_the_metrics_namespace_and_the_delivery_mode(created):
    environment = created["functions"][PIPELINE.names["transformer_function"]]["environment"]
    assert environment == {
        PIPELINE.lambda_env_names["metrics_namespace"]: PIPELINE.expand(PIPELINE.raw["metrics"]["namespace"]),
        PIPELINE.raw["delivery_modes"]["transformer_env"]: LOCAL.delivery_mode,
    }


def test_the_delivery_stream_is_the_modes_with_the_config_prefixes_and_buffers(created):
    mode = PIPELINE.delivery(LOCAL.delivery_mode)
    delivery = created["delivery_stream"]
    assert delivery["kind"] == {"extended_s3": "ExtendedS3", "snowflake": "Snowflake"}[mode["destination"]]
    if mode["destination"] == "extended_s3":
        assert delivery["prefix"] == mode["events_prefix_template"] and delivery["backup_prefix"] is None
        assert delivery["dynamic_partitioning"] is mode["dynamic_partitioning"]
    else:
        assert delivery["prefix"] is None and delivery["backup_prefix"] == mode["backup_prefix_template"]
    assert delivery["error_output_prefix"] == PIPELINE.firehose["error_output_prefix_template"]
    assert delivery["buffering"] == {
        "IntervalInSeconds": mode["buffer_interval_seconds"],
        "SizeInMBs": PIPELINE.firehose["buffer_size_mib"],
    }
    assert delivery["processor"]["LambdaArn"].endswith(f":function:{PIPELINE.names['transformer_function']}:$LATEST")
    assert delivery["processor"]["BufferSizeInMBs"] == str(mode["processor_buffer_size_mib"])
    assert delivery["processor"]["BufferIntervalInSeconds"] == str(mode["processor_buffer_interval_seconds"])


def test_the_pipe_hears_of_new_objects_under_the_events_prefix_only(created):
    if not PIPELINE.delivery(LOCAL.delivery_mode)["snowpipe"]:
        assert created["pipe_notification"] == [], "no pipe in this mode: nothing to notify"
        return
    (notification,) = created["pipe_notification"]
    assert notification["events"] == ["s3:ObjectCreated:*"]
    assert notification["prefix"] == PIPELINE.prefixes["events"]


def test_what_terraform_declares_beyond_the_config_matches(created):
    """The settings not in config/pipeline.json that the local stack restates from Terraform."""
    api = hcl.load(MODULES / "api" / "main.tf")
    rest_api = _resource(api, "aws_api_gateway_rest_api")
    assert rest_api["binary_media_types"] == created["api"]["binary_media_types"] == resources.BINARY_MEDIA_TYPES
    assert _resource(api, "aws_api_gateway_method")["api_key_required"] is created["api"]["post_requires_api_key"] is True
    assert _resource(api, "aws_api_gateway_integration")["type"] == "AWS_PROXY"

    delivery_module = hcl.load(MODULES / "delivery" / "main.tf")
    delivery = _resource(delivery_module, "aws_kinesis_firehose_delivery_stream")
    destinations = {name: hcl.as_map(block["content"]) for entry in delivery["dynamic"] for name, block in entry.items()}
    # The same processor in every destination: the module's local, LambdaArn at $LATEST.
    for destination in ("extended_s3_configuration", "snowflake_configuration"):
        processor = hcl.as_map(hcl.as_map(destinations[destination]["processing_configuration"])["processors"])
        assert hcl.as_map(processor["dynamic"])["parameters"]["for_each"] == "${local.processor_parameters}"
    (module_locals,) = [entry for entry in delivery_module["locals"] if "processor_parameters" in entry]
    declared = {p["name"]: p["value"] for p in module_locals["processor_parameters"]}
    assert set(declared) == set(created["delivery_stream"]["processor"])
    assert declared["LambdaArn"].endswith(":$LATEST")
    snowflake_destination = destinations["snowflake_configuration"]
    assert snowflake_destination["data_loading_option"] == "JSON_MAPPING" == resources.DATA_LOADING_OPTION
    assert snowflake_destination["s3_backup_mode"] == "AllData" == resources.S3_BACKUP_MODE

    lambda_function = _resource(hcl.load(MODULES / "lambda_function" / "main.tf"), "aws_lambda_function")
    assert {created["functions"][name]["runtime"] for name in created["functions"]} == {lambda_function["runtime"]}

    snowflake = MODULES / "snowflake"
    stage = _resource(hcl.load(snowflake / "stage.tf"), "snowflake_stage_external_s3")
    # The loader names files relative to the events prefix: the stage's URL must end there.
    assert hcl.compact(stage["url"]).endswith("/${var.events_prefix}")
    notification = hcl.as_map(_resource(hcl.load(snowflake / "notification.tf"), "aws_s3_bucket_notification")["queue"])
    assert notification["events"] == created["pipe_notification"][0]["events"]
    assert notification["filter_prefix"] == "${var.events_prefix}"


def _resource(tree: dict, resource_type: str) -> dict:
    (body,) = [body for rtype, _, body in hcl.typed_blocks(tree, "resource") if rtype == resource_type]
    return body
