"""Snowpipe semantics for a file that cannot load (the pipe's ON_ERROR = SKIP_FILE): the file
loads nothing and is recorded once as LOAD_FAILED with its first error, the other files keep
loading, and the documented re-load path (`scripts/local reload`) loads it once after the fix."""

from __future__ import annotations

import contextlib
import json
import subprocess
import uuid
from datetime import datetime, timedelta, timezone

from conftest import LOCAL
from e2e_helpers import eventually, query, wait_for_rows

from localstack.aws import client
from localstack.loader import COPY_HISTORY
from localstack.resources import pipe_queue_url
from localstack.settings import PIPELINE

TABLE = PIPELINE.snowflake["table"]
VIEW = PIPELINE.snowflake["dedup_view"]
ROWS_PER_FILE = 5
BAD_LINE = 3


def _ndjson(run: str, name: str, bad_line: int | None) -> bytes:
    """A Firehose-like NDJSON object; line `bad_line` has an occurred_at the TIMESTAMP_TZ cast
    cannot take (the validator never emits one: this file is written straight to the bucket)."""
    now = datetime.now(timezone.utc)
    lines = []
    for line in range(1, ROWS_PER_FILE + 1):
        occurred = (now - timedelta(minutes=line)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        lines.append(json.dumps({
            "event_id": f"load-failures-{run}-{name}-{line}",
            "event_type": "page_view",
            "occurred_at": "2026-02-30T25:61:00Z" if line == bad_line else occurred,
            "source": f"load-failures-{run}",
            "payload": {"url": f"https://example.com/{name}/{line}"},
            "_ingest": {"received_at": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "request_id": run},
        }))
    return ("\n".join(lines) + "\n").encode()


def _history(file_name: str) -> list[dict]:
    return query(f"SELECT * FROM {COPY_HISTORY} WHERE FILE_NAME = %s ORDER BY LAST_LOAD_TIME", [file_name])


def _rows(file_name: str) -> list[dict]:
    return query(f"SELECT EVENT_ID, FILE_ROW_NUMBER FROM {TABLE} WHERE FILE_NAME = %s", [file_name])


def test_a_bad_row_fails_its_file_once_and_the_reload_path_loads_it_after_the_fix(api):
    run = uuid.uuid4().hex[:12]
    folder = f"event_type=page_view/dt={datetime.now(timezone.utc):%Y-%m-%d}/"
    bad_name = f"{folder}load-failures-{run}-bad"
    good_name = f"{folder}load-failures-{run}-good"
    bucket, prefix = PIPELINE.names["data_bucket"], PIPELINE.prefixes["events"]
    s3 = client("s3")
    s3.put_object(Bucket=bucket, Key=prefix + bad_name, Body=_ndjson(run, "bad", BAD_LINE))
    s3.put_object(Bucket=bucket, Key=prefix + good_name, Body=_ndjson(run, "good", None))

    # The good file loads whole although the other one cannot.
    assert len(wait_for_rows(f"SELECT 1 FROM {TABLE} WHERE FILE_NAME = %s", [good_name], ROWS_PER_FILE)) == ROWS_PER_FILE
    [good] = _history(good_name)
    assert (good["STATUS"], good["ROW_COUNT"], good["FIRST_ERROR_MESSAGE"]) == ("LOADED", ROWS_PER_FILE, None)

    # The bad file loads nothing (SKIP_FILE: not even its good rows) and is recorded as failed,
    # with its first error and that error's line.
    [failed] = eventually(lambda: _history(bad_name), bool)
    assert failed["STATUS"] == "LOAD_FAILED"
    assert failed["ROW_COUNT"] == 0
    assert "2026-02-30T25:61:00Z" in failed["FIRST_ERROR_MESSAGE"]
    assert failed["FIRST_ERROR_LINE_NUMBER"] == BAD_LINE
    assert failed["PIPE_NAME"].endswith(PIPELINE.snowflake["pipe"])
    assert _rows(bad_name) == []

    # Not retried: the message is gone from the queue, and a later file still loads, after which
    # the failed file still has exactly one attempt.
    later_name = f"{folder}load-failures-{run}-later"
    s3.put_object(Bucket=bucket, Key=prefix + later_name, Body=_ndjson(run, "later", None))
    wait_for_rows(f"SELECT 1 FROM {TABLE} WHERE FILE_NAME = %s", [later_name], ROWS_PER_FILE)
    assert len(_history(bad_name)) == 1
    assert _rows(bad_name) == []

    # The fix: the object is rewritten with data that loads. Like Snowpipe, the pipe does not
    # load a file name it has already tried; the documented re-load path does.
    s3.put_object(Bucket=bucket, Key=prefix + bad_name, Body=_ndjson(run, "bad", None))
    reload = subprocess.run([LOCAL, "reload", prefix + bad_name], capture_output=True, text=True, timeout=180)
    assert reload.returncode == 0, reload.stderr
    assert f"{bad_name}: LOADED" in reload.stderr

    history = _history(bad_name)
    assert [row["STATUS"] for row in history] == ["LOAD_FAILED", "LOADED"]
    assert history[1]["PIPE_NAME"] is None  # a COPY, not the pipe, as COPY_HISTORY shows it
    rows = _rows(bad_name)
    assert sorted(row["FILE_ROW_NUMBER"] for row in rows) == list(range(1, ROWS_PER_FILE + 1))
    ids = [f"load-failures-{run}-bad-{line}" for line in range(1, ROWS_PER_FILE + 1)]
    in_view = query(f"SELECT EVENT_ID FROM {VIEW} WHERE SOURCE = %s", [f"load-failures-{run}"])
    assert sorted(row["EVENT_ID"] for row in in_view if "-bad-" in row["EVENT_ID"]) == sorted(ids)

    # Reloading again changes nothing: the file is loaded.
    again = subprocess.run([LOCAL, "reload", bad_name], capture_output=True, text=True, timeout=180)
    assert again.returncode == 0, again.stderr
    assert f"{bad_name}: already loaded" in again.stderr
    assert len(_history(bad_name)) == 2
    assert len(_rows(bad_name)) == ROWS_PER_FILE


@contextlib.contextmanager
def _bucket_notifications_off(s3, bucket: str):
    """While inside, S3 notifies nobody of new objects: the test's own message is the only one
    naming them, so the loader receives them together (the stack is the test's alone)."""
    saved = s3.get_bucket_notification_configuration(Bucket=bucket)
    saved.pop("ResponseMetadata", None)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={})
    try:
        yield
    finally:
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=saved)


