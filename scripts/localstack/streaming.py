"""The local stand-in for Firehose's Snowflake destination (Snowpipe Streaming, `JSON_MAPPING`):
each transformed record is one JSON object whose keys are the table's column names; it becomes
one row, the values cast to the columns' types (strings into TIMESTAMP_TZ, objects into VARIANT),
inserted through the local warehouse's server as a client of Snowflake would.

A record the mapping refuses is not inserted and comes back with an error code, which the relay
writes under the error output prefix as `snowflake-failed`, and the other records load (Snowpipe
Streaming inserts row by row, not a file at a time): a record that is not a JSON object, a key
that is no column (keys are matched exactly, upper case, no case folding), a NOT NULL column
missing or null, a value the column's type refuses. The error codes are this stand-in's
(docs/local-stack.md); Firehose's own list is "Snowflake data delivery errors" in its guide.

The values travel as a bound parameter (the connector's qmark style: server-side binding), not
inside the SQL text. Every snowflake_shim.MERGE_EVERY_SECONDS a thread of its own, on a session of
its own, merges the rows inserted since into the dedup history (snowflake/dedup_merge.sql), as
Snowflake's merge task does on its schedule, beside the inserts, from its stream on EVENTS. No row
is left out of the history: `close()` (the relay stopping) merges what is pending before it
returns, and a new StreamingTable (a restarted relay, in any mode) first merges every row this
destination inserted that the history does not have, whatever its age: those of a relay killed
before its merge. Rows are merged from EVENTS (config/pipeline.json), the table the Snowflake
destination writes and the one the dedup history keeps.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import datetime, timezone

import snowflake.connector

from . import snowflake_shim, warehouse
from .settings import PIPELINE

log = logging.getLogger("snowflake-streaming")

# FILE_NAME of the rows this destination inserts: kinesis/<shard id>/<sequence number>.
FILE_NAME_PREFIX = "kinesis/"
EVENTS_TABLE = "{database}.{schema}.{table}".format(**PIPELINE.snowflake)


class WarehouseDown(Exception):
    """The local warehouse does not answer: the insert is retried, nothing is refused."""


class StreamingTable:
    def __init__(self, connect=None, merge_every: float = snowflake_shim.MERGE_EVERY_SECONDS):
        """`connect`: a qmark-style DB-API connection factory (default: the warehouse server)."""
        self._connect = connect or _server_connection
        self._merge_every = merge_every
        self._connection = None
        self._columns: dict[str, dict[str, tuple[str, bool]]] = {}
        # The oldest RECEIVED_AT inserted and not merged yet.
        self._merge_from: datetime | None = None
        # At first, the rows no merge has taken yet: a killed relay's last ones.
        self._merge_unmerged = True
        self._merged_at = time.monotonic() - merge_every
        self._merge_lock = threading.Lock()
        self._merging: threading.Thread | None = None

    def insert(self, table: str, rows: list[tuple[dict, bytes]]) -> dict[int, tuple[str, str]]:
        """Inserts the transformed records of `rows` ((Kinesis record, record data) pairs) into
        `table` (DATABASE.SCHEMA.TABLE); returns the refused ones by index: (code, message). Any
        other failure (the warehouse down or restarting) raises, and the caller tries again."""
        try:
            return self._insert_rows(table, rows)
        except Exception:
            self._connection = None  # a new session next time
            raise

    def _insert_rows(self, table: str, rows: list[tuple[dict, bytes]]) -> dict[int, tuple[str, str]]:
        cursor = self._cursor()
        columns = self._table_columns(cursor, table)
        refused: dict[int, tuple[str, str]] = {}
        mapped: dict[int, dict] = {}
        for index, (_, data) in enumerate(rows):
            problem = _mapping_problem(data, columns)
            if problem:
                refused[index] = problem
            else:
                mapped[index] = json.loads(data)
        if mapped and not self._insert(cursor, table, columns, list(mapped.values())):
            # Some value does not fit its column: find which, one row at a time.
            for index, row in mapped.items():
                if not self._insert(cursor, table, columns, [row]):
                    refused[index] = ("Snowflake.InvalidValue", self._last_error)
        with self._merge_lock:
            for index, row in mapped.items():
                received = _instant(row.get("RECEIVED_AT")) if index not in refused else None
                if received and (self._merge_from is None or received < self._merge_from):
                    self._merge_from = received
        self.merge_due()
        if refused:
            log.warning("refused %d of %d rows, first: %s", len(refused), len(rows), next(iter(refused.values())))
        return refused

    def _cursor(self):
        if self._connection is None:
            self._connection = self._connect()
        return self._connection.cursor()

    def _table_columns(self, cursor, table: str) -> dict[str, tuple[str, bool]]:
        """The table's columns: name -> (data type, nullable)."""
        if table not in self._columns:
            database, schema, name = table.split(".")
            cursor.execute(
                f"SELECT COLUMN_NAME, DATA_TYPE, IS_NULLABLE FROM {database}.INFORMATION_SCHEMA.COLUMNS "
                "WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
                [schema, name])
            found = {column: (data_type.upper(), nullable == "YES") for column, data_type, nullable in cursor.fetchall()}
            if not found:
                raise LookupError(f"table {table} does not exist")
            self._columns[table] = found
        return self._columns[table]

    def _insert(self, cursor, table: str, columns: dict[str, tuple[str, bool]], rows: list[dict]) -> bool:
        """One INSERT of `rows`; False (nothing inserted) when a value does not fit its column."""
        names = list(columns)
        projections = ", ".join(_projection(name, columns[name][0]) for name in names)
        sql = (f"INSERT INTO {table} ({', '.join(names)}) SELECT {projections} "
               "FROM TABLE(FLATTEN(INPUT => PARSE_JSON(?))) R")
        try:
            cursor.execute(sql, [json.dumps(rows)])
        except snowflake.connector.errors.Error as error:
            if not snowflake_shim.is_data_error(error):
                raise
            self._last_error = (getattr(error, "msg", None) or str(error)).strip().splitlines()[0]
            return False
        return True

    def merge_due(self) -> None:
        """Starts the merge in the background when it is due and the previous one has finished:
        after inserts, and once at first (the horizon's rows)."""
        if self._merging is not None and self._merging.is_alive():
            return
        with self._merge_lock:
            if not self._merge_pending() or time.monotonic() - self._merged_at < self._merge_every:
                return
            since, unmerged = self._take_pending()
            self._merged_at = time.monotonic()
        self._merging = threading.Thread(target=self._merge, args=(since, unmerged), name="merge", daemon=True)
        self._merging.start()
        if self._merge_every == 0:  # merging at every insert: wait for it (tests)
            self._merging.join()

    def close(self) -> None:
        """Waits for a running merge, then merges whatever is pending, before returning: the last
        seconds' rows would otherwise wait for the next relay (the relay is stopping)."""
        if self._merging is not None:
            self._merging.join()
        with self._merge_lock:
            since, unmerged = self._take_pending()
        if since or unmerged:
            self._merge(since, unmerged)

    def _merge_pending(self) -> bool:
        return self._merge_from is not None or self._merge_unmerged

    def _take_pending(self) -> tuple[datetime | None, bool]:
        """What the next merge takes (under the lock), no longer pending."""
        taken = self._merge_from, self._merge_unmerged
        self._merge_from, self._merge_unmerged = None, False
        return taken

    def _merge(self, since: datetime | None, unmerged: bool) -> None:
        """Merges this destination's rows received since `since`, and with `unmerged` every one of
        them the history lacks; what fails stays pending."""
        taken = ([f"EVENT_ID NOT IN (SELECT EVENT_ID FROM {snowflake_shim.dedup_history()})"] if unmerged else []) + (
            ["RECEIVED_AT >= CAST(? AS TIMESTAMP_TZ)"] if since else [])
        changes = (f"(SELECT * FROM {EVENTS_TABLE} WHERE FILE_NAME LIKE '{FILE_NAME_PREFIX}%' "
                   f"AND ({' OR '.join(taken)}))")
        what = " and ".join((["the rows never merged"] if unmerged else []) + ([f"the rows since {since}"] if since else []))
        try:
            connection = self._connect()
            try:
                connection.cursor().execute(snowflake_shim.render("dedup_merge", changes=changes),
                                            [since.isoformat()] if since else [])
            finally:
                if connection is not self._connection:
                    connection.close()
        except Exception as error:  # noqa: BLE001 - the rows stay in EVENTS and the view; merged next time
            if isinstance(error, WarehouseDown):  # the loader's server is starting, or stopped
                log.info("merging %s into the dedup history: %s; it will be retried", what, error)
            else:
                log.exception("merging %s into the dedup history failed; it will be retried", what)
            with self._merge_lock:
                if since:
                    self._merge_from = since if self._merge_from is None else min(since, self._merge_from)
                self._merge_unmerged |= unmerged


def _server_connection():
    """A session on the warehouse server; never the file itself, which the loader's process owns."""
    if not warehouse.server_is_up():
        raise WarehouseDown("the local warehouse's server is not up")
    return warehouse.connect(paramstyle="qmark")


def _instant(text) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None


def _projection(column: str, data_type: str) -> str:
    value = f"R.VALUE:{column}"
    return value if data_type in ("VARIANT", "OBJECT", "ARRAY") else f"{value}::{data_type}"


def _mapping_problem(data: bytes, columns: dict[str, tuple[str, bool]]) -> tuple[str, str] | None:
    try:
        row = json.loads(data)
    except ValueError as error:
        return "Snowflake.InvalidInput", f"the record is not JSON: {error}"
    if not isinstance(row, dict):
        return "Snowflake.InvalidInput", f"the record is a JSON {type(row).__name__}, not an object"
    extra = sorted(set(row) - set(columns))
    if extra:
        return "Snowflake.ExtraColumns", f"keys that are no column of the table: {', '.join(extra)}"
    missing = [name for name, (_, nullable) in columns.items() if not nullable and row.get(name) is None]
    if missing:
        return "Snowflake.MissingColumns", f"NOT NULL columns without a value: {', '.join(missing)}"
    return None
