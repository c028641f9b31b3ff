"""A few thousand events through the whole local pipeline, in each delivery mode: API Gateway ->
validator -> Kinesis -> transformer -> S3 -> Snowpipe -> EVENTS_DEDUP (snowpipe, snowpipe_fresh)
or -> the Snowflake destination -> EVENTS_DEDUP with every record backed up in S3
(snowpipe_streaming), and the rejections into the error bucket."""

from __future__ import annotations

import base64
import json
import os
import random
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pytest
from e2e_helpers import ROOT, eventually, query, wait_for_rows
from make_events import BREAKERS, make_event

from localstack.aws import client
from localstack.settings import PIPELINE

STREAMING = "snowpipe_streaming"

CONCURRENCY = 8
BATCH = 50
EXPECTED_CODES = {
    "negative_amount": "schema.minimum",
    "lowercase_currency": "schema.pattern",
    "missing_url": "schema.required",
    "unknown_event_type": "schema.unknown_event_type",
    "timestamp_without_offset": "envelope.invalid_timestamp",
    "unknown_top_level_field": "envelope.unknown_field",
}


@dataclass
class Request:
    """One POST: its events, how they are encoded, and which of them must be rejected (by index)."""

    events: list[dict]
    ndjson: bool = False
    gzipped: bool = False
    single: bool = False
    invalid: dict[int, str] = field(default_factory=dict)


@dataclass
class Sent:
    accepted: dict[str, dict] = field(default_factory=dict)  # event_id -> the event as sent
    rejections: dict[str, list[dict]] = field(default_factory=dict)  # request_id -> per-event results
    body_errors: dict[str, dict] = field(default_factory=dict)  # request_id -> 4xx body
    resent_ids: set[str] = field(default_factory=set)


def build_requests(run: str, rng: random.Random) -> tuple[list[Request], set[str]]:
    base_time = datetime.now(timezone.utc) - timedelta(days=2)
    counter = iter(range(10**6))

    def event(valid: bool = True) -> tuple[dict, str | None]:
        made = make_event(rng, base_time, invalid_ratio=0)
        if "event_id" in made or rng.random() < 0.5:  # keep ~5 % without id: the validator assigns one
            made["event_id"] = f"e2e-{run}-{next(counter)}"
        made["source"] = f"e2e-{run}"
        if valid:
            return made, None
        breaker = rng.choice(BREAKERS)
        breaker(made, rng)
        return made, EXPECTED_CODES[breaker.__name__]

    def request(**encoding) -> Request:
        req = Request(events=[], **encoding)
        for index in range(1 if encoding.get("single") else BATCH):
            made, code = event(valid=rng.random() > 0.1)
            req.events.append(made)
            if code:
                req.invalid[index] = code
        return req

    requests = [request() for _ in range(40)]
    requests += [request(ndjson=True) for _ in range(10)]
    requests += [request(gzipped=True) for _ in range(3)] + [request(ndjson=True, gzipped=True) for _ in range(3)]
    requests += [request(single=True) for _ in range(20)]
    # Client retries: valid events already sent once, sent again with the same event_id.
    valid_with_ids = [e for r in requests for i, e in enumerate(r.events) if i not in r.invalid and "event_id" in e]
    resent = rng.sample(valid_with_ids, 4 * BATCH)
    requests += [Request(events=resent[i:i + BATCH]) for i in range(0, len(resent), BATCH)]
    return requests, {e["event_id"] for e in resent}


def send(api, requests: list[Request]) -> list:
    def post(req: Request):
        if req.single:
            return api.post(json.dumps(req.events[0]).encode())
        return api.post_events(req.events, ndjson=req.ndjson, gzipped=req.gzipped)

    with ThreadPoolExecutor(CONCURRENCY) as pool:
        return list(pool.map(post, requests))


