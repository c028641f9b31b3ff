"""The Lambdas' metrics on the local stack: their logs (MiniStack's CloudWatch Logs, where it puts
a function's stdout as Lambda does) hold EMF lines that CloudWatch would turn into metrics, valid
by the specification's required fields and counting the request that was sent: the validator its
events, the transformer the Firehose records (packed: several events each) and the events in them."""

from __future__ import annotations

import json
import random
import time
import uuid
from datetime import datetime, timedelta, timezone

from e2e_helpers import eventually

from localstack.aws import client
from localstack.settings import DEFAULT_DELIVERY_MODE, PIPELINE

NAMESPACE = PIPELINE.expand(PIPELINE.raw["metrics"]["namespace"])
NAMES = PIPELINE.raw["metrics"]


def emf_problems(document: dict) -> list[str]:
    """What `document` lacks to be an EMF document: the specification's required members."""
    aws = document.get("_aws")
    if not isinstance(aws, dict):
        return ["no _aws object"]
    problems = []
    if not isinstance(aws.get("Timestamp"), int):
        problems.append("_aws.Timestamp is not whole milliseconds")
    directives = aws.get("CloudWatchMetrics")
    if not isinstance(directives, list) or not directives:
        return problems + ["_aws.CloudWatchMetrics is not a non-empty array"]
    for directive in directives:
        if not isinstance(directive.get("Namespace"), str):
            problems.append(f"no Namespace: {directive}")
        for dimension_set in directive.get("Dimensions", None) or [None]:
            if not isinstance(dimension_set, list) or len(dimension_set) > 30:
                problems.append(f"bad dimension set {dimension_set!r}")
                continue
            problems += [f"dimension {key} is not a string member" for key in dimension_set if not isinstance(document.get(key), str)]
        metrics = directive.get("Metrics")
        if not isinstance(metrics, list) or len(metrics) > 100:
            problems.append(f"bad Metrics: {metrics!r}")
            continue
        for metric in metrics:
            value = document.get(metric.get("Name"))
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                problems.append(f"metric {metric.get('Name')} has no numeric value")
    return problems


def emf_documents(function: str, since_ms: int) -> list[dict]:
    """The EMF documents in `function`'s log since `since_ms`."""
    logs = client("logs")
    group = f"/aws/lambda/{PIPELINE.names[function]}"
    documents = []
    try:
        pages = logs.get_paginator("filter_log_events").paginate(logGroupName=group, startTime=since_ms)
        for page in pages:
            for event in page["events"]:
                message = event["message"].strip()
                if message.startswith("{") and '"_aws"' in message:
                    documents.append(json.loads(message))
    except logs.exceptions.ResourceNotFoundException:
        pass  # no invocation has logged yet
    return documents


def test_the_lambdas_log_valid_emf_lines_with_the_request_s_counts(api):
    since_ms = int(time.time() * 1000) - 1000
    occurred_at = (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat()
    run = uuid.uuid4().hex[:8]
    # A source of random length makes this request's RequestBytes tell its line apart.
    source = f"metrics-{run}-" + "x" * random.randint(1, 200)
    events = [
        {"event_id": f"m-{run}-{n}", "event_type": "page_view", "occurred_at": occurred_at, "source": source, "payload": {"url": "https://m"}}
        for n in range(3)
    ]
    events.append({"event_type": "page_view", "occurred_at": occurred_at, "source": source, "payload": {}})
    body = json.dumps(events).encode()

    answer = api.post(body)

    assert answer.status == 202 and (answer.body["accepted"], answer.body["rejected"]) == (3, 1), answer.body
    validator_metrics = NAMES["validator"]
    mine = eventually(
        lambda: [d for d in emf_documents("validator_function", since_ms) if d.get(validator_metrics["request_bytes"]) == len(body)],
        bool,
        timeout=30,
    )
    assert len(mine) == 1, mine
    document = mine[0]
    assert emf_problems(document) == [], document
    assert {directive["Namespace"] for directive in document["_aws"]["CloudWatchMetrics"]} == {NAMESPACE}
    dimensions = NAMES["dimensions"]
    expected = {
        validator_metrics["events_accepted"]: 3,
        validator_metrics["events_rejected"]: 1,
        validator_metrics["events_failed"]: 0,
        validator_metrics["rejections"]: 1,
        validator_metrics["requests"]: 1,
        validator_metrics["put_records_calls"]: 1,
        dimensions["event_type"]: "page_view",
        dimensions["code"]: "schema.required",
        dimensions["format"]: "array",
    }
    assert {key: document.get(key) for key in expected} == expected
    assert document[validator_metrics["kinesis_time"]] > 0 and document[validator_metrics["error_store_time"]] > 0

    # The transformer's batch with these events is logged once Firehose's relay has invoked it.
    # In the default mode the validator packs the three small page_views into one Kinesis record:
    # RecordsOk counts that record (what Firehose counts), EventsDelivered its three events.
    transformer = NAMES["transformer"]
    packs = PIPELINE.raw["delivery_modes"]["modes"][DEFAULT_DELIVERY_MODE]["packs"]
    records_sent = 1 if packs else len(events) - 1

    def page_views(found: list[dict], metric: str) -> int:
        return sum(d.get(transformer[metric], 0) for d in found if d.get(dimensions["event_type"]) == "page_view")

    batches = eventually(
        lambda: emf_documents("transformer_function", since_ms),
        lambda found: page_views(found, "events_delivered") >= 3,
        timeout=180,
    )
    assert batches, "no EMF line in the transformer's log"
    for document in batches:
        assert emf_problems(document) == [], document
        assert {directive["Namespace"] for directive in document["_aws"]["CloudWatchMetrics"]} == {NAMESPACE}
        assert document.get(transformer["events_delivered"], 0) >= document.get(transformer["records_ok"], 0), document
    # Other page_views in these batches (if any) add as many events as records, or more when
    # packed: ours alone make events exceed records by what packing saved.
    records, delivered = page_views(batches, "records_ok"), page_views(batches, "events_delivered")
    assert records >= records_sent and delivered - records >= (len(events) - 1) - records_sent, (records, delivered)
