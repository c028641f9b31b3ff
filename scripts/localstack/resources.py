"""Creates, idempotently, the AWS resources Terraform declares — in MiniStack, with the same names,
prefixes and environment variables, all from config/pipeline.json — and describes what exists,
so the drift test can compare the emulator's state with the config."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from dataclasses import dataclass

from botocore.exceptions import ClientError

from .aws import client
from .settings import ACCOUNT_ID, LAMBDA_ZIPS, LOCAL, PIPELINE, REGION

# MiniStack does not evaluate IAM for data-plane calls; any well-formed role ARN will do.
ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/{PIPELINE.raw['name_prefix']}-local"
# Every body reaches the validator base64-encoded, whatever its type (as in terraform/modules/api).
BINARY_MEDIA_TYPES = ["*/*"]
# The Snowflake destination of terraform/modules/delivery: rows by column name, every record backed up.
DATA_LOADING_OPTION = "JSON_MAPPING"
S3_BACKUP_MODE = "AllData"


@dataclass(frozen=True)
class Endpoints:
    api_url: str
    api_key: str


def create_all(mode: str) -> Endpoints:
    """Creates whatever is missing and updates what changed (e.g. a rebuilt Lambda zip, another
    delivery mode)."""
    names = PIPELINE.names
    s3 = client("s3")
    for bucket in (names["data_bucket"], names["error_bucket"]):
        _ensure_bucket(s3, bucket)
    _ensure_stream()
    _ensure_pipe_notification(s3, PIPELINE.delivery(mode)["snowpipe"])
    _ensure_function("validator", PIPELINE.validator_environment(mode))
    transformer_arn = _ensure_function("transformer", transformer_environment(mode))
    _ensure_delivery_stream(mode, transformer_arn)
    return _ensure_api(_function_arn(names["validator_function"]))


def transformer_environment(mode: str) -> dict[str, str]:
    """As terraform/locals.tf builds it: the metrics namespace and the delivery mode."""
    return {
        PIPELINE.lambda_env_names["metrics_namespace"]: PIPELINE.expand(PIPELINE.raw["metrics"]["namespace"]),
        PIPELINE.delivery_mode_env: mode,
    }


def _ensure_bucket(s3, bucket: str) -> None:
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError:
        s3.create_bucket(Bucket=bucket)


def _ensure_stream() -> None:
    kinesis = client("kinesis")
    name = PIPELINE.names["stream"]
    try:
        kinesis.describe_stream_summary(StreamName=name)
    except kinesis.exceptions.ResourceNotFoundException:
        # One shard: MiniStack enforces no shard limits. (Mode and shard count are Terraform
        # variables, not config: an AWS deployment sizes them.)
        kinesis.create_stream(StreamName=name, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})


def pipe_queue_url() -> str:
    return client("sqs").create_queue(QueueName=PIPELINE.pipe_queue)["QueueUrl"]


def _ensure_pipe_notification(s3, snowpipe: bool) -> None:
    """In the S3 modes the data bucket tells the pipe's queue about every new object under the
    events prefix; without a pipe (snowpipe_streaming) there is no notification, as in Terraform."""
    if not snowpipe:
        s3.put_bucket_notification_configuration(Bucket=PIPELINE.names["data_bucket"], NotificationConfiguration={})
        return
    sqs = client("sqs")
    queue_arn = sqs.get_queue_attributes(QueueUrl=pipe_queue_url(), AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    s3.put_bucket_notification_configuration(
        Bucket=PIPELINE.names["data_bucket"],
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": queue_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": PIPELINE.prefixes["events"]}]}},
                }
            ]
        },
    )


def _function_arn(name: str) -> str:
    return PIPELINE.arn("lambda", f"function:{name}")


def _ensure_function(key: str, environment: dict[str, str]) -> str:
    """Creates `validator` or `transformer` from its cargo-lambda zip, or updates its code and
    configuration in place."""
    lam = client("lambda")
    name = PIPELINE.names[f"{key}_function"]
    code = LAMBDA_ZIPS[key].read_bytes()
    config = {
        "Runtime": "provided.al2023",
        "Handler": "bootstrap",
        "Role": ROLE_ARN,
        "Environment": {"Variables": environment},
        **PIPELINE.function_settings(key),
    }
    try:
        current = lam.get_function(FunctionName=name)["Configuration"]
    except lam.exceptions.ResourceNotFoundException:
        lam.create_function(FunctionName=name, Code={"ZipFile": code}, **config)
        return _function_arn(name)
    # Only what changed: every update restarts the function's warm environments.
    if current["CodeSha256"] != base64.b64encode(hashlib.sha256(code).digest()).decode():
        lam.update_function_code(FunctionName=name, ZipFile=code)
    if any(current.get(key) != value for key, value in config.items() if key != "Role"):
        lam.update_function_configuration(FunctionName=name, **config)
    return _function_arn(name)


def _processing(transformer_arn: str, delivery: dict) -> dict:
    """The transformer as the processor, the same in every destination (terraform/modules/delivery)."""
    return {
        "Enabled": True,
        "Processors": [
            {
                "Type": "Lambda",
                "Parameters": [
                    {"ParameterName": "LambdaArn", "ParameterValue": f"{transformer_arn}:$LATEST"},
                    {"ParameterName": "BufferSizeInMBs", "ParameterValue": str(delivery["processor_buffer_size_mib"])},
                    {
                        "ParameterName": "BufferIntervalInSeconds",
                        "ParameterValue": str(delivery["processor_buffer_interval_seconds"]),
                    },
                ],
            }
        ],
    }


def delivery_destination(mode: str, transformer_arn: str) -> tuple[str, dict]:
    """The destination Terraform gives the delivery stream in `mode` (terraform/modules/delivery):
    (its type as the Firehose API spells it, its configuration)."""
    delivery = PIPELINE.delivery(mode)
    names, prefixes = PIPELINE.names, PIPELINE.prefixes
    bucket_arn = PIPELINE.arn("s3", names["data_bucket"])
    buffering = {"IntervalInSeconds": delivery["buffer_interval_seconds"], "SizeInMBs": delivery["buffer_size_mib"]}
    error_prefix = PIPELINE.firehose["error_output_prefix_template"]
    if delivery["destination"] == "extended_s3":
        return "ExtendedS3", {
            "RoleARN": ROLE_ARN,
            "BucketARN": bucket_arn,
            "Prefix": delivery["events_prefix_template"],
            "ErrorOutputPrefix": error_prefix,
            "BufferingHints": buffering,
            "DynamicPartitioningConfiguration": {"Enabled": delivery["dynamic_partitioning"]},
            "ProcessingConfiguration": _processing(transformer_arn, delivery),
        }
    snowflake = PIPELINE.snowflake
    return "Snowflake", {
        # The local warehouse's server stands in for the account (the relay inserts the rows);
        # the path only makes the URL as long as the API's minimum (24).
        "AccountUrl": f"http://127.0.0.1:{LOCAL.warehouse_port}/local",
        "Database": snowflake["database"],
        "Schema": snowflake["schema"],
        "Table": snowflake["table"],
        "RoleARN": ROLE_ARN,
        "DataLoadingOption": DATA_LOADING_OPTION,
        "SnowflakeRoleConfiguration": {"Enabled": True, "SnowflakeRole": snowflake["streaming_role"]},
        "BufferingHints": buffering,
        "S3BackupMode": S3_BACKUP_MODE,
        "ProcessingConfiguration": _processing(transformer_arn, delivery),
        "S3Configuration": {
            "RoleARN": ROLE_ARN,
            "BucketARN": bucket_arn,
            "Prefix": delivery["backup_prefix_template"],
            "ErrorOutputPrefix": error_prefix,
            "BufferingHints": {"IntervalInSeconds": delivery["backup_buffer_interval_seconds"],
                               "SizeInMBs": delivery["backup_buffer_size_mib"]},
        },
    }


def _ensure_delivery_stream(mode: str, transformer_arn: str) -> None:
    """DirectPut, not KinesisStreamAsSource: MiniStack's own Kinesis-source fan-out is replaced by
    the Firehose relay (see firehose_relay.py), which reads this stream's destination."""
    firehose = client("firehose")
    name = PIPELINE.names["delivery_stream"]
    kind, destination = delivery_destination(mode, transformer_arn)
    try:
        described = described_delivery_stream()
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        firehose.create_delivery_stream(
            DeliveryStreamName=name,
            DeliveryStreamType="DirectPut",
            **{f"{kind}DestinationConfiguration": destination},
        )
        return
    current = described["Destinations"][0]
    now = current.get(f"{kind}DestinationDescription")
    if now is not None and all(now.get(key) == value for key, value in destination.items()):
        return
    if kind == "ExtendedS3" and now is not None:
        firehose.update_destination(
            DeliveryStreamName=name,
            CurrentDeliveryStreamVersionId=described["VersionId"],
            DestinationId=current["DestinationId"],
            ExtendedS3DestinationUpdate=destination,
        )
        return
    # Another destination type (or a changed Snowflake one) replaces the stream, as Terraform
    # replaces the Firehose stream (docs/deploy.md, "Switching the delivery mode").
    firehose.delete_delivery_stream(DeliveryStreamName=name)
    firehose.create_delivery_stream(
        DeliveryStreamName=name,
        DeliveryStreamType="DirectPut",
        **{f"{kind}DestinationConfiguration": destination},
    )


