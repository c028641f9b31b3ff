"""The resources the local stack created are the ones config/pipeline.json describes, and the
ones Terraform declares (tests/terraform checks that Terraform reads the same config)."""

from __future__ import annotations

import sys

import pytest
from e2e_helpers import ROOT

from localstack import resources
from localstack.settings import PIPELINE

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
    for key, value in config["limits"].items():
        if key in env:
            assert environment[env[key]] == str(value)
    assert created["functions"][PIPELINE.names["transformer_function"]]["environment"] == {}


def test_the_delivery_stream_uses_the_config_prefixes_and_buffers(created):
    firehose = PIPELINE.firehose
    delivery = created["delivery_stream"]
    assert delivery["prefix"] == firehose["events_prefix_template"]
    assert delivery["error_output_prefix"] == firehose["error_output_prefix_template"]
    assert delivery["buffering"] == {
        "IntervalInSeconds": firehose["buffer_interval_seconds"],
        "SizeInMBs": firehose["buffer_size_mib"],
    }
    assert delivery["processor"]["LambdaArn"].endswith(f":function:{PIPELINE.names['transformer_function']}:$LATEST")
    assert delivery["processor"]["BufferSizeInMBs"] == str(firehose["processor_buffer_size_mib"])
    assert delivery["processor"]["BufferIntervalInSeconds"] == str(firehose["processor_buffer_interval_seconds"])


def test_the_pipe_hears_of_new_objects_under_the_events_prefix_only(created):
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

    delivery = _resource(hcl.load(MODULES / "delivery" / "main.tf"), "aws_kinesis_firehose_delivery_stream")
    s3 = hcl.as_map(delivery["extended_s3_configuration"])
    processor = hcl.as_map(hcl.as_map(s3["processing_configuration"])["processors"])
    declared = {hcl.as_map(p)["parameter_name"] for p in processor["parameters"]}
    assert declared == set(created["delivery_stream"]["processor"])
    assert "$LATEST" in hcl.compact(processor["parameters"])

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
