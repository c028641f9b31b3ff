"""scripts/replay on the local stack: events of a type with no schema are rejected into the error
bucket; with the schema added (in a scratch schema directory: schemas/ is never touched) the
replay sends them on and each is one row of EVENTS_DEDUP, however often it is replayed, and a
state file never lets a later run send them again; a dry run sends nothing; a record the
transformer failed goes back into the stream and loads once, each event of a packed one too."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from e2e_helpers import ROOT, eventually, query

from localstack.aws import client
from localstack.settings import PIPELINE

REPLAY = ROOT / "scripts" / "replay"
TABLE = PIPELINE.snowflake["table"]
VIEW = PIPELINE.snowflake["dedup_view"]
# Building the CLI on a cold cache takes a while; a replay of a few objects, seconds.
REPLAY_TIMEOUT_SECONDS = 900


def _replay(source: str, event_type: str | None, schemas: Path, report: Path, *options: str) -> dict:
    """Runs scripts/replay --local on today's (and, near midnight, yesterday's) partitions, for
    `event_type` only (or under a prefix of the test's own): other tests' records in the buckets
    are left alone."""
    today = datetime.now(timezone.utc).date()
    only = ["--event-type", event_type] if event_type else []
    result = subprocess.run(
        [REPLAY, "--local", source, "--schema-dir", schemas, "--report", report, *only,
         "--from", str(today - timedelta(days=1)), "--to", str(today), *options],
        capture_output=True, text=True, timeout=REPLAY_TIMEOUT_SECONDS,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.splitlines()[-1])["counts"]


def _rows(table: str, label: str) -> list[dict]:
    return query(f"SELECT EVENT_ID, EVENT_TYPE, PAYLOAD FROM {table} WHERE SOURCE = %s ORDER BY EVENT_ID", [label])


def _fixed_schemas(tmp_path: Path, event_type: str) -> Path:
    """The shipped schemas plus one for `event_type`: the fix an operator would deploy."""
    schemas = tmp_path / "schemas"
    shutil.copytree(ROOT / "schemas", schemas)
    (schemas / f"{event_type}.json").write_text(json.dumps(
        {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "required": ["plan"]}))
    return schemas


def test_rejected_events_replayed_after_a_schema_fix_load_once(api, tmp_path):
    run = uuid.uuid4().hex[:12]
    event_type, label = f"replay_{run}", f"replay-{run}"
    occurred_at = (datetime.now(timezone.utc) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def event(plan: str | None, event_id: str | None = None) -> dict:
        made = {"event_type": event_type, "occurred_at": occurred_at, "source": label,
                "payload": {"plan": plan} if plan else {"tier": "none"}}
        return {"event_id": event_id, **made} if event_id else made

    events = [event("pro", f"{label}-1"), event("free"), event("team", f"{label}-3"), event(None, f"{label}-4")]
    answer = api.post_events(events)
    assert answer.status == 202, answer.body
    assert answer.body["rejected"] == 4, answer.body
    assert {e["errors"][0]["code"] for e in answer.body["results"]} == {"schema.unknown_event_type"}
    assert answer.body["results"][1]["event_id"] is None, "no id for a rejected event without one"

    schemas = _fixed_schemas(tmp_path, event_type)
    report = tmp_path / "report.ndjson"
    dry = _replay("errors", event_type, schemas, report, "--dry-run")
    assert (dry["valid"], dry["sent"], dry["still_invalid"]) == (3, 0, 1), dry

    first = _replay("errors", event_type, schemas, report, "--state-file", str(tmp_path / "state"))
    assert (first["valid"], first["sent"], first["still_invalid"], first["failed"]) == (3, 3, 1, 0), first
    [invalid] = [json.loads(line) for line in report.read_text().splitlines()]
    assert (invalid["request_id"], invalid["index"], invalid["event_id"]) == (answer.body["request_id"], 3, f"{label}-4")
    assert [(e["path"], e["code"]) for e in invalid["errors"]] == [("/payload", "schema.required")]

    rows = eventually(lambda: _rows(VIEW, label), lambda rows: len(rows) >= 3)
    ids = [row["EVENT_ID"] for row in rows]
    assert len(ids) == 3 and {f"{label}-1", f"{label}-3"} < set(ids), ids
    [assigned] = set(ids) - {f"{label}-1", f"{label}-3"}
    assert uuid.UUID(assigned).version == 7
    assert {json.loads(row["PAYLOAD"])["plan"] for row in rows} == {"pro", "free", "team"}
    # The dry run sent nothing: the table (not only the view) holds each event once.
    assert len(_rows(TABLE, label)) == 3

    # The same state file again (e.g. after another schema fix): what was sent is never sent
    # again, what is still invalid is checked again.
    resumed = _replay("errors", event_type, schemas, report, "--state-file", str(tmp_path / "state"))
    assert (resumed["already_sent"], resumed["sent"], resumed["still_invalid"]) == (3, 0, 1), resumed
    assert len(report.read_text().splitlines()) == 1, "the report is the run's own"
    assert len(_rows(TABLE, label)) == 3

    again = _replay("errors", event_type, schemas, report)
    assert again["sent"] == 3, again
    loaded_twice = eventually(lambda: _rows(TABLE, label), lambda rows: len(rows) >= 6)
    assert sorted(row["EVENT_ID"] for row in loaded_twice) == sorted(ids * 2), "the same ids, assigned one included"
    assert [row["EVENT_ID"] for row in _rows(VIEW, label)] == ids, "still one row per event"


def test_a_record_the_transformer_failed_is_replayed_into_the_stream(api, tmp_path):
    run = uuid.uuid4().hex[:12]
    event_type, label = f"replay_{run}", f"replay-{run}"
    occurred_at = (datetime.now(timezone.utc) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    # Not through the API: a record without an event_id, which the transformer fails.
    record = {"event_type": event_type, "occurred_at": occurred_at, "source": label, "payload": {"plan": run}}
    client("kinesis").put_record(StreamName=PIPELINE.names["stream"], Data=json.dumps(record).encode(),
                                 PartitionKey=run)

    bucket, prefix = PIPELINE.names["data_bucket"], PIPELINE.prefixes["processing_failed"]
    s3 = client("s3")

    def failed_keys() -> list[str]:
        keys = [item["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
                for item in page.get("Contents", [])]
        return [key for key in keys if any(
            run.encode() in base64.b64decode(json.loads(line)["rawData"])
            for line in s3.get_object(Bucket=bucket, Key=key)["Body"].read().splitlines())]

    assert eventually(failed_keys, bool), "the relay keeps the failed record under processing-failed/"

    schemas = _fixed_schemas(tmp_path, event_type)
    report = tmp_path / "report.ndjson"
    # Without an event_id the transformer cannot load it: only a full validation names it.
    refused = _replay("processing-failed", event_type, schemas, report)
    assert (refused["sent"], refused["still_invalid"]) == (0, 1), refused
    assert json.loads(report.read_text())["errors"][0]["code"] == "replay.not_loadable"
    first = _replay("processing-failed", event_type, schemas, report, "--revalidate")
    assert (first["sent"], first["still_invalid"]) == (1, 0), first
    rows = eventually(lambda: _rows(VIEW, label), bool)
    assert [json.loads(row["PAYLOAD"]) for row in rows] == [{"plan": run}]
    assert uuid.UUID(rows[0]["EVENT_ID"]).version == 7

    assert _replay("processing-failed", event_type, schemas, report, "--revalidate")["sent"] == 1
    assert len(eventually(lambda: _rows(TABLE, label), lambda rows: len(rows) >= 2)) == 2
    assert [row["EVENT_ID"] for row in _rows(VIEW, label)] == [rows[0]["EVENT_ID"]], "one row, replayed twice"


def test_each_event_of_a_packed_record_the_transformer_failed_is_replayed(api, tmp_path):
    """A packed record in Firehose's error output, written as Firehose writes it (making the real
    transformer fail a packed record would need an invalid event the validator never packs): its
    events are replayed one by one, the one a since-tightened schema would refuse included."""
    run = uuid.uuid4().hex[:12]
    label = f"replay-packed-{run}"
    now = datetime.now(timezone.utc)
    occurred_at = (now - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    payloads = [{"url": "https://a"}, {"url": "https://b"}, {"referrer": "accepted before url was required"}]
    events = [{"event_id": f"{label}-{n}", "event_type": "page_view", "occurred_at": occurred_at, "source": label,
               "payload": payload} for n, payload in enumerate(payloads)]
    # As the validator packs: compact JSON lines, one per event, in one Kinesis record.
    raw = "\n".join(json.dumps(event, separators=(",", ":")) for event in events).encode()
    arrived_ms = int(now.timestamp() * 1000)
    failed = {"attemptsMade": 1, "arrivalTimestamp": arrived_ms, "errorCode": "Lambda.ProcessingFailed",
              "errorMessage": "line 3 of the packed record: …", "attemptEndingTimestamp": arrived_ms + 900,
              "rawData": base64.b64encode(raw).decode(), "lambdaArn": "arn:aws:lambda:us-east-1:000000000000:function:t"}
    prefix = f"{PIPELINE.prefixes['processing_failed']}{label}/"
    key = f"{prefix}dt={now:%Y-%m-%d}/{PIPELINE.names['delivery_stream']}-1-{now:%Y-%m-%d-%H-%M-%S}-{run}"
    client("s3").put_object(Bucket=PIPELINE.names["data_bucket"], Key=key, Body=json.dumps(failed).encode() + b"\n")

    report, state = tmp_path / "report.ndjson", str(tmp_path / "state")
    first = _replay("processing-failed", None, ROOT / "schemas", report, "--prefix", prefix, "--state-file", state)
    assert (first["read"], first["sent"], first["still_invalid"]) == (3, 3, 0), first
    rows = eventually(lambda: _rows(VIEW, label), lambda rows: len(rows) >= 3)
    assert [row["EVENT_ID"] for row in rows] == [event["event_id"] for event in events]
    assert [json.loads(row["PAYLOAD"]) for row in rows] == payloads

    again = _replay("processing-failed", None, ROOT / "schemas", report, "--prefix", prefix, "--state-file", state)
    assert (again["objects_skipped"], again["sent"]) == (1, 0), again
    assert len(_rows(TABLE, label)) == 3, "nothing sent twice"
