"""The local Snowflake destination (scripts/localstack/streaming.py) maps the transformer's
snowpipe_streaming records into EVENTS as JSON_MAPPING does, against a fakesnow warehouse of its
own (no stack needed): keys to columns, strings into TIMESTAMP_TZ, objects into VARIANT, and
every record it cannot map refused by name while the others load; and every row inserted reaches
the dedup history, also the last ones before the relay stops or is killed."""

from __future__ import annotations

import json
import warnings
from datetime import datetime

import pytest
from e2e_helpers import ROOT  # noqa: F401  (puts scripts/ on the path)

from localstack import snowflake_shim
from localstack.settings import PIPELINE
from localstack.streaming import StreamingTable

NAMES = PIPELINE.snowflake
TABLE = f"{NAMES['database']}.{NAMES['schema']}.{NAMES['table']}"


@pytest.fixture
def connect(tmp_path):
    """A connection factory on a fakesnow warehouse of the test's own, set up as the loader sets
    up the local one; every call is a session of its own, as on the warehouse server."""
    from fakesnow.instance import FakeSnow

    warnings.filterwarnings("ignore", message="Arrow output on a DB-API result")
    fake_snow = FakeSnow(db_path=tmp_path)

    def session():
        return fake_snow.connect(NAMES["database"], NAMES["schema"], paramstyle="qmark")

    setup = session().cursor()
    for statement in snowflake_shim.setup_statements():
        setup.execute(statement)
    return session


@pytest.fixture
def cursor_and_table(connect):
    connection = connect()
    yield connection.cursor(), StreamingTable(connect=lambda: connection, merge_every=0)
    connection.close()


def streaming_record(index: int, **changes) -> dict:
    """What the transformer emits for one event in snowpipe_streaming (docs/latency.md, "The same
    table contract in every mode")."""
    ingest = {
        "received_at": f"2026-11-26T21:00:0{index}.250Z",
        "kinesis_sequence_number": f"4960000000000000000000{index}",
        "kinesis_shard_id": "shardId-000000000000",
        "kinesis_partition_key": f"id-{index}",
        "firehose_record_id": f"4960000000000000000000{index}000000",
    }
    record = {
        "EVENT_ID": f"id-{index}",
        "EVENT_TYPE": "page_view",
        "SOURCE": "unit",
        "OCCURRED_AT": "2026-11-26T20:59:59.5+01:00",
        "RECEIVED_AT": ingest["received_at"],
        "PAYLOAD": {"url": "https://example.com", "n": [1, 2.5, True, None], "nested": {"a": "b"}},
        "INGEST": ingest,
        "FILE_NAME": f"kinesis/{ingest['kinesis_shard_id']}/{ingest['kinesis_sequence_number']}",
        "FILE_ROW_NUMBER": 1,
    }
    record.update(changes)
    return {key: value for key, value in record.items() if value is not ...}


def rows_of(*records) -> list[tuple[dict, bytes]]:
    return [({"SequenceNumber": str(i)}, r if isinstance(r, bytes) else json.dumps(r).encode())
            for i, r in enumerate(records)]


def test_a_record_becomes_a_row_with_the_values_sent(cursor_and_table):
    cursor, table = cursor_and_table
    record = streaming_record(1)
    assert table.insert(TABLE, rows_of(record)) == {}
    cursor.execute(f"SELECT * FROM {NAMES['dedup_view']}")
    (row,) = [dict(zip([c[0] for c in cursor.description], values)) for values in cursor.fetchall()]
    assert row["EVENT_ID"] == "id-1" and row["EVENT_TYPE"] == "page_view" and row["SOURCE"] == "unit"
    assert row["OCCURRED_AT"] == datetime.fromisoformat("2026-11-26T20:59:59.5+01:00")
    assert row["RECEIVED_AT"] == datetime.fromisoformat("2026-11-26T21:00:01.250+00:00")
    assert json.loads(row["PAYLOAD"]) == record["PAYLOAD"]
    assert json.loads(row["INGEST"]) == record["INGEST"]
    assert row["FILE_NAME"] == record["FILE_NAME"] and row["FILE_ROW_NUMBER"] == 1
    assert row["LOADED_AT"] is None, "no key LOADED_AT: NULL, as the contract says"
    # Merged into the dedup history, as the merge task would.
    cursor.execute(f"SELECT EVENT_ID FROM {snowflake_shim.dedup_history()}")
    assert cursor.fetchall() == [("id-1",)]


def test_records_the_mapping_refuses_are_named_and_the_others_load(cursor_and_table):
    cursor, table = cursor_and_table
    records = [
        streaming_record(1),
        # Today's NDJSON line (lower-case keys): no key is a column.
        {"event_id": "id-2", "event_type": "page_view", "occurred_at": "2026-11-26T21:00:00Z"},
        streaming_record(3, OCCURRED_AT="not a time"),
        streaming_record(4, EVENT_ID=...),
        b"[1, 2]",
        b"{not json",
        streaming_record(7),
    ]
    refused = table.insert(TABLE, rows_of(*records))
    assert {index: code for index, (code, _) in refused.items()} == {
        1: "Snowflake.ExtraColumns",
        2: "Snowflake.InvalidValue",
        3: "Snowflake.MissingColumns",
        4: "Snowflake.InvalidInput",
        5: "Snowflake.InvalidInput",
    }
    assert "event_id" in refused[1][1] and "EVENT_ID" in refused[3][1]
    cursor.execute(f"SELECT EVENT_ID FROM {TABLE} ORDER BY EVENT_ID")
    assert cursor.fetchall() == [("id-1",), ("id-7",)]


def merged_event_ids(connect) -> list[str]:
    cursor = connect().cursor()
    cursor.execute(f"SELECT EVENT_ID FROM {snowflake_shim.dedup_history()} ORDER BY EVENT_ID")
    return [event_id for (event_id,) in cursor.fetchall()]


def test_rows_inserted_just_before_the_relay_stops_are_merged_when_it_stops(connect):
    table = StreamingTable(connect=connect)  # merges every MERGE_EVERY_SECONDS, as in the relay
    assert table.insert(TABLE, rows_of(streaming_record(1))) == {}  # the first insert's merge is due
    table._merging.join()
    assert table.insert(TABLE, rows_of(streaming_record(2))) == {}  # seconds before the next merge
    assert merged_event_ids(connect) == ["id-1"], "the second row waits for the next merge"
    table.close()  # the relay's final flush is done
    assert merged_event_ids(connect) == ["id-1", "id-2"]


def test_a_new_streaming_table_merges_what_a_killed_one_left_unmerged(connect):
    killed = StreamingTable(connect=connect)
    killed.insert(TABLE, rows_of(streaming_record(1)))
    killed._merging.join()
    # Received hours ago (a backlog, a replay): older than the dedup horizon, still merged.
    killed.insert(TABLE, rows_of(streaming_record(2)))  # then SIGKILL: no close()
    assert merged_event_ids(connect) == ["id-1"]
    restarted = StreamingTable(connect=connect)  # the next relay, in whatever mode: it inserts nothing
    restarted.merge_due()
    restarted.close()
    assert merged_event_ids(connect) == ["id-1", "id-2"]