@pytest.fixture(scope="module")
def run(api, delivery_mode):
    run_id = uuid.uuid4().hex[:10]
    requests, resent_ids = build_requests(run_id, random.Random(run_id))
    answers = send(api, requests)
    malformed = api.post(b'[{"event_type": "page_view",', "application/json")
    sent = Sent(resent_ids=resent_ids)
    sent.body_errors[malformed.body["request_id"]] = malformed.body
    for req, answer in zip(requests, answers):
        assert answer.status == 202, answer.body
        for result in answer.body["results"]:
            expected = "rejected" if result["index"] in req.invalid else "accepted"
            assert result["status"] == expected, (req.events[result["index"]], result)
            if expected == "accepted":
                sent.accepted[result["event_id"]] = {**req.events[result["index"]], "event_id": result["event_id"]}
            else:
                assert req.invalid[result["index"]] in {e["code"] for e in result["errors"]}
        rejected = [r for r in answer.body["results"] if r["status"] == "rejected"]
        if rejected:
            sent.rejections[answer.body["request_id"]] = [
                {**r, "raw": req.events[r["index"]]} for r in rejected
            ]
    return run_id, sent, malformed


def test_the_requests_were_answered_as_the_contract_says(run):
    _, sent, malformed = run
    assert malformed.status == 400 and malformed.body["error"]["code"] == "body.malformed_json"
    assert len(sent.accepted) > 2000 and sum(len(r) for r in sent.rejections.values()) > 100


def test_every_accepted_event_is_in_events_dedup_once_with_its_columns(run, delivery_mode):
    run_id, sent, _ = run
    rows = wait_for_rows(
        "SELECT * FROM EVENTS_DEDUP WHERE SOURCE = %s", [f"e2e-{run_id}"], expected=len(sent.accepted)
    )
    ids = [row["EVENT_ID"] for row in rows]
    assert len(ids) == len(set(ids)), "EVENTS_DEDUP shows an event twice"
    assert set(ids) == set(sent.accepted), (
        f"missing {len(set(sent.accepted) - set(ids))}, unexpected {len(set(ids) - set(sent.accepted))}"
    )
    for row in rows:
        event = sent.accepted[row["EVENT_ID"]]
        occurred_at = datetime.fromisoformat(event["occurred_at"].replace("Z", "+00:00"))
        assert row["EVENT_TYPE"] == event["event_type"]
        assert row["OCCURRED_AT"] == occurred_at
        assert row["SOURCE"] == event["source"]
        assert json.loads(row["PAYLOAD"]) == event["payload"]
        ingest = json.loads(row["INGEST"])
        assert row["RECEIVED_AT"] == datetime.fromisoformat(ingest["received_at"].replace("Z", "+00:00"))
        if PIPELINE.delivery(delivery_mode)["packs"]:
            # Packed with other events of its request and type: the record's key is the first one's id.
            assert ingest["kinesis_partition_key"] in sent.accepted
        else:
            assert ingest["kinesis_partition_key"] == event["event_id"]
        assert ingest["kinesis_shard_id"].startswith("shardId-") and ingest["kinesis_sequence_number"]
        assert_metadata_columns(row, event, delivery_mode)
    if delivery_mode == STREAMING:
        # No per-row commit time reaches the transformer: NULL. (Asked in SQL: fakesnow's server
        # sends a NULL TIMESTAMP as 1970-01-01.)
        (loaded,) = query(f"SELECT COUNT(LOADED_AT) AS N FROM {PIPELINE.snowflake['dedup_view']} WHERE SOURCE = %s",
                          [f"e2e-{run_id}"])
        assert loaded["N"] == 0


def assert_metadata_columns(row: dict, event: dict, mode: str) -> None:
    """FILE_NAME, FILE_ROW_NUMBER, LOADED_AT as docs/latency.md's table contract says per mode."""
    ingest = json.loads(row["INGEST"])
    received = row["RECEIVED_AT"].astimezone(timezone.utc)
    if mode == STREAMING:
        # No file: where the row came from in Kinesis (LOADED_AT, NULL, is checked in SQL below).
        assert row["FILE_NAME"] == f"kinesis/{ingest['kinesis_shard_id']}/{ingest['kinesis_sequence_number']}"
        assert row["FILE_ROW_NUMBER"] == 1
        return
    if PIPELINE.delivery(mode)["dynamic_partitioning"]:
        # dt is the arrival date (bounded partitions), not the client's occurred_at.
        assert row["FILE_NAME"].startswith(f"event_type={event['event_type']}/dt={received:%Y-%m-%d}/")
    else:
        # Firehose's dt: the arrival of the object's oldest record (at most a midnight earlier).
        dates = {f"dt={received:%Y-%m-%d}/", f"dt={received - timedelta(days=1):%Y-%m-%d}/"}
        assert row["FILE_NAME"][:len("dt=yyyy-mm-dd/")] in dates, row["FILE_NAME"]
    assert row["FILE_ROW_NUMBER"] >= 1 and row["LOADED_AT"] >= row["RECEIVED_AT"]