def _ensure_api(validator_arn: str) -> Endpoints:
    """REST API `POST /<api_path>` on stage `<api_stage>`, AWS_PROXY to the validator, API key
    required (enforced by MiniStack as by API Gateway)."""
    apigw = client("apigateway")
    names = PIPELINE.names
    api = next((item for item in apigw.get_rest_apis()["items"] if item["name"] == names["api"]), None)
    if api is None:
        api = apigw.create_rest_api(name=names["api"], binaryMediaTypes=BINARY_MEDIA_TYPES)
    api_id = api["id"]
    resources = apigw.get_resources(restApiId=api_id)["items"]
    events = next((r for r in resources if r.get("pathPart") == names["api_path"]), None)
    if events is None:
        root = next(r for r in resources if r["path"] == "/")
        events = apigw.create_resource(restApiId=api_id, parentId=root["id"], pathPart=names["api_path"])
        apigw.put_method(
            restApiId=api_id,
            resourceId=events["id"],
            httpMethod="POST",
            authorizationType="NONE",
            apiKeyRequired=True,
        )
        apigw.put_integration(
            restApiId=api_id,
            resourceId=events["id"],
            httpMethod="POST",
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{validator_arn}/invocations",
        )
        apigw.create_deployment(restApiId=api_id, stageName=names["api_stage"])
    return Endpoints(api_url=_api_url(api_id), api_key=_ensure_api_key(apigw, api_id))


