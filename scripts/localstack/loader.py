"""The local Snowpipe: reads the pipe's SQS queue (S3 event notifications from the data bucket),
mirrors each new object into the local stage folder, and loads it with the project's pipe COPY
(snowflake/pipe_copy.sql, translated for fakesnow by snowflake_shim.py).

Like Snowpipe with the pipe's ON_ERROR = SKIP_FILE, it loads each file once and whole: a file
already in the copy history is skipped, and a file with any row that cannot be parsed or cast
loads nothing, is recorded as LOAD_FAILED with its first error, and is not tried again (the other
files keep loading). The files of one receive are loaded in one statement and one transaction
(fakesnow's cost is per statement, and a flush writes one file per partition); when that fails,
they are loaded one by one, so one bad file fails alone. It is at least once: a message is deleted only after its files are loaded or
failed, so a crash means a redelivery, and EVENTS_DEDUP hides any repeat. A failure that is not
the data's (anything but a data exception) is retried, at most MAX_ATTEMPTS times per file.

`scripts/local reload` is the local `COPY INTO … FILES = (…)` with the pipe's statement: it sends
a reload request through the same queue, and the loader loads the named files again unless they
are already LOADED, recording the attempt with no pipe name, as COPY_HISTORY does for a COPY.
It also serves the warehouse to other processes (warehouse.py).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import time
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
# A load that fails for another reason than its data is retried this many times, then failed.
MAX_ATTEMPTS = 3
# The most staged data one statement loads, as stored (DuckDB needs about 20 times the input at
# its peak; the relay writes uncompressed objects, so stored is the size DuckDB reads).
BATCH_MAX_BYTES = 8 * 1024 * 1024
# The body of a reload request on the pipe's queue (sent by `scripts/local reload`).
RELOAD_KEY = "rtstreamReload"

_NAMES = PIPELINE.snowflake
COPY_HISTORY = f"{_NAMES['database']}.LOCAL_SNOWPIPE.COPY_HISTORY"
_HISTORY_SETUP = [
    f"CREATE SCHEMA IF NOT EXISTS {_NAMES['database']}.LOCAL_SNOWPIPE",
    f"""CREATE TABLE IF NOT EXISTS {COPY_HISTORY} (
        FILE_NAME VARCHAR, PIPE_NAME VARCHAR, LAST_LOAD_TIME TIMESTAMP_LTZ, STATUS VARCHAR,
        ROW_COUNT NUMBER, FIRST_ERROR_MESSAGE VARCHAR)""",
    # Added later: a warehouse created before keeps its rows.
    f"ALTER TABLE {COPY_HISTORY} ADD COLUMN IF NOT EXISTS FIRST_ERROR_LINE_NUMBER NUMBER",
    # Whether a loaded file's rows were merged into the dedup history: the local stand-in for the
    # offset of the stream Snowflake's merge task reads.
    f"ALTER TABLE {COPY_HISTORY} ADD COLUMN IF NOT EXISTS MERGED BOOLEAN",
]
_HISTORY_COLUMNS = "FILE_NAME, PIPE_NAME, LAST_LOAD_TIME, STATUS, ROW_COUNT, FIRST_ERROR_MESSAGE, FIRST_ERROR_LINE_NUMBER"


class DataError(Exception):
    """The file's data cannot be loaded: SKIP_FILE, recorded as LOAD_FAILED, not retried."""

    def __init__(self, message: str, line: int | None):
        super().__init__(message)
        self.line = line



