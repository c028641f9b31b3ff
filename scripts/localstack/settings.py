"""Everything the local stack names, derived from config/pipeline.json (never restated here),
plus the local-only facts: ports, the `.local/` layout, the emulator's fake account."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIG_PATH = ROOT / "config" / "pipeline.json"
SNOWFLAKE_SQL_DIR = ROOT / "snowflake"
LAMBDA_ZIPS = {name: ROOT / "target" / "lambda" / name / "bootstrap.zip" for name in ("validator", "transformer")}

# MiniStack accepts any credentials; these only have to be well-formed.
REGION = "us-east-1"
ACCOUNT_ID = "000000000000"
CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}


@dataclass(frozen=True)
class Pipeline:
    """config/pipeline.json with its `{prefix}` names expanded."""

    raw: dict

    @classmethod
    def load(cls, path: Path = CONFIG_PATH) -> "Pipeline":
        return cls(json.loads(path.read_text()))

    @cached_property
    def names(self) -> dict[str, str]:
        return {key: self.expand(value) for key, value in self.raw["names"].items()}

    @property
    def prefixes(self) -> dict[str, str]:
        return self.raw["prefixes"]

    @property
    def firehose(self) -> dict:
        return self.raw["firehose"]

    @property
    def delivery_modes(self) -> list[str]:
        return list(self.raw["delivery_modes"]["modes"])

    @property
    def delivery_mode_env(self) -> str:
        """The transformer's environment variable that selects its output (also the local stack's)."""
        return self.raw["delivery_modes"]["transformer_env"]

    def delivery(self, mode: str) -> dict:
        """A delivery mode's settings with its nulls filled from the firehose block, as
        terraform/locals.tf fills them."""
        if mode not in self.raw["delivery_modes"]["modes"]:
            raise ValueError(f"unknown delivery mode {mode!r}: one of {', '.join(self.delivery_modes)}")
        settings = self.raw["delivery_modes"]["modes"][mode]
        return {**self.firehose, **{key: value for key, value in settings.items() if value is not None}}

    @cached_property
    def snowflake(self) -> dict[str, str]:
        return {key: self.expand(value) for key, value in self.raw["snowflake"].items()}

    def expand(self, template: str) -> str:
        """A name template of the config: {prefix} as is, {PREFIX} as a Snowflake identifier
        (the same rule as terraform/locals.tf)."""
        prefix = self.raw["name_prefix"]
        return template.replace("{prefix}", prefix).replace("{PREFIX}", prefix.upper().replace("-", "_"))

    @property
    def lambda_env_names(self) -> dict[str, str]:
        return self.raw["lambda_env"]

    @cached_property
    def pipe_queue(self) -> str:
        # On AWS the pipe's queue belongs to Snowflake (the pipe's notification channel) and has
        # no name of ours; locally it needs one, derived from the pipe's.
        return f"{self.raw['name_prefix']}-{self.snowflake['pipe'].lower().replace('_', '-')}"

    def validator_environment(self, mode: str | None = None) -> dict[str, str]:
        """The validator's environment, built as terraform/locals.tf builds it: every variable of
        `lambda_env`, valued from `limits`, the names and the delivery mode (Terraform's default
        when not given; it decides packing). One exception: the schema directory is
        left to the Lambda's default, `$LAMBDA_TASK_ROOT/schemas` (Terraform spells it
        /var/task/schemas, the task root on AWS; MiniStack unpacks the zip elsewhere)."""
        settings = {
            **self.raw["limits"],
            "delivery_mode": mode or DEFAULT_DELIVERY_MODE,
            "stream_name": self.names["stream"],
            "error_bucket": self.names["error_bucket"],
            "error_prefix": self.prefixes["errors"],
            "metrics_namespace": self.expand(self.raw["metrics"]["namespace"]),
        }
        return {env: str(settings[key]) for key, env in self.lambda_env_names.items() if key != "schema_dir"}

    def function_settings(self, key: str) -> dict[str, int]:
        """Memory and timeout of `validator` or `transformer` (config `lambda`)."""
        settings = self.raw["lambda"][key]
        return {"MemorySize": settings["memory_mb"], "Timeout": settings["timeout_seconds"]}

    def arn(self, service: str, resource: str) -> str:
        if service == "s3":
            return f"arn:aws:s3:::{resource}"
        return f"arn:aws:{service}:{REGION}:{ACCOUNT_ID}:{resource}"


DEFAULT_DELIVERY_MODE = "snowpipe"  # Terraform's default (variable delivery_mode)

DEFAULT_PORTS = {
    "RTSTREAM_LOCAL_AWS_PORT": 4566,
    "RTSTREAM_LOCAL_WAREHOUSE_PORT": 4567,
    "RTSTREAM_LOCAL_FAULT_PROXY_PORT": 4568,
}


def requested_delivery_mode() -> str:
    """The mode a stack starts in without `up --mode`: $RTSTREAM_DELIVERY_MODE, else Terraform's
    default; an unknown one fails by name. (A running stack keeps its own: cli.running_delivery_mode.)"""
    mode = os.environ.get(PIPELINE.delivery_mode_env) or DEFAULT_DELIVERY_MODE
    PIPELINE.delivery(mode)
    return mode


def read_env_file(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key: value for key, value in pairs}


def _port(name: str, env_file: Path) -> int:
    """A port from the environment, else the one the running stack recorded, else the default."""
    return int(os.environ.get(name) or read_env_file(env_file).get(name) or DEFAULT_PORTS[name])


@dataclass(frozen=True)
class Local:
    """Where the local stack keeps its state and which loopback ports it uses."""

    home: Path = ROOT / ".local"

    @cached_property
    def aws_port(self) -> int:
        return _port("RTSTREAM_LOCAL_AWS_PORT", self.env_file)

    @cached_property
    def warehouse_port(self) -> int:
        return _port("RTSTREAM_LOCAL_WAREHOUSE_PORT", self.env_file)

    @cached_property
    def fault_proxy_port(self) -> int:
        return _port("RTSTREAM_LOCAL_FAULT_PROXY_PORT", self.env_file)

    @property
    def delivery_file(self) -> Path:
        """The running stack's delivery mode and since when it delivers (written by `up`)."""
        return self.home / "delivery.json"

    @property
    def relay_checkpoint_file(self) -> Path:
        """Per Kinesis shard, the last sequence number the relay delivered, and of which stream
        (written by the relay at each flush; firehose_relay.py, "Where it reads from")."""
        return self.home / "relay-checkpoint.json"

    def delivery(self) -> dict:
        """{"mode": …, "since": epoch seconds or None}: what `up` recorded, else the mode of
        $RTSTREAM_DELIVERY_MODE or Terraform's default."""
        try:
            return json.loads(self.delivery_file.read_text())
        except (OSError, ValueError):
            return {"mode": requested_delivery_mode(), "since": None}

    @property
    def delivery_mode(self) -> str:
        return self.delivery()["mode"]

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.aws_port}"

    @property
    def fault_proxy_endpoint(self) -> str:
        """Where the Lambdas call AWS: the fault proxy in front of MiniStack (fault_proxy.py)."""
        return f"http://127.0.0.1:{self.fault_proxy_port}"

    @property
    def env_file(self) -> Path:
        return self.home / "env"

    @property
    def pids(self) -> Path:
        return self.home / "pids"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @property
    def heartbeats(self) -> Path:
        return self.home / "heartbeats"

    @property
    def stage(self) -> Path:
        """The local mirror of the data bucket that the warehouse COPYs from."""
        return self.home / "stage"

    @property
    def warehouse(self) -> Path:
        """fakesnow's db_path: one DuckDB file per database."""
        return self.home / "warehouse"

    @property
    def emulator_tmp(self) -> Path:
        """MiniStack's TMPDIR: unpacked Lambda code and scratch files stay under .local/."""
        return self.home / "ministack-tmp"

    def read_env(self) -> dict[str, str]:
        return read_env_file(self.env_file)


PIPELINE = Pipeline.load()
LOCAL = Local()
