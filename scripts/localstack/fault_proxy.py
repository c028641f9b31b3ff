"""The fault proxy: an HTTP proxy on 127.0.0.1 between the Lambdas and MiniStack that can make
Kinesis and S3 misbehave the way AWS does, on demand (docs/local-stack.md, "Fault injection").

MiniStack hands every Lambda `AWS_ENDPOINT_URL` (processes.py points it here), so the validator's
PutRecords and PutObject calls pass through this proxy; everything else (and everything while the
faults are off, the default) is forwarded untouched. The relay, the loader and the tests call
MiniStack directly. Faults, set at runtime through `PUT /_fault_proxy/faults` (JSON, below):

Per record of a PutRecords call (only the other records are forwarded; MiniStack's per-record
results are spliced back in the request's order, with `FailedRecordCount`, as Kinesis answers a
partial failure, HTTP 200):
- `put_records_refused`: share refused with ProvisionedThroughputExceededException.
- `put_records_internal_failures`: share failed with InternalFailure (the other per-record
  ErrorCode the PutRecords API documents).

Per call (PutRecords, S3 PUT):
- `put_records_errors` / `s3_put_errors`: share answered 500 or 503 (Kinesis: InternalFailure or
  ServiceUnavailable in the awsJson1_1 error shape; S3: InternalError or SlowDown, S3's XML),
  not forwarded.
- `put_records_applied_errors` / `s3_put_applied_errors`: share *forwarded*, then answered 500
  InternalFailure / InternalError: the write landed and the caller is told it failed, as AWS
  documents a 500 may mean (the harsher fault).
- `put_records_delayed` / `s3_put_delayed`: share held `delay_seconds` (default 6 s, past the
  validator's 5 s SDK attempt timeout) and *then forwarded*: AWS may apply a request whose answer
  the client gave up on, so the write lands although the caller saw a timeout.

A "call" is one HTTP request, i.e. one attempt of the AWS SDK, unless `per_call` is true: then it
is one SDK operation, named by the `amz-sdk-invocation-id` header that every AWS SDK sends, the
same on each of its retries of that operation. A call chosen then meets its fault on every
attempt, so it fails through the SDK's own retries and only the caller's retry loop can get its
records written (a request without the header counts as its own call).

Each fault draws from its own random sequence, seeded with `seed`, in the order calls (or
records) arrive: the same seed and the same number of calls inject the same number of faults;
which request meets them depends on arrival order, as it would on AWS. A retried record is drawn
again, like any other. `GET /_fault_proxy/faults` returns the faults and the counters of what was
forwarded and injected. While a fault is on, the proxy also counts what the callers sent again in
a new operation (`put_records_resent`: records with the same partition key and data;
`s3_put_resent`: the same object key): retries of the callers' own loops, never the SDK's.

    python -m localstack.fault_proxy      # started by `scripts/local up` (processes.FAULT_PROXY)
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import re
import threading
import time
import urllib.request
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .settings import LOCAL

log = logging.getLogger("fault-proxy")

CONTROL_PATH = "/_fault_proxy/faults"
HEALTH_PATH = "/_fault_proxy/health"
FORWARD_TIMEOUT_SECONDS = 60
# Not forwarded either way: they describe one hop, not the request (RFC 9110, 7.6.1).
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}
_SIGNED_SERVICE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request")
# The settings of Faults that are not shares of calls or records.
_NOT_SHARES = ("seed", "per_call", "delay_seconds")
# What Kinesis says per record for each injected ErrorCode.
_RECORD_FAILURES = {
    "ProvisionedThroughputExceededException": "Rate exceeded for shard in stream {stream} (injected by the fault proxy).",
    "InternalFailure": "Internal service failure (injected by the fault proxy).",
}


@dataclass(frozen=True)
class Faults:
    """What to inject; every share is in [0, 1]. All zero is the normal stack."""

    seed: int = 0
    per_call: bool = False
    put_records_refused: float = 0.0
    put_records_internal_failures: float = 0.0
    put_records_errors: float = 0.0
    put_records_applied_errors: float = 0.0
    put_records_delayed: float = 0.0
    s3_put_errors: float = 0.0
    s3_put_applied_errors: float = 0.0
    s3_put_delayed: float = 0.0
    delay_seconds: float = 6.0

    @classmethod
    def parse(cls, document: dict) -> "Faults":
        known = {f.name for f in fields(cls)}
        unknown = set(document) - known
        if unknown:
            raise ValueError(f"unknown fault settings {sorted(unknown)}; known: {sorted(known)}")
        faults = cls(**{**asdict(cls()), **document})
        # bool is an int in Python: `true` must not pass for a share of 1 or a seed of 1.
        for name in SHARES:
            share = getattr(faults, name)
            if not _is_number(share) or not 0 <= share <= 1:
                raise ValueError(f"{name} must be a share between 0 and 1, not {share!r}")
        if not isinstance(faults.seed, int) or isinstance(faults.seed, bool):
            raise ValueError(f"seed must be an integer, not {faults.seed!r}")
        if not isinstance(faults.per_call, bool):
            raise ValueError(f"per_call must be true or false, not {faults.per_call!r}")
        if not _is_number(faults.delay_seconds) or not 0 <= faults.delay_seconds <= 60:
            raise ValueError(f"delay_seconds must be between 0 and 60, not {faults.delay_seconds!r}")
        return faults

    @property
    def on(self) -> bool:
        return bool(shares_on(asdict(self)))


# The faults themselves: the settings that are shares of calls or records.
SHARES = tuple(f.name for f in fields(Faults) if f.name not in _NOT_SHARES)
# The ones drawn per record of a PutRecords call; the others per call.
PER_RECORD = ("put_records_refused", "put_records_internal_failures")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class Injector:
    """The current faults, the draws and the counters, shared by the handler threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.faults = Faults()
        self.counters: Counter[str] = Counter()
        self._draws: dict[str, random.Random] = {}
        self._call_draws: dict[tuple[str, str], bool] = {}  # (fault, operation) -> hit
        self._last_call: dict[object, str] = {}  # what was sent -> the operation that last sent it

    def configure(self, faults: Faults) -> None:
        """New faults; the counters, the random sequences and the calls seen start again."""
        with self._lock:
            self.faults, self.counters = faults, Counter()
            self._draws, self._call_draws, self._last_call = {}, {}, {}
        log.info("faults: %s", faults)

    def count(self, **increments: int) -> None:
        with self._lock:
            self.counters.update(increments)

    def report(self) -> dict:
        with self._lock:
            return {"faults": asdict(self.faults), "counters": dict(self.counters)}

    def hit(self, fault: str, share: float, call: str | None = None) -> bool:
        """Whether the next draw of `fault`'s sequence falls within `share`. With `call` (an SDK
        operation, when `per_call` is on), drawn once for that call and repeated on its retries."""
        if not share:
            return False
        with self._lock:
            key = (fault, call)
            if call is not None and key in self._call_draws:
                return self._call_draws[key]
            draws = self._draws.setdefault(fault, random.Random(f"{self.faults.seed}:{fault}"))
            hit = draws.random() < share
            if call is not None:
                self._call_draws[key] = hit
            return hit

    def note_sent(self, counter: str, call: str, items: list) -> None:
        """Counts under `counter` the `items` a caller already sent in another operation."""
        with self._lock:
            for item in items:
                if self._last_call.setdefault(item, call) != call:
                    self.counters[counter] += 1
                    self._last_call[item] = call


