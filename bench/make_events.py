#!/usr/bin/env python3
"""Write N realistic ~300-byte events as NDJSON for the validator benchmark (Rust and Python read the same file).

page_view and order_placed events, mostly valid, with a few invalid ones (about --invalid-ratio) so
the error path is measured too, and about 10 % without event_id so id assignment is too. The output
is a function of --count, --seed and --base-time only. Prints `mean_event_bytes=<float>`.

    python bench/make_events.py --count 10000 --out target/bench/events.ndjson
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

PAGES = ["/", "/products/trail-runner-2", "/products/merino-hoodie", "/collections/outdoor", "/cart",
         "/checkout/shipping", "/blog/how-to-choose-running-shoes", "/search?q=rain+jacket", "/account/orders"]
REFERRERS = ["https://www.google.com/", "https://duckduckgo.com/", "https://news.ycombinator.com/",
             "https://shop.example.com/", "https://www.instagram.com/"]
CLIENT_SOURCES = ["web", "ios-app/5.12.0", "android-app/5.11.3"]
SKUS = ["TR2-BLU-42", "MH-GRY-M", "RJ-BLK-L", "SOCK-3PK", "BTL-750", "CAP-OLV"]
CURRENCIES = ["EUR", "USD", "GBP", "CHF"]


def page_view(rng: random.Random) -> dict:
    return {
        "url": "https://shop.example.com" + rng.choice(PAGES),
        "referrer": rng.choice(REFERRERS),
        "user_id": f"u-{rng.randrange(10**6):06d}",
        "session_id": f"s-{rng.getrandbits(64):016x}",
        "load_ms": rng.randrange(80, 2400),
    }


def order_placed(rng: random.Random) -> dict:
    items = [{"sku": rng.choice(SKUS), "qty": rng.randint(1, 3)} for _ in range(rng.randint(1, 2))]
    return {
        "order_id": f"ORD-{rng.randrange(10**8):08d}",
        "amount": round(rng.uniform(9, 400), 2),
        "currency": rng.choice(CURRENCIES),
        "customer_id": f"c-{rng.randrange(10**6):06d}",
        "items": items,
        "payment_method": rng.choice(["card", "paypal", "klarna"]),
    }


# Each breaks one rule of the contract, so the reference and the Rust core reject the same events.
def negative_amount(event: dict, rng: random.Random) -> None:
    event["event_type"], event["payload"] = "order_placed", {**order_placed(rng), "amount": -12.5}


def lowercase_currency(event: dict, rng: random.Random) -> None:
    event["event_type"], event["payload"] = "order_placed", {**order_placed(rng), "currency": "eur"}


def missing_url(event: dict, rng: random.Random) -> None:
    event["event_type"], event["payload"] = "page_view", {k: v for k, v in page_view(rng).items() if k != "url"}


def unknown_event_type(event: dict, rng: random.Random) -> None:
    event["event_type"] = "newsletter_signup"


def timestamp_without_offset(event: dict, rng: random.Random) -> None:
    event["occurred_at"] = event["occurred_at"].rstrip("Z")


def unknown_top_level_field(event: dict, rng: random.Random) -> None:
    event["user_agent"] = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X)"


BREAKERS: list[Callable[[dict, random.Random], None]] = [
    negative_amount, lowercase_currency, missing_url, unknown_event_type, timestamp_without_offset,
    unknown_top_level_field,
]


def make_event(rng: random.Random, base_time: datetime, invalid_ratio: float) -> dict:
    event_type = rng.choice(["page_view", "page_view", "order_placed"])
    occurred_at = base_time + timedelta(milliseconds=rng.randrange(86_400_000))
    event = {
        "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "event_type": event_type,
        "occurred_at": occurred_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "source": rng.choice(CLIENT_SOURCES) if event_type == "page_view" else "checkout-service",
        "payload": page_view(rng) if event_type == "page_view" else order_placed(rng),
    }
    if rng.random() < 0.1:
        del event["event_id"]  # the validator assigns one
    if rng.random() < invalid_ratio:
        rng.choice(BREAKERS)(event, rng)
    return event


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--invalid-ratio", type=float, default=0.02)
    # Fixed, and in the past, so the file is reproducible and no event trips the future-skew check.
    parser.add_argument("--base-time", type=datetime.fromisoformat, default=datetime(2026, 11, 1, tzinfo=timezone.utc))
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    lines = [json.dumps(make_event(rng, args.base_time, args.invalid_ratio), separators=(",", ":")) + "\n"
             for _ in range(args.count)]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(lines))
    mean = sum(len(line.encode()) - 1 for line in lines) / max(len(lines), 1)
    print(f"wrote {len(lines)} events to {args.out}", file=sys.stderr)
    print(f"mean_event_bytes={mean:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