class Loader:
    def __init__(self, daemon: Daemon, fake_snow):
        self.daemon = daemon
        self.connection = fake_snow.connect(_NAMES["database"], _NAMES["schema"], paramstyle="qmark")
        self.cursor = self.connection.cursor()
        history_is_new = not self._exists(snowflake_shim.dedup_history())
        for statement in snowflake_shim.setup_statements() + _HISTORY_SETUP:
            self.cursor.execute(statement)
        if history_is_new:
            # A warehouse from before the dedup history: its rows go in once, as the stream's
            # initial rows do in Snowflake.
            self.cursor.execute(snowflake_shim.merge_statement())
            self.cursor.execute(f"UPDATE {COPY_HISTORY} SET MERGED = TRUE WHERE STATUS = 'LOADED'")
        self.unmerged, self.merged_at, self.merge_failed = True, time.monotonic(), False
        self.merge = snowflake_shim.merge_statement(
            f"FILE_NAME IN (SELECT FILE_NAME FROM {COPY_HISTORY} WHERE STATUS = 'LOADED' AND MERGED IS NOT TRUE)")
        self._merge_pending()
        copy = snowflake_shim.render("pipe_copy")
        if _on_error(copy) != "SKIP_FILE":
            raise NotImplementedError(f"the pipe's ON_ERROR is {_on_error(copy)}; this loader does SKIP_FILE only")
        self.load = snowflake_shim.translate_copy(copy)
        self.file_format = snowflake_shim.file_format_options(self.cursor, self.load.file_format)
        self.pipe = f"{_NAMES['database']}.{_NAMES['schema']}.{_NAMES['pipe']}"
        self.sqs = client("sqs")
        self.s3 = client("s3")
        self.queue_url = pipe_queue_url()
        self.stage_prefix = PIPELINE.prefixes["events"]
        self.data_bucket = PIPELINE.names["data_bucket"]
        self.attempts: dict[str, int] = {}
        self.downloads = ThreadPoolExecutor(DOWNLOAD_THREADS, thread_name_prefix="download")

    def _exists(self, qualified_table: str) -> bool:
        database, schema, name = qualified_table.split(".")
        self.cursor.execute(
            "SELECT COUNT(*) FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_CATALOG = ? AND TABLE_SCHEMA = ? AND TABLE_NAME = ?",
            [database, schema, name])
        return bool(self.cursor.fetchone()[0])

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
        reloads = [message for message in messages if RELOAD_KEY in json.loads(message["Body"])]
        notified = [(message, self._in_stage(_created_objects(message))) for message in messages if message not in reloads]
        objects = list(dict.fromkeys((bucket, key) for _, created in notified for bucket, key in created))
        done = self._load_all(dict(zip(objects, self.downloads.map(self._fetch, objects))))
        for message, created in notified:
            if all(done[bucket, key] for bucket, key in created):
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        for message in reloads:
            if all(self._reload(name) for name in json.loads(message["Body"])[RELOAD_KEY]["files"]):
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        # Off the rows' way to the view (EVENTS_DEDUP reads recent rows from EVENTS), as Snowflake's
        # task runs on its schedule beside the pipe: when idle, or at most every few seconds.
        self.unmerged = self.unmerged or bool(messages)
        due = time.monotonic() - self.merged_at >= snowflake_shim.MERGE_EVERY_SECONDS
        if self.unmerged and (due or (not messages and not self.merge_failed)):
            self._merge_pending()

    def _in_stage(self, objects: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """The objects under the stage's URL (the data bucket's events prefix); like Snowpipe,
        the pipe loads nothing else (and two keys must never share a file name)."""
        inside = [(bucket, key) for bucket, key in objects
                  if bucket == self.data_bucket and key.startswith(self.stage_prefix)]
        for bucket, key in set(objects) - set(inside):
            log.warning("ignoring s3://%s/%s: outside the stage s3://%s/%s", bucket, key, self.data_bucket, self.stage_prefix)
        return inside

    def _load_all(self, fetched: dict[tuple[str, str], bytes | None]) -> dict[tuple[str, str], bool]:
        """Loads the notified files not in the history yet, up to BATCH_MAX_BYTES per statement;
        one by one (`_load`) a file alone, or the files of a statement that failed. True: done
        with the file (loaded, failed or skipped); False: keep its message for a retry."""
        names = {key: self._stage_path(key) for _, key in fetched}
        known = self._in_history(list(names.values()))
        self.daemon.count(files_skipped=sum(names[key] in known for _, key in fetched))
        outcome = {file: True for file in fetched if names[file[1]] in known}
        # An object that could not be fetched now keeps its message for a retry; the others load.
        outcome |= {file: False for file, data in fetched.items() if data is None and file not in outcome}
        batch: dict[tuple[str, str], bytes] = {}
        for file, data in fetched.items():
            if file in outcome:
                continue
            if batch and sum(map(len, batch.values())) + len(data) > BATCH_MAX_BYTES:
                outcome |= self._load_batch(batch, names)
                batch = {}
            batch[file] = data
        return outcome | self._load_batch(batch, names)

    def _load_batch(self, batch: dict[tuple[str, str], bytes], names: dict[str, str]) -> dict[tuple[str, str], bool]:
        parsed = {}
        if len(batch) > 1:
            with contextlib.suppress(ValueError):  # a file that cannot be read fails alone, below
                parsed = {names[key]: snowflake_shim.staged_lines(data, self.file_format) for (_, key), data in batch.items()}
        if parsed:
            started = datetime.now(timezone.utc)
            try:
                self._insert(self.pipe, started, parsed)
            except Exception as error:  # noqa: BLE001 - which file it was, the loads one by one tell
                log.info("loading %d files in one statement failed (%s); loading them one by one", len(parsed), error)
            else:
                rows = sum(map(len, parsed.values()))
                for name in parsed:
                    self.attempts.pop(name, None)
                self.daemon.count(files_loaded=len(parsed), rows_loaded=rows)
                log.info("loaded %d files: %d rows in %.0f ms", len(parsed), rows,
                         (datetime.now(timezone.utc) - started).total_seconds() * 1000)
                return dict.fromkeys(batch, True)
        return {(bucket, key): self._load(bucket, key, data) for (bucket, key), data in batch.items()}

    def _in_history(self, file_names: list[str]) -> set[str]:
        """Those of the files the copy history has, loaded or failed (the pipe skips them)."""
        if not file_names:
            return set()
        self.cursor.execute(
            f"SELECT DISTINCT FILE_NAME FROM {COPY_HISTORY} WHERE FILE_NAME IN ({', '.join('?' * len(file_names))})",
            file_names)
        return {row[0] for row in self.cursor.fetchall()}

    def _reload(self, file_name: str) -> bool:
        """COPY INTO … FILES = (file_name) with the pipe's statement: loads the file unless a load
        of it succeeded already (a failed one does not count), without the pipe's name."""
        self.cursor.execute(
            f"SELECT COUNT(*) FROM {COPY_HISTORY} WHERE FILE_NAME = ? AND STATUS = 'LOADED'", [file_name])
        if self.cursor.fetchone()[0]:
            log.info("reload of %s: already loaded, nothing to do", file_name)
            return True
        key = self.stage_prefix + file_name
        return self._load(self.data_bucket, key, self._fetch((self.data_bucket, key)), reload=True)

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

    def _load(self, bucket: str, key: str, data: bytes | None, reload: bool = False) -> bool:
        """Loads one file whole or not at all (SKIP_FILE); the pipe skips a file already in the
        history, loaded or failed. False means: keep the message for a retry."""
        pipe = None if reload else self.pipe
        file_name = self._stage_path(key)
        if not reload and self._in_history([file_name]):
            self.daemon.count(files_skipped=1)
            return True
        if data is None:
            return False
        started = datetime.now(timezone.utc)
        try:
            try:
                lines = snowflake_shim.staged_lines(data, self.file_format)
            except ValueError as error:
                raise DataError(str(error), None) from None
            self._insert(pipe, started, {file_name: lines})
        except DataError as error:
            self._fail(file_name, pipe, error)
            return True
        except Exception as error:  # noqa: BLE001 - not the data's fault: retry, a bounded number of times
            attempts = self.attempts[file_name] = self.attempts.get(file_name, 0) + 1
            if attempts < MAX_ATTEMPTS:
                log.exception("loading %s failed (attempt %d of %d); it will be retried", file_name, attempts, MAX_ATTEMPTS)
                return False
            self._fail(file_name, pipe, DataError(f"gave up after {attempts} attempts: {error}", None))
            return True
        self.attempts.pop(file_name, None)
        self.daemon.count(files_loaded=1, rows_loaded=len(lines))
        log.info("loaded %s: %d rows in %.0f ms", file_name, len(lines),
                 (datetime.now(timezone.utc) - started).total_seconds() * 1000)
        return True

    def _insert(self, pipe: str | None, started: datetime, files: dict[str, list[str]]) -> None:
        """The files' rows and their LOADED history rows in one transaction; DataError (nothing
        written) when a row cannot be cast or stored (its line is found for a single file)."""
        try:
            self.cursor.execute("BEGIN TRANSACTION")
            self.cursor.execute(self.load.sql(len(files)), self.load.params(started.isoformat(), files))
            self._record(pipe, "LOADED", {name: len(lines) for name, lines in files.items()})
            self.cursor.execute("COMMIT")
        except Exception as error:
            with contextlib.suppress(Exception):
                self.cursor.execute("ROLLBACK")
            if not snowflake_shim.is_data_error(error):
                raise
            line = None
            if len(files) == 1:
                ((file_name, lines),) = files.items()
                line = self._first_bad_line(file_name, started, lines)
            raise DataError(str(error), line) from None

    def _merge_pending(self) -> None:
        """What Snowflake's merge task does with its stream (snowflake/dedup_merge.sql), in one
        statement over the loaded files not merged yet. Not in the loads' transaction: fakesnow
        runs a MERGE through a temporary table, and DuckDB writes one database per transaction. A
        crash between a merge and its mark merges the files again, which changes nothing; a failed
        merge is retried at the next run or the next start, as a task's next run would."""
        try:
            self.cursor.execute(self.merge)
        except Exception:  # noqa: BLE001 - the rows stay in EVENTS and in the view's recent part
            log.exception("merging the loaded files into the dedup history failed; it will be retried")
            # At the next scheduled run, not at every step (idle steps come every second).
            self.merged_at, self.merge_failed = time.monotonic(), True
            return
        # This process is the history's only writer, so the files merged are still the unmarked ones.
        self.cursor.execute(f"UPDATE {COPY_HISTORY} SET MERGED = TRUE WHERE STATUS = 'LOADED' AND MERGED IS NOT TRUE")
        self.unmerged, self.merged_at, self.merge_failed = False, time.monotonic(), False

    def _first_bad_line(self, file_name: str, started: datetime, lines: list[str]) -> int | None:
        """The 1-based line of the file's first error: the shortest failing prefix, by bisection
        (a load that fails keeps failing with more lines), each try rolled back."""
        def fails(count: int) -> bool:
            try:
                self.cursor.execute("BEGIN TRANSACTION")
                self.cursor.execute(self.load.sql(1), self.load.params(started.isoformat(), {file_name: lines[:count]}))
                return False
            except Exception as error:  # noqa: BLE001
                return snowflake_shim.is_data_error(error)
            finally:
                with contextlib.suppress(Exception):
                    self.cursor.execute("ROLLBACK")

        low, high = 1, len(lines)
        if not fails(high):
            return None
        while low < high:
            middle = (low + high) // 2
            low, high = (low, middle) if fails(middle) else (middle + 1, high)
        return low

    def _fail(self, file_name: str, pipe: str | None, error: DataError) -> None:
        self.attempts.pop(file_name, None)
        where = f" (line {error.line})" if error.line else ""
        log.error("skipping %s%s, recorded as LOAD_FAILED: %s", file_name, where, error)
        self._record(pipe, "LOAD_FAILED", {file_name: 0}, str(error), error.line)
        self.daemon.count(files_failed=1)

    def _record(self, pipe: str | None, status: str, rows: dict[str, int],
                error: str | None = None, line: int | None = None) -> None:
        """One history row per file (`rows`: each file's row count), in one statement."""
        self.cursor.execute(
            f"INSERT INTO {COPY_HISTORY} ({_HISTORY_COLUMNS}) VALUES "
            + ", ".join(["(?, ?, CURRENT_TIMESTAMP(), ?, ?, ?, ?)"] * len(rows)),
            [value for file_name, count in rows.items() for value in (file_name, pipe, status, count, error, line)],
        )


def _on_error(copy_sql: str) -> str:
    """The COPY's ON_ERROR option; SKIP_FILE, Snowpipe's default, when it names none."""
    option = re.search(r"\bON_ERROR\s*=\s*'?(\w+)'?", copy_sql, re.IGNORECASE)
    return option.group(1).upper() if option else "SKIP_FILE"


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
