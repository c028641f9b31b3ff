"""Switching the delivery mode of a running stack under traffic loses nothing: every event the API
accepted while `up --mode` stopped one relay and started the next is a row of EVENTS_DEDUP, once.
The new relay resumes after the old one's checkpoint (scripts/localstack/firehose_relay.py, "Where
it reads from"). `up` without --mode keeps the running mode, whatever $RTSTREAM_DELIVERY_MODE says.

Both modes switched between pack events (config/pipeline.json `delivery_modes`), so no record of
one reaches the other's transformer as something it cannot read (docs/local-stack.md, "Delivery
modes")."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

from e2e_helpers import ROOT, eventually, query
from make_events import make_event

from localstack import settings
from localstack.settings import PIPELINE

SWITCHED_TO = "snowpipe_fresh"
# Paced and bounded: a few events per request, ~100 events/s, for as long as the switches take.
EVENTS_PER_REQUEST = 10
REQUEST_EVERY_SECONDS = 0.05
MAX_EVENTS = 3000
RETRIES = 3
UP_TIMEOUT_SECONDS = 300
VIEW = PIPELINE.snowflake["dedup_view"]


def up(*mode: str, env: dict[str, str] | None = None) -> None:
    """`scripts/local up [--mode …]` without the Lambda build (conftest.switch does the same)."""
    subprocess.run([sys.executable, "-m", "localstack", "up", *(("--mode", *mode) if mode else ())], check=True,
                   timeout=UP_TIMEOUT_SECONDS, cwd=ROOT, stdout=subprocess.DEVNULL,
                   env={**os.environ, "PYTHONPATH": str(ROOT / "scripts"), **(env or {})})


class Traffic:
    """Posts paced requests to the local API until stopped; keeps the ids it accepted. A 5xx is
    sent again with the same event ids, as a client does (MiniStack restarts the validator's
    runtime when `up` updates its environment, failing the request it was running)."""

    def __init__(self, api, run: str):
        self.api, self.run = api, run
        self.accepted: list[str] = []
        self.refused: list[str] = []
        self.retried = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._post, name="traffic")

    def _post(self) -> None:
        rng, base_time = random.Random(20261127), datetime.now(timezone.utc) - timedelta(days=1)
        sent = 0
        while not self.stop.is_set() and sent < MAX_EVENTS:
            batch = [make_event(rng, base_time, invalid_ratio=0) for _ in range(EVENTS_PER_REQUEST)]
            for event in batch:
                event["event_id"], event["source"] = f"{self.run}-{sent}", self.run
                sent += 1
            answer = self.api.post_events(batch)
            for _ in range(RETRIES):
                if answer.status < 500:
                    break
                self.retried += 1
                answer = self.api.post_events(batch)
            if answer.status == 202 and answer.body["accepted"] == len(batch):
                self.accepted += [event["event_id"] for event in batch]
            else:
                self.refused.append(f"{answer.status} {str(answer.body)[:200]}")
            time.sleep(REQUEST_EVERY_SECONDS)

    def __enter__(self) -> "Traffic":
        self.thread.start()
        time.sleep(1)  # traffic flows before the switch
        return self

    def __exit__(self, *_) -> None:
        time.sleep(1)  # and after it
        self.stop.set()
        self.thread.join()


def landed(run: str) -> dict[str, int]:
    rows = query(f"SELECT EVENT_ID, COUNT(*) AS N FROM {VIEW} WHERE SOURCE = %s GROUP BY EVENT_ID", [run])
    return {row["EVENT_ID"]: row["N"] for row in rows}


def test_switching_modes_under_traffic_loses_nothing_and_up_keeps_the_running_mode(api):
    started_in = settings.LOCAL.delivery_mode
    assert started_in != SWITCHED_TO, f"the stack should run in the default mode, not {SWITCHED_TO}"
    run = f"switch-{uuid.uuid4().hex[:10]}"
    try:
        with Traffic(api, run) as traffic:
            before = len(traffic.accepted)
            up(SWITCHED_TO)
            during = len(traffic.accepted) - before
            assert settings.LOCAL.delivery_mode == SWITCHED_TO
            # Not a switch: the running mode stays, even when the environment names another one.
            up(env={PIPELINE.delivery_mode_env: started_in})
            assert settings.LOCAL.delivery_mode == SWITCHED_TO
    finally:
        up(started_in)  # the mode the stack had, under traffic no more
    assert settings.LOCAL.delivery_mode == started_in
    assert not traffic.refused, f"the API refused requests during the switch: {traffic.refused[:3]}"
    print(f"{len(traffic.accepted)} events accepted ({during} during the switch), "
          f"{traffic.retried} requests sent again after a 5xx")
    assert before and during and len(traffic.accepted) > before + during, "traffic before, during and after the switch"
    found = eventually(lambda: landed(run), lambda rows: len(rows) >= len(traffic.accepted))
    missing = sorted(set(traffic.accepted) - set(found))
    assert not missing, f"{len(missing)} of {len(traffic.accepted)} accepted events never arrived, e.g. {missing[:3]}"
    assert set(found) == set(traffic.accepted)
    assert {count for count in found.values()} == {1}, "EVENTS_DEDUP shows an event more than once"
