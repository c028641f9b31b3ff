#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets from the repository's test fixtures, in each
target's input format (fuzz/src/<target>.rs): scripts/fuzz runs it before fuzzing.

    python3 fuzz/seed_corpus.py OUT_DIR      # OUT_DIR/<target>/seed-*
"""

import base64
import gzip
import hashlib
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "lambdas/validator/tests/fixtures"
FIREHOSE = ROOT / "lambdas/transformer/tests/fixtures/firehose-kinesis-source.json"

# body: flag bits 0-1 content type, 2-3 encoding (2 = gzip made by the target), 4 small limits.
CONTENT_TYPES = {None: 0, "application/json": 1, "application/x-ndjson": 2}
GZIP_MADE_HERE, GZIP_AS_GIVEN, SMALL_LIMITS = 2 << 2, 3 << 2, 1 << 4


def write(out: pathlib.Path, target: str, data: bytes) -> None:
    folder = out / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"seed-{hashlib.sha1(data).hexdigest()[:16]}").write_bytes(data)


def api_bodies():
    """(content type, decoded body, body as sent, gzipped) of each API Gateway fixture."""
    for path in sorted(FIXTURES.glob("apigw-*.json")):
        request = json.loads(path.read_text())
        headers = {key.lower(): value for key, value in (request.get("headers") or {}).items()}
        sent = request["body"].encode()
        if request.get("isBase64Encoded"):
            sent = base64.b64decode(sent)
        gzipped = headers.get("content-encoding") == "gzip"
        decoded = gzip.decompress(sent) if gzipped else sent
        content_type = headers.get("content-type", "").split(";")[0] or None
        yield content_type, decoded, sent, gzipped


def events(content_type, decoded):
    """The event texts of a decoded body, as the validator splits it."""
    if content_type == "application/x-ndjson":
        return [line for line in decoded.split(b"\n") if line.strip()]
    try:
        body = json.loads(decoded)
    except ValueError:
        return [decoded]
    items = body if isinstance(body, list) else [body]
    return [json.dumps(item).encode() for item in items]


def main(out: pathlib.Path) -> None:
    event_texts = []
    for content_type, decoded, sent, gzipped in api_bodies():
        flags = CONTENT_TYPES.get(content_type, 3)
        for limits in (0, SMALL_LIMITS):
            write(out, "body", bytes([flags | limits]) + decoded)
            # Two members, split between events: `cat a.gz b.gz`.
            write(out, "body", bytes([flags | limits | GZIP_MADE_HERE]) + decoded.replace(b"\n", b"\n\0", 1))
        if gzipped:
            write(out, "body", bytes([flags | GZIP_AS_GIVEN]) + sent)
        event_texts += events(content_type, decoded)

    firehose = json.loads(FIREHOSE.read_text())
    records = [base64.b64decode(record["data"]) for record in firehose["records"]]
    event_texts += records
    for text in event_texts:
        write(out, "envelope_schema", text)
    # transformer_record: full budget, then a small one; records with Kinesis metadata.
    for budget in (0x00, 0x90):
        write(out, "transformer_record", bytes([budget]) + b"\xff".join(b"\x01" + record for record in records))
    for text in event_texts:
        write(out, "transformer_record", b"\x00\x05" + text)


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1]))