def test_resent_events_are_landed_again_and_hidden_by_the_view(run):
    run_id, sent, _ = run
    table = PIPELINE.snowflake["table"]
    repeated = wait_for_rows(
        f"SELECT EVENT_ID FROM {table} WHERE SOURCE = %s GROUP BY EVENT_ID HAVING COUNT(*) > 1",
        [f"e2e-{run_id}"], expected=len(sent.resent_ids),
    )
    assert {row["EVENT_ID"] for row in repeated} >= sent.resent_ids


def _error_objects() -> dict[str, bytes]:
    """request_id -> body of every object in the error bucket under the errors prefix."""
    s3 = client("s3")
    bucket = PIPELINE.names["error_bucket"]
    objects = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=PIPELINE.prefixes["errors"]):
        for item in page.get("Contents", []):
            request_id = item["Key"].rsplit("/", 1)[1].removesuffix(".ndjson")
            objects[request_id] = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
    return objects


def test_every_rejection_is_in_the_error_bucket_with_its_reasons(run):
    _, sent, _ = run
    stored = _error_objects()
    for request_id, rejected in sent.rejections.items():
        lines = [json.loads(line) for line in stored[request_id].splitlines()]
        assert [line["index"] for line in lines] == [r["index"] for r in rejected]
        for line, result in zip(lines, rejected):
            assert line["request_id"] == request_id
            assert line["event_id"] == result["event_id"]
            assert line["errors"] == result["errors"]
            assert line["raw"] == result["raw"]
    for request_id, body in sent.body_errors.items():
        (line,) = [json.loads(line) for line in stored[request_id].splitlines()]
        assert line["index"] is None and line["raw_body"].startswith('[{"event_type"')
        assert body["error"]["code"] in {e["code"] for e in line["errors"]}


def records_in(body: bytes) -> list[dict]:
    """The JSON objects of an S3 object Firehose wrote: records concatenated as they came (one line
    each when the transformer ends them with a newline)."""
    text, decoder, found, at = body.decode(), json.JSONDecoder(), [], 0
    while at < len(text):
        if text[at].isspace():
            at += 1
            continue
        value, at = decoder.raw_decode(text, at)
        found.append(value)
    return found