def _api_url(api_id: str) -> str:
    # MiniStack's path-style execute-api address: any HTTP client reaches it, no DNS needed.
    names = PIPELINE.names
    return f"{LOCAL.endpoint}/_aws/execute-api/{api_id}/{names['api_stage']}/{names['api_path']}"


def _ensure_api_key(apigw, api_id: str) -> str:
    name = f"{PIPELINE.names['api']}-local"
    key = next((k for k in apigw.get_api_keys(includeValues=True)["items"] if k["name"] == name), None)
    if key is None:
        key = apigw.create_api_key(name=name, enabled=True)
        limits = PIPELINE.raw["api_usage_plan"]
        plan = apigw.create_usage_plan(
            name=name,
            apiStages=[{"apiId": api_id, "stage": PIPELINE.names["api_stage"]}],
            throttle={"rateLimit": limits["rate_limit"], "burstLimit": limits["burst_limit"]},
            quota={"limit": limits["quota_limit"], "period": limits["quota_period"]},
        )
        apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    return key["value"]


def describe() -> dict:
    """What exists in MiniStack, in the terms of config/pipeline.json (for the drift test)."""
    names = PIPELINE.names
    lam, apigw, s3 = client("lambda"), client("apigateway"), client("s3")
    functions = {
        names[key]: lam.get_function_configuration(FunctionName=names[key])
        for key in ("validator_function", "transformer_function")
    }
    delivery = described_delivery_stream()
    kind, destination = destination_of(delivery)
    api = next(item for item in apigw.get_rest_apis()["items"] if item["name"] == names["api"])
    resource = next(
        r for r in apigw.get_resources(restApiId=api["id"])["items"] if r.get("pathPart") == names["api_path"]
    )
    notification = s3.get_bucket_notification_configuration(Bucket=names["data_bucket"]).get("QueueConfigurations", [])
    return {
        "buckets": sorted(b["Name"] for b in s3.list_buckets()["Buckets"]),
        "streams": client("kinesis").list_streams()["StreamNames"],
        "functions": {
            name: {
                "runtime": config["Runtime"],
                "environment": config.get("Environment", {}).get("Variables", {}),
            }
            for name, config in functions.items()
        },
        "delivery_stream": {
            "name": delivery["DeliveryStreamName"],
            "kind": kind,
            "bucket_arn": (destination.get("S3Configuration") or destination)["BucketARN"],
            "prefix": destination.get("Prefix"),
            "backup_prefix": (destination.get("S3Configuration") or {}).get("Prefix"),
            "error_output_prefix": (destination.get("S3Configuration") or destination)["ErrorOutputPrefix"],
            "buffering": destination["BufferingHints"],
            "dynamic_partitioning": destination.get("DynamicPartitioningConfiguration", {}).get("Enabled", False),
            "processor": processor_parameters(destination),
        },
        "api": {
            "name": api["name"],
            "binary_media_types": api.get("binaryMediaTypes", []),
            "stages": [s["stageName"] for s in apigw.get_stages(restApiId=api["id"])["item"]],
            "path": resource["path"],
            "post_requires_api_key": apigw.get_method(
                restApiId=api["id"], resourceId=resource["id"], httpMethod="POST"
            ).get("apiKeyRequired", False),
        },
        "pipe_notification": [
            {
                "queue_arn": q["QueueArn"],
                "events": q["Events"],
                "prefix": next(r["Value"] for r in q["Filter"]["Key"]["FilterRules"] if r["Name"].lower() == "prefix"),
            }
            for q in notification
        ],
    }


