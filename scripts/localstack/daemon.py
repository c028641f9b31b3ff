"""What the local stack's long-running processes (Firehose relay, Snowpipe loader) share: logging
to stdout (the launcher sends it to .local/logs/), a clean stop on SIGTERM, and a heartbeat file
that `scripts/local status` and the health checks read."""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable

from .settings import LOCAL

HEARTBEAT_EVERY_SECONDS = 1.0
# After an unexpected error (MiniStack restarting, a timeout), the loop pauses and tries again.
ERROR_PAUSE_SECONDS = 1.0


class Daemon:
    def __init__(self, name: str):
        self.name = name
        self.stopping = threading.Event()
        self.stats: dict[str, int] = {}
        self._last_beat = 0.0
        logging.basicConfig(
            level=logging.INFO,
            format=f"%(asctime)s {name} %(levelname)s %(message)s",
            datefmt="%H:%M:%S",
        )
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: self.stopping.set())

    def run(self, step: Callable[[], bool], idle_seconds: float) -> None:
        """Calls `step` until stopped, pausing `idle_seconds` when it found no work (returned
        False). An exception is logged and the step retried: the process stays up."""
        log = logging.getLogger(self.name)
        while not self.stopping.is_set():
            try:
                busy = step()
            except Exception:  # noqa: BLE001 - whatever it was, say so and retry
                log.exception("step failed; retrying in %.0f s", ERROR_PAUSE_SECONDS)
                self.stopping.wait(ERROR_PAUSE_SECONDS)
                continue
            self.heartbeat()
            if not busy:
                self.stopping.wait(idle_seconds)

    def count(self, **increments: int) -> None:
        for key, value in increments.items():
            self.stats[key] = self.stats.get(key, 0) + value

    def heartbeat(self, force: bool = False) -> None:
        """Writes `.local/heartbeats/<name>.json` at most once a second (atomically)."""
        now = time.time()
        if not force and now - self._last_beat < HEARTBEAT_EVERY_SECONDS:
            return
        self._last_beat = now
        LOCAL.heartbeats.mkdir(parents=True, exist_ok=True)
        path = LOCAL.heartbeats / f"{self.name}.json"
        scratch = path.with_suffix(".tmp")
        scratch.write_text(json.dumps({"pid": os.getpid(), "at": now, **self.stats}))
        scratch.replace(path)


def read_heartbeat(name: str) -> dict | None:
    try:
        return json.loads((LOCAL.heartbeats / f"{name}.json").read_text())
    except (OSError, ValueError):
        return None