def test_the_transformer_output_is_what_the_mode_delivers(run, delivery_mode):
    run_id, sent, _ = run
    s3, bucket = client("s3"), PIPELINE.names["data_bucket"]
    if delivery_mode == STREAMING:
        # Every record Firehose delivered is also in the backup, keyed by EVENTS' column names.
        backed_up = {}
        prefix = PIPELINE.prefixes["backup"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                for record in records_in(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()):
                    if record.get("SOURCE") == f"e2e-{run_id}":
                        backed_up.setdefault(record["EVENT_ID"], record)
                        assert item["Key"].startswith(f"{prefix}dt=")
        assert set(backed_up) == set(sent.accepted)
        for event_id, record in backed_up.items():
            assert record["EVENT_TYPE"] == sent.accepted[event_id]["event_type"]
            assert record["RECEIVED_AT"] == record["INGEST"]["received_at"] and "LOADED_AT" not in record
        return
    files = query(
        f"SELECT DISTINCT FILE_NAME FROM {PIPELINE.snowflake['table']} WHERE SOURCE = %s", [f"e2e-{run_id}"]
    )
    partitioned = PIPELINE.delivery(delivery_mode)["dynamic_partitioning"]
    for file in files:
        key = PIPELINE.prefixes["events"] + file["FILE_NAME"]
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        assert body.endswith(b"\n")
        partition = dict(part.split("=", 1) for part in file["FILE_NAME"].split("/")[:2 if partitioned else 1])
        for line in body.decode().splitlines():
            event = json.loads(line)
            if partitioned:
                assert event["event_type"] == partition["event_type"]
            assert event["occurred_at"] and set(event["_ingest"]) >= {
                "received_at", "kinesis_sequence_number", "kinesis_shard_id", "kinesis_partition_key",
                "firehose_record_id",
            }


def test_a_record_that_is_not_an_event_lands_under_processing_failed(delivery_mode):
    junk = f"not an event {uuid.uuid4()}".encode()
    client("kinesis").put_record(StreamName=PIPELINE.names["stream"], Data=junk, PartitionKey="junk")
    s3 = client("s3")
    bucket, prefix = PIPELINE.names["data_bucket"], PIPELINE.prefixes["processing_failed"]

    def find() -> tuple[str, dict] | None:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                for line in s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read().splitlines():
                    document = json.loads(line)
                    if base64.b64decode(document["rawData"]) == junk:
                        return item["Key"], document
        return None

    found = eventually(find, lambda value: value is not None, timeout=60)
    assert found, "the record was not kept under processing-failed/"
    key, document = found
    assert key.startswith(prefix)
    assert document["errorCode"] == "Lambda.ProcessingFailedStatus"


def test_partitions_follow_arrival_and_numbers_keep_their_text(api, delivery_mode):
    # One request whose events span a month of occurred_at dates lands in the arrival-date
    # partition: clients cannot multiply Firehose's active partitions (docs/decisions.md).
    # A number beyond f64 precision reaches S3 with the exact text the client sent.
    run = uuid.uuid4().hex[:12]
    big_number = "12345678901234567890.123456789"
    now = datetime.now(timezone.utc)
    lines = [
        f'{{"event_id": "e2e-dates-{run}-{day}", "event_type": "page_view", '
        f'"occurred_at": "{now - timedelta(days=day, minutes=1):%Y-%m-%dT%H:%M:%SZ}", "source": "e2e-dates-{run}", '
        f'"payload": {{"url": "https://example.com/{day}", "exact": {big_number}}}}}'
        for day in range(PIPELINE.raw["limits"]["max_past_days"])
    ]
    answer = api.post("\n".join(lines).encode(), "application/x-ndjson")
    assert answer.status == 202 and answer.body["accepted"] == len(lines), answer.body
    rows = wait_for_rows(
        f"SELECT EVENT_ID, FILE_NAME, RECEIVED_AT FROM {PIPELINE.snowflake['dedup_view']} WHERE SOURCE = %s",
        [f"e2e-dates-{run}"], expected=len(lines),
    )
    assert len(rows) == len(lines)
    s3, bucket = client("s3"), PIPELINE.names["data_bucket"]
    if delivery_mode == STREAMING:
        # No partitions; the backup keeps the number's text, under the arrival date.
        keys = [item["Key"] for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=f"{PIPELINE.prefixes['backup']}dt={rows[0]['RECEIVED_AT'].astimezone(timezone.utc):%Y-%m-%d}/")
            for item in page.get("Contents", [])]
        bodies = [s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode() for key in keys]
        (body,) = [body for body in bodies if f"e2e-dates-{run}-0\"" in body]
    else:
        partition_depth = 2 if PIPELINE.delivery(delivery_mode)["dynamic_partitioning"] else 1
        for row in rows:
            received = row["RECEIVED_AT"].astimezone(timezone.utc)
            if partition_depth == 2:
                assert row["FILE_NAME"].startswith(f"event_type=page_view/dt={received:%Y-%m-%d}/")
            else:
                assert row["FILE_NAME"].startswith("dt=")
        assert len({row["FILE_NAME"].split("/")[partition_depth - 1] for row in rows}) <= 2, "at most a midnight apart"
        key = PIPELINE.prefixes["events"] + rows[0]["FILE_NAME"]
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    assert f'"exact":{big_number}' in body.replace(" ", "")


def test_the_probe_measures_the_mode(delivery_mode, tmp_path):
    summary = tmp_path / "summary.md"
    probe = subprocess.run([ROOT / "scripts" / "probe", "--local", "--events", "5"], capture_output=True, text=True,
                           env={**os.environ, "GITHUB_STEP_SUMMARY": str(summary)}, timeout=300)
    output = probe.stdout + probe.stderr
    assert probe.returncode == 0, output
    assert f"POST -> queryable latency (delivery mode {delivery_mode}) over 5 events: p50 " in output
    assert f"| `{delivery_mode}` | 5 | " in summary.read_text()
