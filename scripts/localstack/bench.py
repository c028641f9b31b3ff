"""The local stack's throughput and latency, POST -> queryable in the warehouse (a benchmark, not
a test). Traffic goes to 127.0.0.1 only, bounded in events and in time.

Two phases, each with its own run id in `source`:
- throughput: N events in full batches from a few concurrent clients, as fast as they are
  answered; sustained events/s = N / (last event queryable - first POST).
- latency: a paced rate (default 1000 events/s) for a fixed time; each event's latency is the
  first warehouse poll that sees it minus the start of its POST (polls every 100 ms, so the
  figure is at most 0.1 s pessimistic).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from . import warehouse
from .api import Api
from .settings import PIPELINE, ROOT

sys.path.insert(0, str(ROOT / "bench"))
from make_events import make_event  # noqa: E402  (the validator benchmark's realistic events)

POLL_SECONDS = 0.1
ARRIVAL_TIMEOUT_SECONDS = 120


@dataclass
class Arrivals:
    """Which events of a run are queryable, and since when (seen by a poller thread)."""

    source: str
    sent_at: dict[str, float] = field(default_factory=dict)
    seen_at: dict[str, float] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)

    def poll(self) -> None:
        table = f"{PIPELINE.snowflake['table']}"
        connection = warehouse.connect()
        cursor = connection.cursor()
        newest = datetime(1970, 1, 1, tzinfo=timezone.utc)
        while not self.stop.is_set():
            # Each COPY commits its rows with one LOADED_AT, and the loader commits in LOADED_AT
            # order: asking only for rows newer than the newest seen misses none.
            cursor.execute(
                f"SELECT EVENT_ID, LOADED_AT FROM {table} "
                "WHERE SOURCE = %s AND LOADED_AT > CAST(%s AS TIMESTAMP_LTZ)",
                [self.source, newest.isoformat()],
            )
            now = time.time()
            for event_id, loaded_at in cursor.fetchall():
                self.seen_at.setdefault(event_id, now)
                newest = max(newest, loaded_at)
            self.stop.wait(POLL_SECONDS)
        connection.close()

    def all_seen(self) -> bool:
        return len(self.seen_at) >= len(self.sent_at)

    def latencies(self) -> list[float]:
        return sorted(self.seen_at[e] - self.sent_at[e] for e in self.sent_at if e in self.seen_at)


def events(run: str, count: int, rng: random.Random) -> list[dict]:
    base_time = datetime.now(timezone.utc) - timedelta(days=2)
    made = [make_event(rng, base_time, invalid_ratio=0) for _ in range(count)]
    for index, event in enumerate(made):
        event["event_id"], event["source"] = f"{run}-{index}", run
    return made


def send(api: Api, batch: list[dict], arrivals: Arrivals) -> None:
    started = time.time()
    for event in batch:
        arrivals.sent_at[event["event_id"]] = started
    answer = api.post_events(batch)
    if answer.status != 202 or answer.body["accepted"] != len(batch):
        raise RuntimeError(f"POST answered {answer.status}: {str(answer.body)[:300]}")


def wait_for_arrivals(arrivals: Arrivals) -> float:
    deadline = time.monotonic() + ARRIVAL_TIMEOUT_SECONDS
    while not arrivals.all_seen() and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
    arrivals.stop.set()
    if not arrivals.all_seen():
        raise RuntimeError(f"{len(arrivals.sent_at) - len(arrivals.seen_at)} events never became queryable")
    return max(arrivals.seen_at.values())


def throughput_phase(api: Api, count: int, clients: int, rng: random.Random) -> dict:
    run = f"bench-{uuid.uuid4().hex[:8]}-throughput"
    batch_size = PIPELINE.raw["limits"]["max_batch_events"]
    all_events = events(run, count, rng)
    batches = [all_events[i:i + batch_size] for i in range(0, count, batch_size)]
    arrivals = Arrivals(run)
    poller = threading.Thread(target=arrivals.poll, daemon=True)
    poller.start()
    started = time.time()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(lambda batch: send(api, batch, arrivals), batches))
    answered = time.time()
    last_seen = wait_for_arrivals(arrivals)
    poller.join()
    return {
        "events": count, "batch": batch_size, "clients": clients,
        "api_rate": count / (answered - started),
        "sustained_rate": count / (last_seen - started),
        "latencies": arrivals.latencies(),
    }


def latency_phase(api: Api, rate: int, seconds: int, rng: random.Random) -> dict:
    run = f"bench-{uuid.uuid4().hex[:8]}-latency"
    ticks_per_second = 10
    batch_size = max(1, rate // ticks_per_second)
    all_events = events(run, batch_size * ticks_per_second * seconds, rng)
    arrivals = Arrivals(run)
    poller = threading.Thread(target=arrivals.poll, daemon=True)
    poller.start()
    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        posts = []
        for tick, offset in enumerate(range(0, len(all_events), batch_size)):
            # Paced by the clock, not by the answers: an open-loop load, as real clients are.
            time.sleep(max(0.0, started + tick / ticks_per_second - time.monotonic()))
            posts.append(pool.submit(send, api, all_events[offset:offset + batch_size], arrivals))
        for post in posts:
            post.result()
    wait_for_arrivals(arrivals)
    poller.join()
    return {"rate": rate, "seconds": seconds, "batch": batch_size, "latencies": arrivals.latencies()}


def percentile(values: list[float], fraction: float) -> float:
    return values[min(len(values) - 1, int(fraction * len(values)))]


def describe_latencies(values: list[float]) -> str:
    return (f"p50 {statistics.median(values):.2f} s, p99 {percentile(values, 0.99):.2f} s, "
            f"max {values[-1]:.2f} s")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="scripts/bench-local", description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=30_000, help="throughput phase: events to send")
    parser.add_argument("--clients", type=int, default=4, help="throughput phase: concurrent clients")
    parser.add_argument("--rate", type=int, default=1000, help="latency phase: events per second")
    parser.add_argument("--seconds", type=int, default=20, help="latency phase: duration")
    args = parser.parse_args(argv)
    api, rng = Api.from_env_file(), random.Random(20261126)

    throughput = throughput_phase(api, args.events, args.clients, rng)
    latency = latency_phase(api, args.rate, args.seconds, rng)
    p99 = percentile(latency["latencies"], 0.99)
    print(f"""
Local stack throughput and latency ({time.strftime('%Y-%m-%d %H:%M')}, POST -> queryable in {PIPELINE.snowflake['table']})
throughput: {throughput['events']} events in {throughput['batch']}-event batches, {throughput['clients']} concurrent clients
  accepted by the API        {throughput['api_rate']:8.0f} events/s
  sustained end to end       {throughput['sustained_rate']:8.0f} events/s
  latency under that load    {describe_latencies(throughput['latencies'])}
latency: {latency['rate']} events/s for {latency['seconds']} s ({latency['batch']}-event batches every 100 ms)
  POST -> queryable          {describe_latencies(latency['latencies'])}
goals: >= 1000 events/s {'met' if throughput['sustained_rate'] >= 1000 else 'MISSED'}, \
p99 <= 5 s {'met' if p99 <= 5 else 'MISSED'}""")


if __name__ == "__main__":
    main()