INJECTOR = Injector()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the SDK pools its connections
    # Headers and body leave in separate writes: with Nagle on, a small answer waits for the
    # client's delayed ACK (measured: +43 ms per one-record PutRecords).
    disable_nagle_algorithm = True
    server_version = "rtstream-fault-proxy"

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass  # one line per request would drown the log; injected call faults log theirs (_injected)

    def do_GET(self):
        if self.path == HEALTH_PATH:
            return self._answer(200, {"content-type": "application/json"}, b'{"status":"ok"}')
        if self.path == CONTROL_PATH:
            return self._answer(200, {"content-type": "application/json"}, json.dumps(INJECTOR.report()).encode())
        self._proxy()

    def do_PUT(self):
        if self.path == CONTROL_PATH:
            body = self._read_body()
            try:
                INJECTOR.configure(Faults.parse(json.loads(body or b"{}")))
            except (ValueError, TypeError) as error:
                return self._answer(400, {"content-type": "application/json"},
                                    json.dumps({"error": str(error)}).encode())
            return self._answer(200, {"content-type": "application/json"}, json.dumps(INJECTOR.report()).encode())
        self._proxy()

    def _proxy(self) -> None:
        body = self._read_body()
        service = self._signed_service()
        faults = INJECTOR.faults
        if service == "kinesis" and self.headers.get("x-amz-target", "").endswith(".PutRecords"):
            self._put_records(body, faults)
        elif service == "s3" and self.command == "PUT":
            self._s3_put(body, faults)
        else:
            self._forward(body)

    do_POST = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _proxy

    def _injected(self, fault: str, operation: str) -> None:
        """Counts a fault injected into a whole call, with a log line: which SDK operation and
        attempt met it (the SDK's own account of its retries)."""
        INJECTOR.count(**{fault: 1})
        log.info("%s: operation %s, %s", fault, operation, self.headers.get("amz-sdk-request", "no amz-sdk-request"))

    def _operation(self, kind: str) -> str:
        """The SDK operation this request is an attempt of (its invocation id; without one, the
        request is its own operation). Counts the attempt, and the operation at its first attempt
        (`amz-sdk-request: attempt=1; max=3` from the Rust SDK, `ttl=…; attempt=2; max=4` from
        botocore: sent with the invocation id)."""
        INJECTOR.count(**{f"{kind}_attempts": 1})
        request = dict(part.strip().partition("=")[::2] for part in self.headers.get("amz-sdk-request", "").split(";"))
        if request.get("attempt", "1") == "1":
            INJECTOR.count(**{f"{kind}_calls": 1})
        return self.headers.get("amz-sdk-invocation-id") or str(uuid.uuid4())

    def _put_records(self, body: bytes, faults: Faults) -> None:
        operation = self._operation("put_records")
        if not faults.on:
            return self._forward(body)
        request = json.loads(body)
        INJECTOR.note_sent("put_records_resent", operation, [(r["PartitionKey"], r["Data"]) for r in request["Records"]])
        call = operation if faults.per_call else None
        if INJECTOR.hit("put_records_errors", faults.put_records_errors, call):
            self._injected("put_records_errors", operation)
            code = "InternalFailure" if INJECTOR.hit("kinesis_status", 0.5) else "ServiceUnavailable"
            return self._answer(*_kinesis_error(code))
        if INJECTOR.hit("put_records_delayed", faults.put_records_delayed, call):
            self._injected("put_records_delayed", operation)
            time.sleep(faults.delay_seconds)
        applied_error = INJECTOR.hit("put_records_applied_errors", faults.put_records_applied_errors, call)
        failures = [_record_failure(faults) for _ in request["Records"]]
        status, headers, answer = self._send_records(body, request, failures)
        if applied_error:
            self._injected("put_records_applied_errors", operation)
            status, headers, answer = _kinesis_error("InternalFailure")
        self._answer(status, headers, answer)

    def _send_records(self, body: bytes, request: dict, failures: list[str | None]) -> tuple[int, dict[str, str], bytes]:
        """Forwards the records of `request` (`body`, parsed) that have no failure; the answer,
        with the failures spliced in where their records were."""
        records = request["Records"]
        INJECTOR.count(records_seen=len(records))
        if not any(failures):
            return self._send(body)
        kept = [r for r, failure in zip(records, failures) if not failure]
        stream = request.get("StreamName") or request.get("StreamARN", "").rsplit("/", 1)[-1]
        if kept:
            status, headers, answer = self._send(json.dumps({**request, "Records": kept}).encode())
            if status != 200:  # the whole call failed: that is the answer
                return status, headers, answer
            upstream = json.loads(answer)
        else:
            # Nothing to forward, and PutRecords takes at least one record: the stream's
            # EncryptionType, which every answer carries, is asked for instead.
            headers = {"content-type": "application/x-amz-json-1.1", "x-amzn-RequestId": str(uuid.uuid4())}
            upstream = {"Records": [], "EncryptionType": _stream_encryption(request)}
        forwarded = iter(upstream["Records"])
        results = [
            {"ErrorCode": failure, "ErrorMessage": _RECORD_FAILURES[failure].format(stream=stream)}
            if failure else next(forwarded)
            for failure in failures
        ]
        spliced = {**upstream, "Records": results, "FailedRecordCount": sum("ErrorCode" in r for r in results)}
        return 200, headers, json.dumps(spliced).encode()

    def _s3_put(self, body: bytes, faults: Faults) -> None:
        operation = self._operation("s3_put")
        if not faults.on:
            return self._forward(body)
        INJECTOR.note_sent("s3_put_resent", operation, [self.path.split("?", 1)[0]])
        call = operation if faults.per_call else None
        if INJECTOR.hit("s3_put_errors", faults.s3_put_errors, call):
            self._injected("s3_put_errors", operation)
            slow = INJECTOR.hit("s3_status", 0.5)
            return self._answer(*_s3_error("SlowDown" if slow else "InternalError"))
        if INJECTOR.hit("s3_put_delayed", faults.s3_put_delayed, call):
            self._injected("s3_put_delayed", operation)
            time.sleep(faults.delay_seconds)
        if INJECTOR.hit("s3_put_applied_errors", faults.s3_put_applied_errors, call):
            self._send(body)
            self._injected("s3_put_applied_errors", operation)
            return self._answer(*_s3_error("InternalError"))
        self._forward(body)

    def _forward(self, body: bytes) -> None:
        self._answer(*self._send(body))

    def _send(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        """The request, with `body`, sent to MiniStack; its status, headers and body."""
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP | {"content-length"}}
        headers["content-length"] = str(len(body))
        # A connection per call: on loopback it costs less than recovering a stale pooled one.
        connection = http.client.HTTPConnection("127.0.0.1", LOCAL.aws_port, timeout=FORWARD_TIMEOUT_SECONDS)
        try:
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read()
        finally:
            connection.close()
        INJECTOR.count(forwarded=1)
        return response.status, dict(response.getheaders()), answer

    def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
        # A HEAD answer's length is that of the body a GET would get.
        length = next((v for k, v in headers.items() if k.lower() == "content-length"), "0") \
            if self.command == "HEAD" else str(len(body))
        try:
            self.send_response(status)
            for key, value in headers.items():
                if key.lower() not in HOP_BY_HOP | {"content-length", "server", "date"}:
                    self.send_header(key, value)
            self.send_header("content-length", length)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (a delayed call past its timeout); the call was applied anyway.
            self.close_connection = True

    def _read_body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0], 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("content-length") or 0))

    def _signed_service(self) -> str | None:
        """The service a SigV4-signed request is for, from its credential scope."""
        found = _SIGNED_SERVICE.search(self.headers.get("authorization", ""))
        return found.group(1) if found else None