def described_delivery_stream(firehose=None) -> dict:
    """DescribeDeliveryStream's DeliveryStreamDescription as MiniStack sends it. MiniStack echoes
    a Snowflake destination's configuration under the request's names, so botocore's parser would
    drop its S3Configuration (the API answers S3DestinationDescription): read the raw body."""
    firehose = firehose or client("firehose")
    raw: dict[str, bytes] = {}

    def keep(response_dict, **_):
        raw["body"] = response_dict["body"]

    event = "before-parse.firehose.DescribeDeliveryStream"
    firehose.meta.events.register(event, keep)
    try:
        firehose.describe_delivery_stream(DeliveryStreamName=PIPELINE.names["delivery_stream"])
    finally:
        firehose.meta.events.unregister(event, keep)
    return json.loads(raw["body"])["DeliveryStreamDescription"]


def destination_of(described: dict) -> tuple[str, dict]:
    """(ExtendedS3 or Snowflake, its description) of a described delivery stream."""
    (destination,) = described["Destinations"]
    for kind in ("ExtendedS3", "Snowflake"):
        if f"{kind}DestinationDescription" in destination:
            return kind, destination[f"{kind}DestinationDescription"]
    raise LookupError(f"the delivery stream's destination is neither ExtendedS3 nor Snowflake: {list(destination)}")


def processor_parameters(destination: dict) -> dict[str, str]:
    """The parameters of the Lambda processor of a described destination."""
    (processor,) = [p for p in destination["ProcessingConfiguration"]["Processors"] if p["Type"] == "Lambda"]
    return {p["ParameterName"]: p["ParameterValue"] for p in processor["Parameters"]}


def wait_until_active(timeout: float = 60.0) -> None:
    """Waits until both functions report State=Active (MiniStack activates them asynchronously)."""
    lam = client("lambda")
    deadline = time.monotonic() + timeout
    for key in ("validator_function", "transformer_function"):
        while lam.get_function_configuration(FunctionName=PIPELINE.names[key]).get("State", "Active") != "Active":
            if time.monotonic() > deadline:
                raise TimeoutError(f"{PIPELINE.names[key]} did not become Active")
            time.sleep(0.2)

