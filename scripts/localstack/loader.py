"""The local Snowpipe: reads the pipe's SQS queue (S3 event notifications from the data bucket),
mirrors each new object into the local stage folder, and loads it with the project's pipe COPY
(snowflake/pipe_copy.sql, translated for fakesnow by snowflake_shim.py).

Like Snowpipe it loads each file once (a file already in the copy history is skipped), skips a
file whose data cannot be parsed (ON_ERROR = SKIP_FILE, recorded as LOAD_FAILED), and is at least
once: a message is deleted only after its files are loaded, so a crash means a redelivery, and
EVENTS_DEDUP hides any repeat. It also serves the warehouse to other processes (warehouse.py).
"""

from __future__ import annotations

import contextlib
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from urllib.parse import unquote_plus

# The context manager first: importing the module fakesnow.server rebinds the package attribute.
from fakesnow import server as serve_warehouse
import fakesnow.server as warehouse_server

from . import snowflake_shim, warehouse
from .aws import client
from .daemon import Daemon
from .resources import pipe_queue_url
from .settings import LOCAL, PIPELINE

log = logging.getLogger("snowpipe-loader")

RECEIVE_WAIT_SECONDS = 1
# Long enough for a batch of downloads and loads; a crashed loader's messages come back after it.
VISIBILITY_TIMEOUT_SECONDS = 30
DOWNLOAD_THREADS = 8

_NAMES = PIPELINE.snowflake
COPY_HISTORY = f"{_NAMES['database']}.LOCAL_SNOWPIPE.COPY_HISTORY"
_HISTORY_SETUP = [
    f"CREATE SCHEMA IF NOT EXISTS {_NAMES['database']}.LOCAL_SNOWPIPE",
    f"""CREATE TABLE IF NOT EXISTS {COPY_HISTORY} (
        FILE_NAME VARCHAR, PIPE_NAME VARCHAR, LAST_LOAD_TIME TIMESTAMP_LTZ, STATUS VARCHAR,
        ROW_COUNT NUMBER, FIRST_ERROR_MESSAGE VARCHAR)""",
]


class Loader:
    def __init__(self, daemon: Daemon, fake_snow):
        self.daemon = daemon
        self.connection = fake_snow.connect(_NAMES["database"], _NAMES["schema"], paramstyle="qmark")
        self.cursor = self.connection.cursor()
        for statement in snowflake_shim.setup_statements() + _HISTORY_SETUP:
            self.cursor.execute(statement)
        self.load = snowflake_shim.translate_copy(snowflake_shim.render("pipe_copy"))
        self.file_format = snowflake_shim.file_format_options(self.cursor, self.load.file_format)
        self.pipe = f"{_NAMES['database']}.{_NAMES['schema']}.{_NAMES['pipe']}"
        self.sqs = client("sqs")
        self.s3 = client("s3")
        self.queue_url = pipe_queue_url()
        self.stage_prefix = PIPELINE.prefixes["events"]
        self.downloads = ThreadPoolExecutor(DOWNLOAD_THREADS, thread_name_prefix="download")

    def run(self) -> None:
        log.info("loading from %s into %s via %s", self.queue_url, self.pipe, LOCAL.stage)
        # ReceiveMessage long-polls, so the loop needs no idle pause of its own.
        self.daemon.run(self.step, idle_seconds=0)

    def step(self) -> bool:
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=RECEIVE_WAIT_SECONDS,
            VisibilityTimeout=VISIBILITY_TIMEOUT_SECONDS,
        ).get("Messages", [])
        self.handle(messages)
        return bool(messages)

    def handle(self, messages: list[dict]) -> None:
        notified = [(message, _created_objects(message)) for message in messages]
        objects = {(bucket, key) for _, created in notified for bucket, key in created}
        fetched = dict(zip(objects, self.downloads.map(self._fetch, objects)))
        for message, created in notified:
            if all(self._load(bucket, key, fetched[bucket, key]) for bucket, key in created):
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def _fetch(self, bucket_and_key: tuple[str, str]) -> bytes | None:
        """Mirrors one object into the stage folder; None when it cannot be fetched now."""
        bucket, key = bucket_and_key
        try:
            data = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except Exception as error:  # noqa: BLE001 - any failure means: retry on redelivery
            log.warning("cannot fetch s3://%s/%s: %s", bucket, key, error)
            return None
        path = LOCAL.stage / self._stage_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return data

    def _stage_path(self, key: str) -> str:
        """The file's name relative to the stage, whose URL is s3://<data bucket>/<events prefix>."""
        return key[len(self.stage_prefix):] if key.startswith(self.stage_prefix) else key

    def _load(self, bucket: str, key: str, data: bytes | None) -> bool:
        """Loads one file unless already loaded; False means: keep the message for a retry."""
        if data is None:
            return False
        file_name = self._stage_path(key)
        self.cursor.execute(f"SELECT COUNT(*) FROM {COPY_HISTORY} WHERE FILE_NAME = ?", [file_name])
        if self.cursor.fetchone()[0]:
            self.daemon.count(files_skipped=1)
            return True
        started = datetime.now(timezone.utc)
        try:
            lines = snowflake_shim.staged_lines(data, self.file_format)
        except ValueError as error:
            log.error("skipping %s: %s", file_name, error)
            self._record(file_name, "LOAD_FAILED", 0, str(error))
            self.daemon.count(files_failed=1)
            return True
        try:
            self.cursor.execute("BEGIN TRANSACTION")
            self.cursor.execute(self.load.sql, self.load.params(file_name, started.isoformat(), lines))
            self._record(file_name, "LOADED", len(lines), None)
            self.cursor.execute("COMMIT")
        except Exception:
            with contextlib.suppress(Exception):
                self.cursor.execute("ROLLBACK")
            log.exception("loading %s failed; it will be retried", file_name)
            return False
        self.daemon.count(files_loaded=1, rows_loaded=len(lines))
        log.info("loaded %s: %d rows in %.0f ms", file_name, len(lines),
                 (datetime.now(timezone.utc) - started).total_seconds() * 1000)
        return True

    def _record(self, file_name: str, status: str, rows: int, error: str | None) -> None:
        self.cursor.execute(
            f"INSERT INTO {COPY_HISTORY} VALUES (?, ?, CURRENT_TIMESTAMP(), ?, ?, ?)",
            [file_name, self.pipe, status, rows, error],
        )


def _created_objects(message: dict) -> list[tuple[str, str]]:
    """The (bucket, key) pairs an S3 event notification announces (none for s3:TestEvent)."""
    body = json.loads(message["Body"])
    return [
        (record["s3"]["bucket"]["name"], unquote_plus(record["s3"]["object"]["key"]))
        for record in body.get("Records", [])
        if record.get("eventName", "").startswith("ObjectCreated")
    ]


def main() -> None:
    logging.getLogger("uvicorn.access").disabled = True  # one line per query is noise here
    daemon = Daemon("snowpipe-loader")
    fake_snow = warehouse.open_file()
    loader = Loader(daemon, fake_snow)
    # Readers share this process's DuckDB instance through fakesnow's server.
    warehouse_server.shared_fs = fake_snow
    with serve_warehouse(port=LOCAL.warehouse_port, host="127.0.0.1"):
        daemon.heartbeat(force=True)
        loader.run()
    log.info("stopped")


if __name__ == "__main__":
    main()
