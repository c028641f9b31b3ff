"""Faults in the local stack (docs/local-stack.md, "Fault injection"): Kinesis refusing or failing
records, Kinesis and S3 failing whole calls on every attempt, applying a write and answering 500,
or answering too late (through scripts/localstack/fault_proxy.py), and the Firehose relay and the
Snowpipe loader killed mid-run. Under each, thousands of events with unique ids and payload
markers, and the contract's promises checked in the warehouse:

- every event answered `accepted` is in EVENTS_DEDUP exactly once, with its payload intact;
- every event not accepted is absent, or there once as the copy of a write the caller saw fail;
- nothing accepted is in the error bucket, and every rejection answered 202 is;
- the fault really happened (the proxy's counters) and produced the answers it should; where
  it failed whole calls through the SDK's own retries, the validator's retry loop sent them again.

A figures table is printed at the end (recorded in docs/local-stack.md).
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
import urllib.error
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable

import pytest
from botocore.exceptions import ClientError
from e2e_helpers import ARRIVAL_TIMEOUT_SECONDS, eventually, query
from make_events import BREAKERS, page_view

from localstack import fault_proxy
from localstack.aws import client
from localstack.cli import HEALTH
from localstack.processes import FIREHOSE_RELAY, SNOWPIPE_LOADER, Service
from localstack.settings import LOCAL, PIPELINE

CONCURRENCY = 4
BATCH = 100
EVENTS = 3000  # per scenario
VIEW = PIPELINE.snowflake["dedup_view"]
TABLE = PIPELINE.snowflake["table"]
RESTART_TIMEOUT_SECONDS = 60


@dataclass
class Outcome:
    """What one scenario sent and how it was answered."""

    sent: dict[str, dict] = field(default_factory=dict)  # event_id -> the event as sent
    status: dict[str, str] = field(default_factory=dict)  # event_id -> accepted / rejected / failed
    answers: Counter = field(default_factory=Counter)  # (HTTP status, error code or None) -> requests
    request_ids: list[str] = field(default_factory=list)
    writing_requests: int = 0  # requests with an event accepted: each made a PutRecords call at least
    kept_rejections: set[str] = field(default_factory=set)  # rejected in a 202: must be in the error bucket

    def ids(self, status: str) -> set[str]:
        return {event_id for event_id, s in self.status.items() if s == status}


def build_requests(label: str, events: int, invalid_share: float, seed: str) -> list[list[dict]]:
    """`events` events in batches of BATCH, each with a unique id and a payload marker."""
    rng = random.Random(seed)
    base_time = datetime.now(timezone.utc) - timedelta(days=1)
    made = []
    for n in range(events):
        event = {
            "event_id": f"{label}-{n}",
            "event_type": "page_view",
            "occurred_at": (base_time + timedelta(milliseconds=rng.randrange(3_600_000)))
            .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "source": label,
            "payload": {**page_view(rng), "marker": f"{label}/{n}/{rng.getrandbits(32):08x}"},
        }
        if rng.random() < invalid_share:
            rng.choice(BREAKERS)(event, rng)
        made.append(event)
    return [made[i:i + BATCH] for i in range(0, len(made), BATCH)]


def send(api, requests: list[list[dict]], outcome: Outcome, midway: Callable[[], None] | None = None) -> None:
    """POSTs every batch, CONCURRENCY at a time; `midway` runs when a third have been answered,
    while the rest are in flight."""
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        futures = {pool.submit(api.post_events, batch): batch for batch in requests}
        for done, future in enumerate(as_completed(futures), start=1):
            batch, answer = futures[future], future.result()
            assert answer.status in (202, 503), answer
            outcome.answers[(answer.status, (answer.body.get("error") or {}).get("code"))] += 1
            outcome.request_ids.append(answer.body["request_id"])
            outcome.writing_requests += any(result["status"] == "accepted" for result in answer.body["results"])
            for result in answer.body["results"]:
                event = batch[result["index"]]
                assert result["event_id"] == event["event_id"]
                outcome.sent[event["event_id"]], outcome.status[event["event_id"]] = event, result["status"]
                if answer.status == 202 and result["status"] == "rejected":
                    outcome.kept_rejections.add(event["event_id"])
            if midway and done == len(requests) // 3:
                midway()


def rows_of(label: str) -> list[dict]:
    return query(f"SELECT EVENT_ID, EVENT_TYPE, OCCURRED_AT, SOURCE, PAYLOAD, INGEST FROM {VIEW} WHERE SOURCE = %s",
                 [label])


def kinesis_records(rows: list[dict]) -> int:
    """How many Kinesis records carried `rows` (packed records: several events, one partition key)."""
    return len({json.loads(row["INGEST"])["kinesis_partition_key"] for row in rows})


def repeated_in_table(label: str) -> list[dict]:
    """The events of `label` that are in EVENTS more than once (writes applied twice)."""
    return query(f"SELECT EVENT_ID FROM {TABLE} WHERE SOURCE = %s GROUP BY EVENT_ID HAVING COUNT(*) > 1", [label])


def error_bucket_lines(request_ids: list[str]) -> dict[str, list[dict]]:
    """request_id -> the lines of its object in the error bucket (requests with none are absent)."""
    s3, bucket = client("s3"), PIPELINE.names["error_bucket"]
    wanted, found = set(request_ids), {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=PIPELINE.prefixes["errors"]):
        for item in page.get("Contents", []):
            request_id = item["Key"].rsplit("/", 1)[1].removesuffix(".ndjson")
            if request_id in wanted:
                body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
                found[request_id] = [json.loads(line) for line in body.splitlines()]
    return found


def check_delivery(label: str, outcome: Outcome, timeout: float = ARRIVAL_TIMEOUT_SECONDS) -> list[dict]:
    """The contract's promises for one scenario; returns the scenario's rows of EVENTS_DEDUP."""
    accepted = outcome.ids("accepted")
    rows = eventually(lambda: rows_of(label), lambda rows: {r["EVENT_ID"] for r in rows} >= accepted, timeout)
    seen = Counter(row["EVENT_ID"] for row in rows)
    missing = accepted - set(seen)
    assert not missing, f"{len(missing)} accepted events never reached {VIEW}, e.g. {sorted(missing)[:3]}"
    twice = [event_id for event_id, n in seen.items() if n > 1]
    assert not twice, f"{VIEW} shows {len(twice)} events more than once, e.g. {twice[:3]}"
    # Anything else there is a write the caller saw fail (a timed-out call AWS applied anyway).
    assert set(seen) <= accepted | outcome.ids("failed"), "a rejected or unknown event reached the warehouse"
    for row in rows:
        event = outcome.sent[row["EVENT_ID"]]
        assert json.loads(row["PAYLOAD"]) == event["payload"], row["EVENT_ID"]
        assert (row["EVENT_TYPE"], row["SOURCE"]) == (event["event_type"], event["source"])
        assert row["OCCURRED_AT"] == datetime.fromisoformat(event["occurred_at"].replace("Z", "+00:00"))

    stored = error_bucket_lines(outcome.request_ids)
    kept = {line["event_id"] for lines in stored.values() for line in lines}
    assert not kept & accepted, f"accepted events in the error bucket: {sorted(kept & accepted)[:3]}"
    assert kept >= outcome.kept_rejections, "a rejection answered 202 is not in the error bucket"
    return rows


@dataclass(frozen=True)
class Scenario:
    name: str
    faults: dict
    events: int
    invalid_share: float = 0.0
    disturb: Service | None = None  # killed (SIGKILL) and restarted while events flow


# `per_call`: 30% of calls fail on each of the SDK's 3 attempts (about 1.5 s with its backoff);
# a request fails only if that happens to every call the validator makes until the 15 s put
# deadline, several in a row at 0.3 each.
SCENARIOS = [
    Scenario("records: 20% throttled, 10% InternalFailure",
             {"put_records_refused": 0.2, "put_records_internal_failures": 0.1}, EVENTS),
    Scenario("PutRecords 5xx, 30% of calls on every attempt", {"per_call": True, "put_records_errors": 0.3}, EVENTS),
    Scenario("PutRecords applied, then 500: 30% of calls on every attempt",
             {"per_call": True, "put_records_applied_errors": 0.3}, EVENTS),
    Scenario("6 s delay, 20% of attempts", {"put_records_delayed": 0.2, "s3_put_delayed": 0.2, "delay_seconds": 6},
             EVENTS, invalid_share=0.1),
    Scenario("S3 PUT 5xx, 30% of calls on every attempt", {"per_call": True, "s3_put_errors": 0.3}, EVENTS,
             invalid_share=0.1),
    Scenario("S3 PUT applied, then 500: 30% of calls on every attempt",
             {"per_call": True, "s3_put_applied_errors": 0.3}, EVENTS, invalid_share=0.1),
    Scenario("relay killed", {}, EVENTS, disturb=FIREHOSE_RELAY),
    Scenario("loader killed", {}, EVENTS, disturb=SNOWPIPE_LOADER),
]
# The last test's fault: every error bucket PUT fails, until the put deadline.
ERROR_STORE_DOWN = {"s3_put_errors": 1.0}


@pytest.fixture(scope="module")
def figures(request):
    table: list[tuple] = []
    yield table
    plugins = request.config.pluginmanager
    header = ("fault", "events sent", "Kinesis records", "accepted", "failed", "rejected", "rows in EVENTS_DEDUP",
              "injected", "wall s")
    lines = [header, *table]
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    # Shown even with -q: a teardown's output is otherwise captured.
    with plugins.get_plugin("capturemanager").global_and_fixture_disabled():
        reporter = plugins.get_plugin("terminalreporter")
        reporter.write_line("")
        for line in lines:
            reporter.write_line("  ".join(str(value).ljust(width) for value, width in zip(line, widths)))


@pytest.fixture
def faults(api):
    """Sets the proxy's faults. Whatever happens, the stack is left as it was: faults off, the
    relay and the loader running."""
    try:
        yield fault_proxy.control
    finally:
        fault_proxy.control({})
        for service in (FIREHOSE_RELAY, SNOWPIPE_LOADER):
            if service.pid() is None:
                service.start()


def kill_and_restart(service: Service, downtime: list[float]) -> None:
    """SIGKILL (no chance to flush or acknowledge), then a fresh start; records the seconds until
    it is healthy again in `downtime`."""
    killed_at = time.monotonic()
    pid = service.pid()
    assert pid is not None, f"the {service.name} is not running"
    os.killpg(pid, signal.SIGKILL)
    assert eventually(service.pid, lambda p: p is None, timeout=10) is None
    service.start()
    healthy = eventually(HEALTH[service.name], bool, timeout=RESTART_TIMEOUT_SECONDS)
    assert healthy, f"the {service.name} did not come back; see {service.log_file}"
    downtime.append(time.monotonic() - killed_at)


# Per kind of call the proxy disturbs, the counter of what the validator's own retry loop sent
# again in a new SDK operation (fault_proxy.py).
RESENT = {"put_records": "put_records_resent", "s3_put": "s3_put_resent"}


def injected(counters: dict, killed: Service | None = None, downtime: list[float] = ()) -> str:
    """What the proxy injected, and what it took: SDK attempts and operations, and what the
    validator sent again, of each kind of call a fault hit."""
    faults = [name for name in fault_proxy.SHARES if counters.get(name)]
    kinds = [kind for kind in RESENT if any(name.startswith(kind) for name in faults)]
    taken = [f"{kind}_{what}" for kind in kinds for what in ("attempts", "calls")] + [RESENT[k] for k in kinds]
    parts = [f"{name}={counters.get(name, 0)}" for name in faults + taken]
    parts += [f"{killed.name} SIGKILL, healthy again in {seconds:.1f} s" for seconds in downtime]
    return ", ".join(parts) or "-"


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_accepted_events_land_once_and_intact_under_faults(api, faults, figures, scenario):
    label = f"faults-{uuid.uuid4().hex[:10]}"
    faults({"seed": 20261126, **scenario.faults})
    outcome, downtime = Outcome(), []
    started = time.monotonic()
    send(api, build_requests(label, scenario.events, scenario.invalid_share, label), outcome,
         midway=scenario.disturb and (lambda: kill_and_restart(scenario.disturb, downtime)))
    counters = faults()["counters"]
    faults({})
    rows = check_delivery(label, outcome, ARRIVAL_TIMEOUT_SECONDS)
    wall = time.monotonic() - started
    status = Counter(outcome.status.values())
    figures.append((scenario.name, len(outcome.sent), kinesis_records(rows), status["accepted"], status["failed"],
                    status["rejected"], len(rows), injected(counters, scenario.disturb, downtime), f"{wall:.1f}"))

    # Every call of the validator went through the proxy, and each fault fired.
    assert counters["put_records_calls"] >= outcome.writing_requests > 0
    on = fault_proxy.shares_on(scenario.faults)
    for fault in on:
        assert counters.get(fault, 0) > 0, f"{fault} never fired: {counters}"
        kind = next(kind for kind in RESENT if fault.startswith(kind))
        if scenario.faults.get("per_call"):
            # The SDK retried the failed calls (under their invocation ids) to no avail ...
            assert counters[f"{kind}_attempts"] > counters[f"{kind}_calls"], f"the SDK never retried: {counters}"
        if scenario.faults.get("per_call") or fault in fault_proxy.PER_RECORD:
            # ... and only the validator's own loop, sending them again, got them written.
            assert counters.get(RESENT[kind], 0) > 0, f"the validator never sent a {kind} again: {counters}"
    if "put_records_delayed" in on:
        # Retried past each timeout: nearly everything accepted.
        assert set(outcome.answers) <= {(202, None), (503, "write.failed"), (503, "error_store.failed")}
        assert status["accepted"] >= 0.9 * (len(outcome.sent) - status["rejected"]), outcome.answers
    else:
        # Refusals, 5xx and restarts are absorbed by retries and at-least-once delivery.
        assert set(outcome.answers) == {(202, None)}, outcome.answers
        assert status["failed"] == 0
    if on.keys() & {"put_records_delayed", "put_records_applied_errors"}:
        # Calls AWS (here MiniStack) applied although the validator saw them fail: repeats in
        # the table, which the view hides (checked above).
        assert eventually(lambda: repeated_in_table(label), bool), "no call the validator saw fail was applied"
    if scenario.invalid_share:
        assert status["rejected"] > 0
    if scenario.disturb:
        assert downtime, f"the {scenario.disturb.name} was not restarted"


def test_rejections_that_cannot_be_kept_fail_the_request_with_nothing_accepted(api, faults, figures):
    """S3 down for the error bucket: a request with a rejection is answered 503
    error_store.failed with nothing accepted and nothing written; one without is accepted."""
    label = f"faults-{uuid.uuid4().hex[:10]}"
    faults({"seed": 20261126, **ERROR_STORE_DOWN})
    outcome = Outcome()
    started = time.monotonic()
    with_rejections = build_requests(label + "-mixed", 2 * BATCH, 0.1, label)
    valid_only = build_requests(label, 2 * BATCH, 0.0, label)
    send(api, with_rejections + valid_only, outcome)
    counters = faults()["counters"]
    faults({})
    assert outcome.answers == {(503, "error_store.failed"): len(with_rejections), (202, None): len(valid_only)}
    assert counters["s3_put_errors"] > 0 and counters.get("forwarded", 0) > 0
    mixed = {event["event_id"] for batch in with_rejections for event in batch}
    assert not mixed & outcome.ids("accepted")
    rows = check_delivery(label, outcome)
    # Nothing of the refused requests went to Kinesis: none of their events ever lands.
    assert rows_of(label + "-mixed") == []
    assert not error_bucket_lines(outcome.request_ids)  # no PUT got through
    status = Counter(outcome.status.values())
    figures.append(("S3 PUT 5xx 100%", len(outcome.sent), kinesis_records(rows), status["accepted"], status["failed"],
                    status["rejected"], len(rows), injected(counters), f"{time.monotonic() - started:.1f}"))


@pytest.fixture
def scratch_stream(api):
    """A stream of its own in MiniStack, so that checking the proxy puts nothing in the pipeline."""
    kinesis, name = client("kinesis"), f"fault-proxy-check-{uuid.uuid4().hex[:8]}"
    kinesis.create_stream(StreamName=name, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
    try:
        yield name
    finally:
        kinesis.delete_stream(StreamName=name, EnforceConsumerDeletion=True)


def test_the_proxy_fails_records_and_whole_calls_as_kinesis_does(faults, scratch_stream):
    """boto3 through the proxy: every record failed still gets Kinesis' full answer, and a call
    chosen with `per_call` fails on each of the SDK's attempts (one amz-sdk-invocation-id)."""
    kinesis = client("kinesis", endpoint=LOCAL.fault_proxy_endpoint)
    records = [{"PartitionKey": f"k{n}", "Data": b"x"} for n in range(3)]
    encryption = client("kinesis").describe_stream_summary(StreamName=scratch_stream)
    faults({"put_records_refused": 0.5, "put_records_internal_failures": 1.0})
    answer = kinesis.put_records(StreamName=scratch_stream, Records=records)
    assert answer["FailedRecordCount"] == 3
    assert {r["ErrorCode"] for r in answer["Records"]} <= {"ProvisionedThroughputExceededException", "InternalFailure"}
    assert answer["EncryptionType"] == encryption["StreamDescriptionSummary"]["EncryptionType"]

    faults({"per_call": True, "put_records_errors": 1.0})
    with pytest.raises(ClientError) as failed:
        kinesis.put_records(StreamName=scratch_stream, Records=records)
    assert failed.value.response["ResponseMetadata"]["HTTPStatusCode"] in (500, 503)
    counters = faults()["counters"]
    attempts = failed.value.response["ResponseMetadata"]["RetryAttempts"] + 1
    assert attempts > 1, "boto3 did not retry"
    assert counters["put_records_calls"] == 1 and counters["put_records_attempts"] == attempts, counters
    assert counters["put_records_errors"] == attempts and counters.get("forwarded", 0) == 0, counters


@pytest.mark.parametrize("setting", [{"put_records_refused": True}, {"seed": True}, {"per_call": 1},
                                     {"s3_put_errors": 1.5}, {"put_record_errors": 0.1}])
def test_the_proxy_refuses_settings_it_cannot_honour(faults, setting):
    with pytest.raises(urllib.error.HTTPError) as refused:
        faults(setting)
    assert refused.value.code == 400
    assert next(iter(setting)) in json.loads(refused.value.read())["error"]
    assert not fault_proxy.faults_on()
