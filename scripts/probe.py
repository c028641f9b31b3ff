"""The post-deploy probe behind `scripts/probe`: proves that events POSTed to the deployed API
become rows of EVENTS_DEDUP, with the values sent, and measures how long that takes.

1. Log in to Snowflake (key-pair auth, snowflake-connector-python) and check the view can be
   read — before anything is posted, so a configuration error costs no events.
2. POST `--events` uniquely tagged `page_view` events (event_id `probe-<run>-<n>`, source
   `rtstream-probe`) in batches of `--batch-size`, recording when each POST started and the API's
   per-event result. Only events answered `accepted` are expected to land; a non-202 answer or a
   probe event that is not accepted is a failure (the reply is printed).
3. Meanwhile (from the first accepted event on, not after the last POST, so that a long run does
   not inflate the early events' latency) poll the view, one query per poll for the accepted ids
   not yet seen, until every accepted event is a row or `--timeout-seconds` (counted from the last
   POST) pass. Each row must carry the event_type, occurred_at instant, source and payload sent.
4. Print POST -> queryable latency for the delivery mode (p50/p95/p99/max over the events that
   landed; an event's latency is the start of the first poll that returned its row minus the start
   of its POST, so the poll interval is the resolution), append the same to $GITHUB_STEP_SUMMARY
   when it is set.

`--local` takes the API and the warehouse from the running local stack (`scripts/local up`): the
same HTTP client and the same connector queries, against MiniStack and fakesnow's server; the
delivery mode is the stack's. On AWS `--mode` labels the figures (`terraform output -raw
delivery_mode`).
Exit codes: 0 passed, 1 the probe failed, 2 usage or configuration (nothing was posted).
Documented in docs/probe.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import snowflake.connector
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from snowflake.connector import SnowflakeConnection

from localstack.api import Answer, Api
from localstack.settings import PIPELINE

EXIT_PASSED, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
# The label of figures whose mode neither --mode nor the rows tell.
UNKNOWN_MODE = "unknown"
# FILE_NAME of a row the Snowflake destination inserted: `kinesis/<shard id>/<sequence number>`.
STREAMING_FILE_NAME_PREFIX = "kinesis/"

SOURCE = "rtstream-probe"
EVENT_TYPE = "page_view"  # schemas/page_view.json
COLUMNS = ("EVENT_ID", "EVENT_TYPE", "OCCURRED_AT", "SOURCE", "PAYLOAD", "FILE_NAME")

DEFAULT_EVENTS = 10
MAX_EVENTS = 1000
# Firehose buffers 60-90 s and Snowpipe adds about a minute: 10 minutes is a broken pipeline.
DEFAULT_TIMEOUT_SECONDS = {"aws": 600.0, "local": 120.0}
DEFAULT_POLL_SECONDS = {"aws": 5.0, "local": 0.5}
# A still-waiting line at most this often while polls find nothing new.
WAITING_NOTE_SECONDS = 60.0
REPLY_PRINT_CHARS = 2000
SUMMARY_PROBLEMS, SUMMARY_PROBLEM_CHARS = 50, 500

ENV_ORGANIZATION = "SNOWFLAKE_ORGANIZATION_NAME"
ENV_ACCOUNT = "SNOWFLAKE_ACCOUNT_NAME"
ENV_USER = "SNOWFLAKE_USER"
ENV_ROLE = "SNOWFLAKE_ROLE"
ENV_WAREHOUSE = "SNOWFLAKE_WAREHOUSE"
ENV_KEY = "SNOWFLAKE_PRIVATE_KEY"
# The API key may come from the environment, so that it stays off the command line (/proc/*/cmdline).
ENV_API_KEY = "RTSTREAM_API_KEY"
ENV_KEY_FILE = "SNOWFLAKE_PRIVATE_KEY_FILE"
ENV_PASSPHRASE = "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE"
REQUIRED_ENV = (ENV_ORGANIZATION, ENV_ACCOUNT, ENV_USER, ENV_ROLE, ENV_WAREHOUSE)

# DB.SCHEMA.VIEW, each part an unquoted identifier or a double-quoted one ("" escapes a quote).
_IDENTIFIER = r'(?:[A-Za-z_][A-Za-z0-9_$]*|"(?:[^"]|"")+")'
VIEW_PATTERN = re.compile(rf"{_IDENTIFIER}\.{_IDENTIFIER}\.{_IDENTIFIER}")


class UsageError(Exception):
    """Bad arguments or configuration, found before anything was posted: exit 2."""


# --- Snowflake: key, settings, connection -------------------------------------------------------


def load_private_key(pem: bytes, passphrase: str | None, origin: str = ENV_KEY) -> bytes:
    """A PEM private key (PKCS#8, encrypted or not; PKCS#1 too) as unencrypted PKCS#8 DER, the form
    snowflake-connector-python takes as `private_key` for key-pair auth. A passphrase given for a
    key that is not encrypted is ignored. Errors never quote the key or the passphrase."""
    text = pem.strip()
    if b"\\n" in text and b"\n" not in text:  # a secret stored on one line with escaped newlines
        text = text.replace(b"\\n", b"\n")
    if not text.startswith(b"-----BEGIN ") or b"PRIVATE KEY-----" not in text:
        raise UsageError(f"{origin} is not a PEM private key (-----BEGIN [ENCRYPTED] PRIVATE KEY-----)")
    encrypted = text.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----") or b"Proc-Type: 4,ENCRYPTED" in text
    if encrypted and not passphrase:
        raise UsageError(f"{origin} is encrypted: set {ENV_PASSPHRASE}")
    password = passphrase.encode() if passphrase and encrypted else None
    try:
        key = serialization.load_pem_private_key(text, password=password)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        if encrypted:
            raise UsageError(f"cannot decrypt {origin} with {ENV_PASSPHRASE} (wrong passphrase?)") from None
        raise UsageError(f"{origin} is not a readable PEM private key") from None
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise UsageError(f"{origin} is neither an RSA nor an EC key, which key-pair authentication needs")
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


@dataclass(frozen=True)
class SnowflakeSettings:
    """The Snowflake login of the probe, from the environment (see docs/probe.md)."""

    account: str  # the account identifier, ORGANIZATION-ACCOUNT
    user: str
    role: str
    warehouse: str
    private_key: bytes = field(repr=False)  # unencrypted PKCS#8 DER

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SnowflakeSettings:
        values = {name: env.get(name, "").strip() for name in REQUIRED_ENV}
        key_text, key_file = env.get(ENV_KEY, "").strip(), env.get(ENV_KEY_FILE, "").strip()
        missing = [name for name, value in values.items() if not value]
        if not key_text and not key_file:
            missing.append(f"{ENV_KEY} (or {ENV_KEY_FILE})")
        if missing:
            raise UsageError(f"missing environment variables: {', '.join(missing)}")
        if key_text and key_file:
            raise UsageError(f"set {ENV_KEY} or {ENV_KEY_FILE}, not both")
        if key_file:
            try:
                pem, origin = Path(key_file).read_bytes(), f"{ENV_KEY_FILE} ({key_file})"
            except OSError as error:
                raise UsageError(f"cannot read {ENV_KEY_FILE} ({key_file}): {error.strerror}") from None
        else:
            pem, origin = key_text.encode(), ENV_KEY
        return cls(
            account=f"{values[ENV_ORGANIZATION]}-{values[ENV_ACCOUNT]}",
            user=values[ENV_USER],
            role=values[ENV_ROLE],
            warehouse=values[ENV_WAREHOUSE],
            private_key=load_private_key(pem, env.get(ENV_PASSPHRASE) or None, origin),
        )

    def connect_options(self) -> dict[str, Any]:
        """snowflake.connector.connect's arguments: `private_key` as DER bytes selects key-pair
        auth (SNOWFLAKE_JWT) in the pinned connector."""
        return {
            "account": self.account,
            "user": self.user,
            "private_key": self.private_key,
            "role": self.role,
            "warehouse": self.warehouse,
            "session_parameters": {"QUERY_TAG": SOURCE},
            "login_timeout": 60,
            "network_timeout": 120,
        }

    def connect(self) -> SnowflakeConnection:
        return snowflake.connector.connect(**self.connect_options())


# --- where the probe points ---------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    api: Api
    connect: Callable[[], SnowflakeConnection]
    describe: str  # where the warehouse is, for messages
    mode: str | None  # the delivery mode, when known before the rows tell it


def aws_target(api_url: str, api_key: str, env: Mapping[str, str], mode: str | None) -> Target:
    settings = SnowflakeSettings.from_env(env)
    return Target(Api(api_url, api_key), settings.connect,
                  f"Snowflake account {settings.account} as {settings.user} (role {settings.role})", mode)


def local_target(mode: str | None) -> Target:
    """The running local stack: its API (.local/env) and fakesnow's server, through the connector."""
    from localstack import warehouse
    from localstack.settings import LOCAL

    if not warehouse.server_is_up():
        raise UsageError(f"the local stack is not running (nothing on 127.0.0.1:{LOCAL.warehouse_port}): "
                         "scripts/local up")
    try:
        api = Api.from_env_file()
    except RuntimeError as error:
        raise UsageError(str(error)) from None
    if mode is not None and mode != LOCAL.delivery_mode:
        raise UsageError(f"--mode {mode}: the local stack runs in delivery mode {LOCAL.delivery_mode} "
                         f"(scripts/local up --mode {mode})")
    # With the server up, warehouse.connect() is a snowflake.connector connection to it.
    return Target(api, warehouse.connect, f"the local warehouse on 127.0.0.1:{LOCAL.warehouse_port}",
                  LOCAL.delivery_mode)


def open_view(target: Target, view: str) -> SnowflakeConnection:
    """Logs in and reads nothing from the view: proves the name, the grants and the columns."""
    try:
        connection = target.connect()
    except snowflake.connector.errors.Error as error:
        raise UsageError(f"cannot log in to {target.describe}: {_message(error)}") from None
    try:
        connection.cursor().execute(f"SELECT {', '.join(COLUMNS)} FROM {view} WHERE 1 = 0")
    except snowflake.connector.errors.Error as error:
        connection.close()
        raise UsageError(f"cannot read {view} in {target.describe}: {_message(error)}") from None
    return connection


def _message(error: snowflake.connector.errors.Error) -> str:
    return (getattr(error, "msg", None) or str(error)).strip().splitlines()[0]


# --- posting ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    event: dict[str, Any]
    posted_at: float  # time.monotonic() when its POST started


@dataclass
class Posting:
    accepted: dict[str, Sent] = field(default_factory=dict)  # event_id -> the event as sent
    failures: list[str] = field(default_factory=list)
    # Set when every POST is answered (or failed); the poller reads `accepted` while it grows.
    done: threading.Event = field(default_factory=threading.Event)
    finished_at: float | None = None  # time.monotonic() of the last answer


def make_event(run: str, index: int) -> dict[str, Any]:
    now = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {
        "event_id": f"probe-{run}-{index}",
        "event_type": EVENT_TYPE,
        "occurred_at": now,
        "source": SOURCE,
        "payload": {
            "url": f"https://rtstream-probe.invalid/{run}/{index}",
            "user_id": f"probe-{run}",
            # Nesting, a number and a boolean: the VARIANT must give back exactly this.
            "probe": {"run": run, "index": index, "synthetic": True},
        },
    }


def post_all(api: Api, run: str, count: int, batch_size: int, posting: Posting | None = None) -> Posting:
    posting = posting or Posting()
    try:
        _post_batches(api, run, count, batch_size, posting)
    finally:
        posting.finished_at = time.monotonic()
        posting.done.set()
    return posting


def _post_batches(api: Api, run: str, count: int, batch_size: int, posting: Posting) -> None:
    for first in range(0, count, batch_size):
        events = [make_event(run, index) for index in range(first, min(count, first + batch_size))]
        ids = ", ".join(event["event_id"] for event in events)
        posted_at = time.monotonic()
        try:
            answer = api.post_events(events)
        except OSError as error:  # connection refused, TLS, timeout
            posting.failures.append(f"POST {ids}: no answer: {error}")
            continue
        accepted, problems = read_answer(answer, events)
        for event in accepted:
            posting.accepted[event["event_id"]] = Sent(event, posted_at)
        if problems:
            reply = json.dumps(answer.body)[:REPLY_PRINT_CHARS]
            posting.failures.append(f"POST {ids}: {'; '.join(problems)}; HTTP {answer.status} reply: {reply}")


def read_answer(answer: Answer, events: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """The events the answer accepted (under the id sent) and what is wrong with the answer."""
    if answer.status != 202:
        return [], [f"expected 202, got {answer.status}"]
    results = answer.body.get("results") if isinstance(answer.body, dict) else None
    if not isinstance(results, list):
        return [], ["202 without per-event results"]
    by_index = {r.get("index"): r for r in results if isinstance(r, dict)}
    accepted, problems = [], []
    for index, event in enumerate(events):
        result = by_index.get(index)
        if result is None:
            problems.append(f"no result for {event['event_id']}")
        elif result.get("status") != "accepted":
            problems.append(f"{event['event_id']} {result.get('status')}")
        elif result.get("event_id") != event["event_id"]:
            problems.append(f"{event['event_id']} accepted as {result.get('event_id')!r}")
        else:
            accepted.append(event)
    return accepted, problems


# --- waiting for the rows -----------------------------------------------------------------------


@dataclass
class Landing:
    seen_at: dict[str, float] = field(default_factory=dict)  # event_id -> start of the poll that saw it
    problems: list[str] = field(default_factory=list)  # wrong values, duplicates
    polls: int = 0
    modes: set[str] = field(default_factory=set)  # the delivery modes the rows' FILE_NAMEs show

    def missing(self, accepted: Mapping[str, Sent]) -> list[str]:
        return [event_id for event_id in accepted if event_id not in self.seen_at]


def differences(row: Sequence[Any], event: Mapping[str, Any]) -> list[str]:
    """What in a row of (EVENT_TYPE, OCCURRED_AT, SOURCE, PAYLOAD) differs from the event sent."""
    event_type, occurred_at, source, payload = row
    found = []
    if event_type != event["event_type"]:
        found.append(f"EVENT_TYPE {event_type!r} != {event['event_type']!r}")
    sent_instant = datetime.fromisoformat(event["occurred_at"].replace("Z", "+00:00"))
    if isinstance(occurred_at, str):
        try:
            occurred_at = datetime.fromisoformat(occurred_at.replace("Z", "+00:00"))
        except ValueError:
            pass
    if not isinstance(occurred_at, datetime) or occurred_at.tzinfo is None or occurred_at != sent_instant:
        found.append(f"OCCURRED_AT {occurred_at!r} is not the instant {event['occurred_at']}")
    if source != event["source"]:
        found.append(f"SOURCE {source!r} != {event['source']!r}")
    try:
        stored = json.loads(payload) if isinstance(payload, (str, bytes)) else payload
    except ValueError:
        stored = payload
    if stored != event["payload"]:
        found.append(f"PAYLOAD {payload!r} != {json.dumps(event['payload'])}")
    return found


def delivered_by(file_name: Any) -> str | None:
    """The delivery mode a row's FILE_NAME shows (docs/latency.md, "The same table contract"): the
    pipe's file under the mode's events prefix layout, or `kinesis/<shard>/<sequence>` without a
    file (snowpipe_streaming). The file's path may or may not start with the stage's own prefix
    (Snowflake documents METADATA$FILENAME as "the full path to the data file"; not yet seen)."""
    if not isinstance(file_name, str):
        return None
    events = PIPELINE.prefixes["events"]
    file_name = file_name.removeprefix(events)
    for mode in PIPELINE.delivery_modes:
        settings = PIPELINE.delivery(mode)
        if settings["destination"] == "snowflake":
            if file_name.startswith(STREAMING_FILE_NAME_PREFIX):
                return mode
            continue
        # The first folder of the layout, e.g. `event_type=` or `dt=`.
        first = settings["events_prefix_template"].removeprefix(events).split("=", 1)[0] + "="
        if file_name.startswith(first):
            return mode
    return None


def wait_for_rows(connection: SnowflakeConnection, view: str, posting: Posting,
                  timeout: float, interval: float) -> Landing:
    """Polls `view` for the accepted events not yet seen, one query per poll, while the events are
    posted and then until all are rows or `timeout` passes after the last POST; a failed poll is
    reported and retried at the next interval."""
    landing = Landing()
    started = time.monotonic()
    last_note, last_error = started, ""
    cursor = connection.cursor()
    while True:
        posted = posting.done.is_set()
        accepted = dict(posting.accepted)  # a copy: the posting thread adds to it
        pending = set(accepted) - set(landing.seen_at)
        if posted and not pending:
            break
        if not pending:
            time.sleep(interval)
            continue
        polled_at = time.monotonic()
        ids = sorted(pending)
        placeholders = ", ".join(["%s"] * len(ids))
        try:
            cursor.execute(f"SELECT {', '.join(COLUMNS)} FROM {view} WHERE EVENT_ID IN ({placeholders})", ids)
            rows = cursor.fetchall()
        except snowflake.connector.errors.Error as error:
            if _message(error) != last_error:
                last_error = _message(error)
                print(f"poll failed (retrying every {interval:g} s): {last_error}", file=sys.stderr, flush=True)
        else:
            landing.polls += 1
            new = 0
            for event_id, *values, file_name in rows:
                if event_id in landing.seen_at:
                    landing.problems.append(f"{event_id}: {view} returned more than one row")
                    continue
                landing.seen_at[event_id] = polled_at
                landing.modes.add(delivered_by(file_name) or UNKNOWN_MODE)
                new += 1
                landing.problems += [f"{event_id}: {d}" for d in differences(values, accepted[event_id].event)]
            now = time.monotonic()
            if new or now - last_note >= WAITING_NOTE_SECONDS:
                last_note = now
                print(f"  +{polled_at - started:5.1f} s  poll {landing.polls}: "
                      f"{len(landing.seen_at)} of {len(accepted)} queryable", flush=True)
        if not posted:
            time.sleep(interval)
            continue
        deadline = posting.finished_at + timeout
        if len(landing.seen_at) >= len(accepted) or time.monotonic() >= deadline:
            break
        time.sleep(max(0.0, min(interval, deadline - time.monotonic())))
    return landing


# --- the report ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Latency:
    count: int
    p50: float
    p95: float
    p99: float
    max: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Latency | None:
        ordered = sorted(values)
        if not ordered:
            return None
        return cls(len(ordered), percentile(ordered, 50), percentile(ordered, 95), percentile(ordered, 99),
                   ordered[-1])

    def line(self, mode: str) -> str:
        return (f"POST -> queryable latency (delivery mode {mode}) over {self.count} events: "
                f"p50 {self.p50:.2f} s, p95 {self.p95:.2f} s, p99 {self.p99:.2f} s, max {self.max:.2f} s")


def percentile(ordered: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of sorted values: the smallest value with at least p % at or below it."""
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


@dataclass(frozen=True)
class Report:
    run: str
    mode: str  # the delivery mode measured (see measured_mode)
    view: str
    posted: int
    accepted: int
    latency: Latency | None
    missing: list[str]  # accepted event ids that never became a row
    post_failures: list[str]  # POSTs not answered 202, probe events not accepted
    row_problems: list[str]  # rows with other values than sent, or seen twice
    timeout: float

    @property
    def passed(self) -> bool:
        return (self.accepted == self.posted and not self.missing and not self.post_failures
                and not self.row_problems)

    def verdict(self) -> str:
        if self.passed:
            return (f"PASSED: all {self.posted} probe events are queryable in {self.view} "
                    "with the values sent")
        parts = []
        if self.accepted < self.posted or self.post_failures:
            parts.append(f"{self.posted - self.accepted} of {self.posted} events not accepted")
        if self.missing:
            parts.append(f"{len(self.missing)} of {self.accepted} accepted events not in {self.view} "
                         f"after {self.timeout:g} s")
        if self.row_problems:
            parts.append(f"{len(self.row_problems)} rows not as sent")
        return "FAILED: " + "; ".join(parts)

    def markdown(self) -> str:
        status = "passed" if self.passed else "FAILED"
        lines = [
            f"### rtstream post-deploy probe: {status}",
            "",
            f"Run `{self.run}`: {self.posted} `{EVENT_TYPE}` events posted, {self.accepted} accepted, "
            f"{self.accepted - len(self.missing)} queryable in `{self.view}`.",
            "",
            "| delivery mode | events | POST → queryable p50 | p95 | p99 | max |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        if self.latency:
            lines.append(f"| `{self.mode}` | {self.latency.count} | {self.latency.p50:.2f} s | "
                         f"{self.latency.p95:.2f} s | {self.latency.p99:.2f} s | {self.latency.max:.2f} s |")
        else:
            lines.append(f"| `{self.mode}` | 0 | – | – | – | – |")
        if not self.passed:
            lines += ["", self.verdict()]
        if self.missing:
            lines += ["", f"Missing after {self.timeout:g} s: " + ", ".join(f"`{i}`" for i in self.missing)]
        problems = self.post_failures + self.row_problems
        if problems:
            lines += ["", *(f"- {problem[:SUMMARY_PROBLEM_CHARS]}" for problem in problems[:SUMMARY_PROBLEMS])]
        return "\n".join(lines) + "\n"


def measured_mode(given: str | None, landing: Landing) -> str:
    """The mode to label the figures with: the one given (--mode, or the local stack's), else the
    one the rows' FILE_NAMEs show; rows of another mode than the one given are a problem."""
    shown = sorted(landing.modes - {UNKNOWN_MODE})
    if given is not None:
        if any(mode != given for mode in shown):
            landing.problems.append(f"rows delivered in mode {', '.join(shown)}, not {given} (FILE_NAME)")
        return given
    return shown[0] if len(shown) == 1 else UNKNOWN_MODE


def print_report(report: Report) -> None:
    for problem in report.post_failures + report.row_problems:
        print(f"error: {problem}", file=sys.stderr)
    print(report.latency.line(report.mode) if report.latency
          else f"POST -> queryable latency (delivery mode {report.mode}): no event became queryable")
    if report.missing:
        print(f"missing event ids ({len(report.missing)}):")
        for event_id in report.missing:
            print(f"  {event_id}")
    print(report.verdict(), flush=True)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        try:
            with open(summary, "a", encoding="utf-8") as out:
                out.write(report.markdown())
        except OSError as error:
            print(f"warning: cannot write GITHUB_STEP_SUMMARY ({summary}): {error.strerror}", file=sys.stderr)


# --- the command --------------------------------------------------------------------------------


def _bounded(kind: type, low: float, high: float | None = None) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value < low or (high is not None and value > high):
            limits = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"{value} must be {limits}")
        return value

    return parse


def default_view() -> str:
    names = PIPELINE.snowflake
    return f"{names['database']}.{names['schema']}.{names['dedup_view']}"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/probe",
        description="Post uniquely tagged events through the deployed API and wait until each accepted "
                    "one is a row of EVENTS_DEDUP with the values sent; print POST -> queryable latency. "
                    "Snowflake login from the environment (docs/probe.md). "
                    "Exit 0 passed, 1 failed, 2 usage or configuration error.",
    )
    parser.add_argument("--api-url", help="the full URL of POST /events")
    parser.add_argument("--api-key", help=f"sent as x-api-key (or set {ENV_API_KEY})")
    parser.add_argument("--view", help="DB.SCHEMA.VIEW to read: required on AWS (terraform output "
                                       f"dedup_view_name); with --local, {default_view()} of config/pipeline.json")
    parser.add_argument("--local", action="store_true",
                        help="use the running local stack's API and warehouse (scripts/local up) "
                             "instead of --api-url, --api-key and the SNOWFLAKE_* variables")
    parser.add_argument("--mode", choices=PIPELINE.delivery_modes,
                        help="the deployment's delivery mode, which labels the figures (terraform output "
                             "-raw delivery_mode); with --local, the stack's (and it must match)")
    parser.add_argument("--events", type=_bounded(int, 1, MAX_EVENTS), default=DEFAULT_EVENTS,
                        help="how many events to post (default %(default)s)")
    parser.add_argument("--batch-size", type=_bounded(int, 1, PIPELINE.raw["limits"]["max_batch_events"]),
                        default=1, help="events per POST (default %(default)s)")
    parser.add_argument("--timeout-seconds", type=_bounded(float, 0), default=None,
                        help="how long to wait after the last POST for every accepted event "
                             f"(default {DEFAULT_TIMEOUT_SECONDS['aws']:g}, "
                             f"{DEFAULT_TIMEOUT_SECONDS['local']:g} with --local)")
    parser.add_argument("--poll-seconds", type=_bounded(float, 0.1), default=None,
                        help=f"interval between queries (default {DEFAULT_POLL_SECONDS['aws']:g}, "
                             f"{DEFAULT_POLL_SECONDS['local']:g} with --local)")
    args = parser.parse_args(argv)
    mode = "local" if args.local else "aws"
    if args.timeout_seconds is None:
        args.timeout_seconds = DEFAULT_TIMEOUT_SECONDS[mode]
    if args.poll_seconds is None:
        args.poll_seconds = DEFAULT_POLL_SECONDS[mode]
    if args.view is None and args.local:
        args.view = default_view()
    return args


def resolve(args: argparse.Namespace, env: Mapping[str, str]) -> Target:
    # Each environment has its own database (config {PREFIX}): no default can be right on AWS.
    if args.view is None:
        raise UsageError("--view is required (terraform output -raw dedup_view_name), or --local")
    if not VIEW_PATTERN.fullmatch(args.view):
        raise UsageError(f"--view {args.view!r} is not DB.SCHEMA.VIEW")
    if args.local:
        if args.api_url is not None or args.api_key is not None:
            raise UsageError("--local takes the API from the local stack: drop --api-url and --api-key")
        return local_target(args.mode)
    api_key = args.api_key or env.get(ENV_API_KEY, "").strip()
    if not args.api_url or not api_key:
        raise UsageError(f"--api-url and --api-key (or {ENV_API_KEY}) are required (or --local)")
    if not args.api_url.startswith(("https://", "http://")):
        raise UsageError(f"--api-url {args.api_url!r} is not an http(s) URL")
    return aws_target(args.api_url, api_key, env, args.mode)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        target = resolve(args, os.environ)
        connection = open_view(target, args.view)
    except UsageError as error:
        print(f"scripts/probe: {error} (nothing was posted)", file=sys.stderr)
        return EXIT_USAGE
    try:
        run = f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
        print(f"probe {run}: posting {args.events} {EVENT_TYPE} events ({args.batch_size} per POST, "
              f"source {SOURCE}) to {target.api.url} (delivery mode {target.mode or 'from the rows'}); "
              f"polling {args.view} every {args.poll_seconds:g} s meanwhile and for up to "
              f"{args.timeout_seconds:g} s after", flush=True)
        posting = Posting()
        poster = threading.Thread(target=post_all, args=(target.api, run, args.events, args.batch_size, posting),
                                  name="post", daemon=True)
        poster.start()
        landing = wait_for_rows(connection, args.view, posting, args.timeout_seconds, args.poll_seconds)
        poster.join()
        print(f"{len(posting.accepted)} of {args.events} accepted", flush=True)
    finally:
        connection.close()
    report = Report(
        run=run,
        mode=measured_mode(target.mode, landing),
        view=args.view,
        posted=args.events,
        accepted=len(posting.accepted),
        latency=Latency.of([landing.seen_at[i] - sent.posted_at for i, sent in posting.accepted.items()
                            if i in landing.seen_at]),
        missing=landing.missing(posting.accepted),
        post_failures=posting.failures,
        row_problems=landing.problems,
        timeout=args.timeout_seconds,
    )
    print_report(report)
    return EXIT_PASSED if report.passed else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