def _record_failure(faults: Faults) -> str | None:
    """The ErrorCode one record gets, if any. Both sequences draw for every record, so each
    injects the same number of failures for the same records whatever the other's share."""
    refused = INJECTOR.hit("put_records_refused", faults.put_records_refused)
    failed = INJECTOR.hit("put_records_internal_failures", faults.put_records_internal_failures)
    if refused:
        INJECTOR.count(put_records_refused=1)
        return "ProvisionedThroughputExceededException"
    if failed:
        INJECTOR.count(put_records_internal_failures=1)
        return "InternalFailure"
    return None


def _kinesis_error(code: str) -> tuple[int, dict[str, str], bytes]:
    """A whole-call Kinesis error (awsJson1_1: `__type` and `x-amzn-ErrorType`)."""
    status = 500 if code == "InternalFailure" else 503
    document = {"__type": code, "message": f"injected by the fault proxy ({code})"}
    return status, {"content-type": "application/x-amz-json-1.1", "x-amzn-ErrorType": code,
                    "x-amzn-RequestId": str(uuid.uuid4())}, json.dumps(document).encode()


def _s3_error(code: str) -> tuple[int, dict[str, str], bytes]:
    """An S3 error answer: InternalError (500) or SlowDown (503), in S3's XML."""
    status, message = {"InternalError": (500, "We encountered an internal error. Please try again."),
                       "SlowDown": (503, "Please reduce your request rate.")}[code]
    request_id = uuid.uuid4().hex[:16].upper()
    xml = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
           f"<RequestId>{request_id}</RequestId><HostId>fault-proxy</HostId></Error>")
    return status, {"content-type": "application/xml", "x-amz-request-id": request_id}, xml.encode()


