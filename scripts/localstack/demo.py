"""The end of `scripts/demo`: from newman's JSON report, the events the API accepted; waits until
they are rows of EVENTS_DEDUP and prints them."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from . import warehouse
from .settings import PIPELINE

ARRIVAL_TIMEOUT_SECONDS = 60
PAYLOAD_WIDTH = 60


def accepted_event_ids(report: Path) -> list[str]:
    ids = []
    for execution in json.loads(report.read_text())["run"]["executions"]:
        response = execution.get("response") or {}
        if response.get("code") == 202:
            body = json.loads(bytes(response["stream"]["data"]))
            ids += [r["event_id"] for r in body["results"] if r["status"] == "accepted"]
    return ids


def rows_of(event_ids: list[str]) -> tuple[list[str], list[tuple]]:
    placeholders = ", ".join(["%s"] * len(event_ids))
    return warehouse.query(
        f"SELECT EVENT_ID, EVENT_TYPE, OCCURRED_AT, SOURCE, PAYLOAD, LOADED_AT "
        f"FROM {PIPELINE.snowflake['dedup_view']} WHERE EVENT_ID IN ({placeholders}) ORDER BY OCCURRED_AT",
        event_ids,
    )


def table(columns: list[str], rows: list[tuple]) -> str:
    cells = [columns] + [[_cell(value) for value in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    return "\n".join("  ".join(value.ljust(width) for value, width in zip(row, widths)).rstrip() for row in cells)


def _cell(value) -> str:
    text = " ".join(str(value).split()) if value is not None else ""
    return text if len(text) <= PAYLOAD_WIDTH else text[: PAYLOAD_WIDTH - 1] + "…"


def main(report: str) -> None:
    event_ids = accepted_event_ids(Path(report))
    if not event_ids:
        raise SystemExit("newman's report shows no accepted event")
    deadline = time.monotonic() + ARRIVAL_TIMEOUT_SECONDS
    columns, rows = rows_of(event_ids)
    while len(rows) < len(event_ids) and time.monotonic() < deadline:
        time.sleep(0.5)
        columns, rows = rows_of(event_ids)
    print(f"\n{len(event_ids)} events accepted by POST /events; {len(rows)} of them are rows of "
          f"{PIPELINE.snowflake['dedup_view']} now:\n")
    print(table(columns, rows))
    print(f'\nMore: scripts/local sql "SELECT COUNT(*) FROM {PIPELINE.snowflake["dedup_view"]}"'
          "   scripts/local status   scripts/local logs   scripts/local down")
    if len(rows) < len(event_ids):
        raise SystemExit(f"{len(event_ids) - len(rows)} accepted events did not arrive within "
                         f"{ARRIVAL_TIMEOUT_SECONDS} s: see `scripts/local logs`")


if __name__ == "__main__":
    main(*sys.argv[1:])