def _notify(bucket: str, keys: list[str]) -> None:
    """One S3 event notification announcing several objects, on the pipe's queue: the loader
    receives them together, as it does a flush's partition files."""
    records = [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": bucket}, "object": {"key": key}}}
               for key in keys]
    client("sqs").send_message(QueueUrl=pipe_queue_url(), MessageBody=json.dumps({"Records": records}))


def test_files_received_together_load_together_and_a_bad_one_still_fails_alone(api):
    run = uuid.uuid4().hex[:12]
    bucket, prefix = PIPELINE.names["data_bucket"], PIPELINE.prefixes["events"]
    folder = f"event_type=page_view/dt={datetime.now(timezone.utc):%Y-%m-%d}/load-batches-{run}-"
    names = {name: folder + name for name in ("first", "bad", "second", "third", "fourth", "gzip")}
    s3 = client("s3")
    with _bucket_notifications_off(s3, bucket):
        for name, file_name in names.items():
            # "gzip": gzip's magic bytes, then garbage (COMPRESSION = AUTO takes it for gzip).
            body = b"\x1f\x8b" + b"garbage" * 10 if name == "gzip" else _ndjson(run, name, BAD_LINE if name == "bad" else None)
            s3.put_object(Bucket=bucket, Key=prefix + file_name, Body=body)

    # A bad file among good ones: the one statement fails, the files load one by one, and only
    # the bad files are skipped, with their first error (and line, where a line is at fault).
    _notify(bucket, [prefix + names[name] for name in ("first", "bad", "gzip", "second")])
    for name in ("first", "second"):
        wait_for_rows(f"SELECT 1 FROM {TABLE} WHERE FILE_NAME = %s", [names[name]], ROWS_PER_FILE)
        [loaded] = _history(names[name])
        assert (loaded["STATUS"], loaded["ROW_COUNT"]) == ("LOADED", ROWS_PER_FILE)
    [failed] = eventually(lambda: _history(names["bad"]), bool)
    assert (failed["STATUS"], failed["FIRST_ERROR_LINE_NUMBER"]) == ("LOAD_FAILED", BAD_LINE)
    [not_gzip] = eventually(lambda: _history(names["gzip"]), bool)
    assert not_gzip["STATUS"] == "LOAD_FAILED" and "gzip" in not_gzip["FIRST_ERROR_MESSAGE"]
    assert _rows(names["bad"]) == [] and _rows(names["gzip"]) == []

    # Good files together load whole, each with its own name and row numbers; a file named again
    # is skipped, not loaded twice; an object outside the stage is not loaded at all.
    _notify(bucket, [prefix + names["third"], prefix + names["fourth"], prefix + names["first"], names["third"]])
    for name in ("third", "fourth"):
        wait_for_rows(f"SELECT 1 FROM {TABLE} WHERE FILE_NAME = %s", [names[name]], ROWS_PER_FILE)
    loaded = query(f"SELECT FILE_NAME, FILE_ROW_NUMBER, EVENT_ID FROM {TABLE} WHERE FILE_NAME IN (%s, %s)",
                   [names["third"], names["fourth"]])
    for name in ("third", "fourth"):
        rows = sorted((row["FILE_ROW_NUMBER"], row["EVENT_ID"]) for row in loaded if row["FILE_NAME"] == names[name])
        assert rows == [(line, f"load-failures-{run}-{name}-{line}") for line in range(1, ROWS_PER_FILE + 1)]
        assert [row["STATUS"] for row in _history(names[name])] == ["LOADED"]
    assert len(_rows(names["first"])) == ROWS_PER_FILE and len(_history(names["first"])) == 1

    # The merge task's stand-in takes the loaded files on its schedule (at most every few seconds,
    # or when the queue is idle): their events reach the dedup history, and the files are marked.
    history = f"{VIEW}_HISTORY"
    ids = [f"load-failures-{run}-{name}-{line}" for name in ("first", "second", "third", "fourth")
           for line in range(1, ROWS_PER_FILE + 1)]
    merged = eventually(lambda: query(f"SELECT EVENT_ID FROM {history} WHERE EVENT_ID LIKE %s", [f"load-failures-{run}-%"]),
                        lambda rows: len(rows) >= len(ids))
    assert sorted(row["EVENT_ID"] for row in merged) == sorted(ids)
    marks = eventually(lambda: query(f"SELECT FILE_NAME, MERGED FROM {COPY_HISTORY} WHERE FILE_NAME LIKE %s AND STATUS = 'LOADED'",
                                     [f"{folder}%"]), lambda rows: all(row["MERGED"] for row in rows))
    assert len(marks) == 4 and all(row["MERGED"] for row in marks)
