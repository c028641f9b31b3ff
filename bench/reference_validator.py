#!/usr/bin/env python3
"""A plain Python implementation of the POST /events validation contract (docs/event-contract.md).

It is the yardstick for the Rust validator core in the benchmark (scripts/bench): it parses a body,
validates every event (envelope, then payload against schemas/<event_type>.json), assigns missing
event ids, builds the per-event results and serialises accepted events as the compact JSON Kinesis
record. It does no I/O beyond loading the schemas and config once, exactly like the Lambda's core.

CLI: python bench/reference_validator.py --events FILE --mode single|batch --seconds S
prints one line `python_events_per_sec=<float>` (details go to stderr).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import secrets
import sys
import time
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Optional

from jsonschema import Draft202012Validator
from jsonschema.validators import validator_for

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = ROOT / "config" / "pipeline.json"
DEFAULT_SCHEMA_DIR = ROOT / "schemas"

ENVELOPE_FIELDS = ("event_id", "event_type", "occurred_at", "source", "payload")
REQUIRED_FIELDS = ("event_type", "occurred_at", "payload")
EVENT_TYPE_RE = re.compile(r"[a-z][a-z0-9_.]{0,63}")
# RFC 3339 date-time; the offset is mandatory (no local times). ASCII digits only.
RFC3339_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))",
    re.ASCII,
)
JSON_TYPES = ("application/json",)
NDJSON_TYPES = ("application/x-ndjson", "application/jsonl")

Problem = Optional[tuple[str, str]]  # (error code, message) of a field that breaks the contract
FieldCheck = Callable[[Any, datetime], Problem]


def load_limits(config_path: Path = DEFAULT_CONFIG) -> dict[str, int]:
    """`limits` from config/pipeline.json, each overridable by its RTSTREAM_* variable like the Lambda."""
    config = json.loads(config_path.read_text())
    limits = dict(config["limits"])
    for name, env_var in config["lambda_env"].items():
        if name in limits and os.environ.get(env_var):
            limits[name] = int(os.environ[env_var])
    return limits


def load_schemas(schema_dir: Path = DEFAULT_SCHEMA_DIR) -> dict[str, Any]:
    """Compile every schemas/*.json once; a schema that does not compile fails here, at start."""
    validators = {}
    for path in sorted(schema_dir.glob("*.json")):
        schema = json.loads(path.read_text())
        cls = validator_for(schema, default=Draft202012Validator)
        cls.check_schema(schema)
        validators[path.stem] = cls(schema)
    return validators


def uuid7() -> str:
    """A UUIDv7 (48-bit Unix milliseconds, then random bits): Python 3.11's uuid module has none."""
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(secrets.token_bytes(10), "big")
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
    return str(uuid.UUID(int=value))


def json_pointer(parts) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def snake_case(keyword: str) -> str:
    """JSON Schema keyword to error-code suffix: additionalProperties -> additional_properties."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", keyword).lower()


def compact_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def parse_json(text: str) -> Any:
    """json.loads, but strict like serde_json: NaN and Infinity are not JSON."""
    return json.loads(text, parse_constant=_reject_constant)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_rfc3339(text: str) -> Optional[datetime]:
    match = RFC3339_RE.fullmatch(text)
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    try:
        offset = timedelta(0) if zulu else (1 if sign == "+" else -1) * timedelta(hours=int(off_h), minutes=int(off_m))
        micros = int((fraction or "0")[:6].ljust(6, "0"))
        return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micros,
                        tzinfo=timezone(offset))
    except ValueError:  # month 13, minute 61, offset of 24 h or more, ...
        return None


def error(path: str, code: str, message: str) -> dict[str, str]:
    return {"path": path, "code": code, "message": message}


class BodyError(Exception):
    """The body as a whole is refused (4xx)."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Response:
    status: int
    body: dict[str, Any]
    # Kinesis record data of the accepted events, in request order (partition key = event_id).
    records: list[bytes] = field(default_factory=list)


class ReferenceValidator:
    def __init__(self, schema_dir: Path = DEFAULT_SCHEMA_DIR, limits: Optional[dict[str, int]] = None):
        self.validators = load_schemas(schema_dir)
        self.limits = limits or load_limits()
        # field -> (JSON type it must have, that type's name, check of a value of that type)
        self.field_checks: dict[str, tuple[type, str, Optional[FieldCheck]]] = {
            "event_id": (str, "a string", self._check_event_id),
            "event_type": (str, "a string", self._check_event_type),
            "occurred_at": (str, "a string", self._check_occurred_at),
            "source": (str, "a string", self._check_source),
            "payload": (dict, "an object", None),  # its content is the schema's business
        }

    def handle(self, body: bytes, content_type: Optional[str], content_encoding: Optional[str] = None,
               request_id: Optional[str] = None, now: Optional[datetime] = None) -> Response:
        """Answer one POST /events as the contract says, minus the Kinesis write (failed is always 0)."""
        request_id = request_id or str(uuid.uuid4())
        try:
            events = self._read_events(body, content_type, content_encoding)
        except BodyError as e:
            return Response(e.status, {"request_id": request_id, "error": {"code": e.code, "message": e.message}})

        now = now or datetime.now(timezone.utc)
        results, records = [], []
        for index, event in enumerate(events):
            result, record = self._validate_event(index, event, now)
            results.append(result)
            if record is not None:
                records.append(record)
        accepted = len(records)
        return Response(202, {"request_id": request_id, "accepted": accepted, "rejected": len(results) - accepted,
                              "failed": 0, "results": results}, records)

    # -- the body -----------------------------------------------------------------------------------

    def _read_events(self, body: bytes, content_type: Optional[str], content_encoding: Optional[str]) -> list:
        """The events of a body: parsed JSON values, or a ParseFailure for an NDJSON line that is not JSON."""
        media_type = (content_type or "").split(";", 1)[0].strip().lower()
        if media_type not in JSON_TYPES + NDJSON_TYPES:
            raise BodyError(415, "content_type.unsupported", f"unsupported content type {content_type!r}")
        text = self._decode(body, content_encoding)
        if media_type in JSON_TYPES:
            events = self._parse_json_body(text)
        else:
            events = [self._parse_ndjson_line(line) for line in text.split("\n") if line.strip()]
        if not events:
            raise BodyError(400, "body.empty", "no events in the body")
        if len(events) > self.limits["max_batch_events"]:
            raise BodyError(413, "body.too_many_events",
                            f"{len(events)} events, at most {self.limits['max_batch_events']} per request")
        return events

    def _decode(self, body: bytes, content_encoding: Optional[str]) -> str:
        encoding = (content_encoding or "identity").strip().lower()
        max_bytes = self.limits["max_request_bytes"]
        if encoding == "gzip":
            body = self._gunzip(body, max_bytes)
        elif encoding != "identity":
            raise BodyError(415, "content_encoding.unsupported", f"unsupported content encoding {content_encoding!r}")
        if len(body) > max_bytes:
            raise BodyError(413, "body.too_large", f"body over {max_bytes} bytes")
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as e:
            raise BodyError(400, "body.not_utf8", str(e)) from None

    @staticmethod
    def _gunzip(body: bytes, max_bytes: int) -> bytes:
        # Inflate at most one byte past the limit, so a gzip bomb costs no more than the limit.
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            decoded = inflater.decompress(body, max_bytes + 1)
        except zlib.error as e:
            raise BodyError(400, "body.malformed_gzip", str(e)) from None
        if len(decoded) <= max_bytes and not inflater.eof:
            raise BodyError(400, "body.malformed_gzip", "truncated gzip stream")
        return decoded

    @staticmethod
    def _parse_json_body(text: str) -> list:
        if not text.strip():
            return []
        try:
            value = parse_json(text)
        except ValueError as e:
            raise BodyError(400, "body.malformed_json", str(e)) from None
        if isinstance(value, dict):
            return [value]
        if isinstance(value, list):
            return value
        raise BodyError(400, "body.not_object_or_array", "the body is neither a JSON object nor an array")

    @staticmethod
    def _parse_ndjson_line(line: str) -> Any:
        try:
            return parse_json(line)
        except ValueError as e:
            return ParseFailure(str(e))

    # -- one event ----------------------------------------------------------------------------------

    def _validate_event(self, index: int, event: Any, now: datetime) -> tuple[dict, Optional[bytes]]:
        """The event's result entry, and its Kinesis record when accepted."""
        if isinstance(event, ParseFailure):
            return _rejected(index, None, [error("", "event.malformed_json", event.message)]), None
        if not isinstance(event, dict):
            return _rejected(index, None, [error("", "event.not_object", "the event is not a JSON object")]), None

        errors = self._envelope_errors(event, now)
        client_id = event.get("event_id")
        readable_id = client_id if isinstance(client_id, str) and not self._check_event_id(client_id, now) else None
        if not errors:
            errors = self._payload_errors(event["event_type"], event["payload"])
        if errors:
            return _rejected(index, readable_id, errors), None

        # The normalised event, fields in contract order, with the id filled in.
        normalised = {"event_id": readable_id or uuid7()}
        normalised.update((name, event[name]) for name in ENVELOPE_FIELDS[1:] if name in event)
        record = compact_json(normalised)
        if len(record) > self.limits["max_event_bytes"]:
            too_large = error("", "event.too_large", f"event over {self.limits['max_event_bytes']} bytes")
            return _rejected(index, readable_id, [too_large]), None
        return {"index": index, "event_id": normalised["event_id"], "status": "accepted"}, record

    def _envelope_errors(self, event: dict, now: datetime) -> list[dict]:
        errors = [error(json_pointer([name]), "envelope.unknown_field", f"unknown field {name!r}")
                  for name in event if name not in ENVELOPE_FIELDS]
        errors += [error("", "envelope.missing_field", f"missing field {name!r}")
                   for name in REQUIRED_FIELDS if name not in event]
        for name, (json_type, type_name, check) in self.field_checks.items():
            if name not in event:
                continue
            value = event[name]
            if isinstance(value, json_type):
                problem = check(value, now) if check else None
            else:
                problem = "envelope.invalid_type", f"{name} must be {type_name}"
            if problem:
                errors.append(error(f"/{name}", *problem))
        return errors

    @staticmethod
    def _check_event_id(value: str, _now: datetime) -> Problem:
        if not 1 <= len(value) <= 128:
            return "envelope.invalid_event_id", "event_id must be 1 to 128 characters"
        return None

    @staticmethod
    def _check_event_type(value: str, _now: datetime) -> Problem:
        if not EVENT_TYPE_RE.fullmatch(value):
            return "envelope.invalid_event_type", f"event_type {value!r} does not match ^[a-z][a-z0-9_.]{{0,63}}$"
        return None

    def _check_occurred_at(self, value: str, now: datetime) -> Problem:
        occurred_at = parse_rfc3339(value)
        if occurred_at is None:
            return "envelope.invalid_timestamp", f"{value!r} is not an RFC 3339 timestamp with an offset"
        skew = self.limits["max_future_skew_seconds"]
        if occurred_at > now + timedelta(seconds=skew):
            return "envelope.occurred_at_in_future", f"occurred_at is more than {skew} s in the future"
        return None

    @staticmethod
    def _check_source(value: str, _now: datetime) -> Problem:
        if len(value) > 256:
            return "envelope.invalid_source", "source must be at most 256 characters"
        return None

    def _payload_errors(self, event_type: str, payload: dict) -> list[dict]:
        validator = self.validators.get(event_type) or self.validators.get("_default")
        if validator is None:
            return [error("/event_type", "schema.unknown_event_type", f"no schema for event type {event_type!r}")]
        return [error("/payload" + json_pointer(e.absolute_path), "schema." + snake_case(e.validator), e.message)
                for e in validator.iter_errors(payload)]


@dataclass
class ParseFailure:
    """An NDJSON line that is not JSON: it becomes that event's rejection, the other lines still count."""

    message: str


def _rejected(index: int, event_id: Optional[str], errors: list[dict]) -> dict:
    return {"index": index, "event_id": event_id, "status": "rejected", "errors": errors}


# -- the benchmark CLI ------------------------------------------------------------------------------

def read_event_lines(path: Path) -> list[bytes]:
    return [line.strip() for line in path.read_bytes().splitlines() if line.strip()]


def build_bodies(lines: list[bytes], mode: str, batch_size: int) -> list[tuple[bytes, int]]:
    """(body, event count) pairs: one event per body, or JSON arrays of batch_size events."""
    if mode == "single":
        return [(line, 1) for line in lines]
    chunks = [lines[i:i + batch_size] for i in range(0, len(lines), batch_size)]
    return [(b"[" + b",".join(chunk) + b"]", len(chunk)) for chunk in chunks]


def run_benchmark(validator: ReferenceValidator, bodies: list[tuple[bytes, int]], seconds: float) -> float:
    """Validate the bodies round-robin for about `seconds`; events per second over the whole run."""
    events = 0
    start = time.perf_counter()
    deadline = start + seconds
    for body, count in itertools.cycle(bodies):
        validator.handle(body, "application/json")
        events += count
        if time.perf_counter() >= deadline:
            break
    return events / (time.perf_counter() - start)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=Path, required=True, help="NDJSON file of events (bench/make_events.py)")
    parser.add_argument("--mode", choices=("single", "batch"), required=True)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--batch-size", type=int, help="events per batch body (default: max_batch_events)")
    args = parser.parse_args(argv)

    validator = ReferenceValidator()
    lines = read_event_lines(args.events)
    if not lines:
        parser.error(f"{args.events} holds no events")
    bodies = build_bodies(lines, args.mode, args.batch_size or validator.limits["max_batch_events"])

    # One untimed pass: a sanity check that the bodies are readable, and the accept/reject mix for the log.
    passes = [validator.handle(body, "application/json") for body, _ in bodies]
    refused = [r.body["error"] for r in passes if r.status != 202]
    if refused:
        print(f"bodies refused as a whole: {refused[:3]}", file=sys.stderr)
        return 1
    accepted = sum(r.body["accepted"] for r in passes)
    print(f"python reference: mode={args.mode} bodies={len(bodies)} events={len(lines)} "
          f"accepted={accepted} rejected={len(lines) - accepted} seconds={args.seconds}", file=sys.stderr)

    print(f"python_events_per_sec={run_benchmark(validator, bodies, args.seconds):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
