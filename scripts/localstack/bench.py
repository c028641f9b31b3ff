"""The local stack's throughput and latency, POST -> queryable in the warehouse (a benchmark, not
a test), in each delivery mode. Traffic goes to 127.0.0.1 only, bounded in events and in time.

For each mode (`--modes`, default all, the default mode first) the stack is switched with
`scripts/local up --mode`, then two phases run, each with its own run id in `source`:
- throughput: N events in full batches from a few concurrent clients, as fast as they are
  answered; sustained events/s = N / (last event queryable - first POST).
- latency: a paced rate (default 1000 events/s) for a fixed time; each event's latency is the
  first warehouse poll that sees it minus the start of its POST (polls every 100 ms, so the
  figure is at most 0.1 s pessimistic).
Last, a table of every mode's latency and its ratio to the default mode's, measured in the same
run; the stack is left in the mode it was in.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from . import warehouse
from .api import Api
from .settings import DEFAULT_DELIVERY_MODE, LOCAL, PIPELINE, ROOT

sys.path.insert(0, str(ROOT / "bench"))
from make_events import make_event  # noqa: E402  (the validator benchmark's realistic events)

POLL_SECONDS = 0.1
ARRIVAL_TIMEOUT_SECONDS = 120
# The goals of issue 10 for the local stack.
GOAL_RATE, GOAL_P99_SECONDS = 1000, 1.5
SWITCH_TIMEOUT_SECONDS = 300


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
        newest = -1
        while not self.stop.is_set():
            # DuckDB's ROWID (local only, not Snowflake SQL) grows with every row appended, and in
            # each mode one writer appends (the loader's COPYs, or the Snowflake destination's
            # inserts): asking only for rows past the newest seen misses none, in every mode
            # (LOADED_AT, which the S3 modes could use, is NULL in snowpipe_streaming).
            cursor.execute(f"SELECT EVENT_ID, ROWID FROM {table} WHERE SOURCE = %s AND ROWID > %s",
                           [self.source, newest])
            now = time.time()
            for event_id, row_id in cursor.fetchall():
                self.seen_at.setdefault(event_id, now)
                newest = max(newest, row_id)
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
    return (f"p50 {statistics.median(values):.2f} s, p95 {percentile(values, 0.95):.2f} s, "
            f"p99 {percentile(values, 0.99):.2f} s, max {values[-1]:.2f} s")


def switch(mode: str) -> None:
    """`scripts/local up --mode` without the Lambda build (the zips are built by scripts/bench-local)."""
    subprocess.run([sys.executable, "-m", "localstack", "up", "--mode", mode], check=True,
                   timeout=SWITCH_TIMEOUT_SECONDS, cwd=ROOT, stdout=subprocess.DEVNULL)


def measure(mode: str, args: argparse.Namespace, rng: random.Random) -> dict:
    if LOCAL.delivery_mode != mode:
        switch(mode)
    api = Api.from_env_file()
    throughput = throughput_phase(api, args.events, args.clients, rng) if args.events else None
    latency = latency_phase(api, args.rate, args.seconds, rng)
    report = f"\n{mode}:"
    if throughput:
        report += f"""
  throughput: {throughput['events']} events in {throughput['batch']}-event batches, {throughput['clients']} concurrent clients
    accepted by the API        {throughput['api_rate']:8.0f} events/s
    sustained end to end       {throughput['sustained_rate']:8.0f} events/s
    latency under that load    {describe_latencies(throughput['latencies'])}"""
    report += f"""
  latency: {latency['rate']} events/s for {latency['seconds']} s ({latency['batch']}-event batches every 100 ms)
    POST -> queryable          {describe_latencies(latency['latencies'])}"""
    print(report, flush=True)
    return {"mode": mode, "throughput": throughput, "latency": latency}


def table(results: list[dict]) -> str:
    """Every mode's latency, and its ratio to the default mode's in the same run."""
    base = next((r for r in results if r["mode"] == DEFAULT_DELIVERY_MODE), results[0])
    base_values = base["latency"]["latencies"]
    lines = [f"| mode | POST -> queryable p50 | p95 | p99 | max | p50, p99 / {base['mode']}'s | "
             f"sustained events/s | p99 <= {GOAL_P99_SECONDS} s |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for result in results:
        values = result["latency"]["latencies"]
        p50, p99 = statistics.median(values), percentile(values, 0.99)
        rate = f"{result['throughput']['sustained_rate']:.0f}" if result["throughput"] else "–"
        lines.append(
            f"| `{result['mode']}` | {p50:.2f} s | {percentile(values, 0.95):.2f} s | {p99:.2f} s | "
            f"{values[-1]:.2f} s | {p50 / statistics.median(base_values):.2f}, "
            f"{p99 / percentile(base_values, 0.99):.2f} | {rate} | {'met' if p99 <= GOAL_P99_SECONDS else 'MISSED'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="scripts/bench-local", description=__doc__.split("\n\n")[0])
    parser.add_argument("--modes", nargs="+", choices=PIPELINE.delivery_modes, default=PIPELINE.delivery_modes,
                        help="delivery modes to measure (default: all; the default mode is measured too, "
                             "for the ratios)")
    parser.add_argument("--events", type=int, default=30_000,
                        help="throughput phase: events to send (0: no throughput phase)")
    parser.add_argument("--clients", type=int, default=4, help="throughput phase: concurrent clients")
    parser.add_argument("--rate", type=int, default=GOAL_RATE, help="latency phase: events per second")
    parser.add_argument("--seconds", type=int, default=20, help="latency phase: duration")
    args = parser.parse_args(argv)
    modes = list(dict.fromkeys([DEFAULT_DELIVERY_MODE, *args.modes]))
    original, rng = LOCAL.delivery_mode, random.Random(20261126)
    print(f"Local stack throughput and latency ({time.strftime('%Y-%m-%d %H:%M')}, POST -> queryable in "
          f"{PIPELINE.snowflake['table']}), modes {', '.join(modes)}", flush=True)
    try:
        results = [measure(mode, args, rng) for mode in modes]
    finally:
        if LOCAL.delivery_mode != original:
            switch(original)
    print(f"\n{table(results)}")


if __name__ == "__main__":
    main()
