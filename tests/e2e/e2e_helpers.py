"""Shared by the end-to-end tests: import paths, warehouse queries, polling."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "bench"))

from localstack import warehouse  # noqa: E402

ARRIVAL_TIMEOUT_SECONDS = 120
T = TypeVar("T")


def query(sql: str, params=None) -> list[dict]:
    columns, rows = warehouse.query(sql, params)
    return [dict(zip(columns, row)) for row in rows]


def eventually(probe: Callable[[], T], done: Callable[[T], bool], timeout: float = ARRIVAL_TIMEOUT_SECONDS) -> T:
    """Calls `probe` until `done` accepts its value or `timeout` passes; returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.5)


def wait_for_rows(sql: str, params, expected: int) -> list[dict]:
    """The rows of `sql` once there are at least `expected` of them (or whatever is there at the timeout)."""
    return eventually(lambda: query(sql, params), lambda rows: len(rows) >= expected)