def _stream_encryption(request: dict) -> str:
    """The stream's EncryptionType (NONE or KMS), from MiniStack."""
    from .aws import client  # boto3: loaded only for the rare call with every record failed

    stream = {k: request[k] for k in ("StreamName", "StreamARN") if k in request}
    return client("kinesis").describe_stream_summary(**stream)["StreamDescriptionSummary"]["EncryptionType"]


def control(faults: dict | None = None) -> dict:
    """The proxy's faults and counters; with `faults`, sets them first (and resets the counters)."""
    request = urllib.request.Request(
        f"{LOCAL.fault_proxy_endpoint}{CONTROL_PATH}",
        data=None if faults is None else json.dumps(faults).encode(),
        method="GET" if faults is None else "PUT",
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def shares_on(faults: dict) -> dict:
    """The faults of a `control()` report that inject something."""
    return {k: v for k, v in faults.items() if k in SHARES and v}


def faults_on() -> bool:
    return bool(shares_on(control()["faults"]))


def healthy() -> bool:
    try:
        with urllib.request.urlopen(f"{LOCAL.fault_proxy_endpoint}{HEALTH_PATH}", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s fault-proxy %(levelname)s %(message)s",
                        datefmt="%H:%M:%S")
    server = Server(("127.0.0.1", LOCAL.fault_proxy_port), Handler)
    log.info("forwarding 127.0.0.1:%d -> %s, faults off", LOCAL.fault_proxy_port, LOCAL.endpoint)
    server.serve_forever()


if __name__ == "__main__":
    main()
