"""The data plane of the Kinesis-sourced delivery stream, standing in for MiniStack's.

MiniStack's own Kinesis-source delivery invokes the processor once per record, inside the
producer's PutRecords call, without the `kinesisRecordMetadata` real Firehose sends, drops
`ProcessingFailed` records instead of writing them under the error output prefix, and writes one
object per record (measured: 127 events/s). This relay does what Firehose does, and no more:

- reads every shard of the stream (GetRecords, like Firehose's KCL reader) from where the last
  relay's checkpoint says it delivered everything, else from when the delivery mode was switched,
  else from TRIM_HORIZON (see "Where it reads from" below);
- invokes the delivery stream's processor Lambda (our real transformer, run by MiniStack) with
  the standard Kinesis-source transformation event, in batches of at most the processor's
  BufferSizeInMBs of record data;
- honours `Ok` / `Dropped` / `ProcessingFailed` and `metadata.partitionKeys`, and Lambda's
  6 MB response limit (a larger answer is a failed invocation, as on AWS);
- allows at most 500 active partitions (evaluated prefixes) per buffer, Firehose's default
  quota: records for further partitions go under the error output prefix as
  `activePartitionExceeded`, as Firehose sends them;
- evaluates the destination's Prefix / ErrorOutputPrefix templates and buffers the lines per
  evaluated prefix, flushing one object per prefix when the buffer reaches the destination's
  SizeInMBs or is FLUSH_SECONDS old, named `<prefix><stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid>`
  like Firehose's objects;
- is at least once, like Firehose: a crash loses the buffer, and a restart reads again what came
  after the last checkpoint (EVENTS_DEDUP hides the repeats).

Where it reads from: after every flush, and after the final flush of a graceful stop, it writes
the last sequence number it read of each shard, all delivered by then, to the checkpoint file
(`.local/relay-checkpoint.json`, atomically) with the stream's identity (ARN and creation time). A
new relay resumes each shard AFTER_SEQUENCE_NUMBER from a checkpoint of the same stream: a
graceful stop, or a mode switch, leaves no gap and repeats nothing; a SIGKILL repeats what came
since the last flush. A checkpoint of another stream (MiniStack restarted, the stream created
again) is ignored, as is a sequence number Kinesis refuses (logged): the relay then reads from
when the mode was switched (`.local/delivery.json` `since`, AT_TIMESTAMP), else from TRIM_HORIZON.

It reads the destination from the delivery stream MiniStack holds (DescribeDeliveryStream), so
what Terraform and the local stack configure is what runs, in every delivery mode
(config/pipeline.json `delivery_modes`, `scripts/local up --mode`):

- ExtendedS3 with dynamic partitioning (`snowpipe`): as above;
- ExtendedS3 without (`snowpipe_fresh`): the transformer's partition keys are not used, and the
  prefix's `!{timestamp:…}` is the arrival time of the oldest record in the object, as Firehose
  evaluates it; no active-partition limit;
- Snowflake (`snowpipe_streaming`): the stand-in for Snowpipe Streaming (streaming.py) inserts
  each transformed record as one row of the table, JSON_MAPPING style, into the local warehouse;
  rows it refuses go under the error output prefix as `snowflake-failed`, and every record
  (S3BackupMode AllData) is also written under the backup prefix.

One deliberate difference: the buffering interval is the destination's IntervalInSeconds bounded
to FLUSH_SECONDS at most (60 s in `snowpipe`) and ZERO_BUFFER_FLUSH_SECONDS at least (0 in the
faster modes), and the processor's BufferIntervalInSeconds is not waited for, because a local user
waits seconds, not a minute (docs/latency.md, "The local stack's freshness today").
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import secrets
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone

from botocore.exceptions import ClientError

from .aws import client
from .daemon import Daemon
from .resources import described_delivery_stream, destination_of, processor_parameters
from .settings import LOCAL, PIPELINE, REGION
from .streaming import StreamingTable

log = logging.getLogger("firehose-relay")

IDLE_POLL_SECONDS = 0.1
GET_RECORDS_LIMIT = 10_000
# The local buffering interval at most (Firehose: BufferingHints.IntervalInSeconds, 60 s in the
# config for snowpipe; shorter overloads the loader, which takes ~0.15 s per file), and at least
# (0 in the zero-buffering modes: Firehose then writes about 1-4 objects a second, docs/latency.md,
# not one per read).
FLUSH_SECONDS = 0.5
ZERO_BUFFER_FLUSH_SECONDS = 0.25
# Firehose retries a failing processor invocation three times before giving up on the batch.
INVOCATION_ATTEMPTS = 4
RETRY_DELAY_SECONDS = 1.0
# Lambda refuses a synchronous response larger than this (bytes).
LAMBDA_RESPONSE_LIMIT_BYTES = 6_291_556
# Firehose's default quota of active partitions per delivery stream.
ACTIVE_PARTITION_LIMIT = 500

_EXPRESSION = re.compile(r"!\{([A-Za-z]+):([^}]*)\}")
_JAVA_TIME_FIELDS = {"yyyy": "%Y", "MM": "%m", "dd": "%d", "HH": "%H", "mm": "%M", "ss": "%S"}
_JAVA_TIME_TOKEN = re.compile("|".join(_JAVA_TIME_FIELDS))


@dataclass
class Destination:
    """The delivery stream's destination (ExtendedS3 or Snowflake), as MiniStack describes it."""

    stream_name: str
    stream_arn: str
    version: str
    bucket: str
    # Where records go in S3: the objects the pipe loads (ExtendedS3) or the backup (Snowflake).
    prefix: str
    error_output_prefix: str
    processor_arn: str
    # Record data per processor invocation (the processor's BufferSizeInMBs, which may be a
    # fraction such as 0.4).
    invocation_bytes: int
    # Bytes buffered before a flush (the destination's BufferingHints.SizeInMBs).
    buffer_bytes: int
    # Seconds buffered before a flush: the destination's IntervalInSeconds, bounded (module doc).
    flush_seconds: float
    dynamic_partitioning: bool
    # DATABASE.SCHEMA.TABLE of the Snowflake destination; None for ExtendedS3.
    table: str | None

    @classmethod
    def describe(cls, firehose=None) -> "Destination":
        described = described_delivery_stream(firehose)
        kind, destination = destination_of(described)
        s3 = destination["S3Configuration"] if kind == "Snowflake" else destination
        processor = processor_parameters(destination)
        return cls(
            stream_name=described["DeliveryStreamName"],
            stream_arn=described["DeliveryStreamARN"],
            version=str(described["VersionId"]),
            bucket=s3["BucketARN"].split(":::", 1)[1],
            prefix=s3["Prefix"],
            error_output_prefix=s3["ErrorOutputPrefix"],
            processor_arn=processor["LambdaArn"],
            invocation_bytes=int(float(processor["BufferSizeInMBs"]) * (1 << 20)),
            buffer_bytes=destination["BufferingHints"]["SizeInMBs"] << 20,
            flush_seconds=min(FLUSH_SECONDS,
                              max(ZERO_BUFFER_FLUSH_SECONDS, destination["BufferingHints"]["IntervalInSeconds"])),
            dynamic_partitioning=destination.get("DynamicPartitioningConfiguration", {}).get("Enabled", False),
            table=(f"{destination['Database']}.{destination['Schema']}.{destination['Table']}"
                   if kind == "Snowflake" else None),
        )

    def object_name(self, arrived: datetime) -> str:
        return f"{self.stream_name}-{self.version}-{arrived:%Y-%m-%d-%H-%M-%S}-{uuid.uuid4()}"


def java_time(pattern: str, at: datetime) -> str:
    """The subset of Java's DateTimeFormatter that S3 prefixes use (yyyy MM dd HH mm ss)."""
    rest = _JAVA_TIME_TOKEN.sub("", pattern)
    if re.search(r"[A-Za-z]", rest):
        raise ValueError(f"unsupported timestamp pattern {pattern!r}")
    return at.strftime(_JAVA_TIME_TOKEN.sub(lambda m: _JAVA_TIME_FIELDS[m.group(0)], pattern))


class PrefixError(Exception):
    """A prefix expression that cannot be evaluated for a record (e.g. a missing partition key)."""


def evaluate_prefix(template: str, arrived: datetime, partition_keys: dict[str, str], error_type: str = "") -> str:
    def expand(match: re.Match) -> str:
        namespace, value = match.groups()
        if namespace == "timestamp":
            return java_time(value, arrived)
        if namespace == "partitionKeyFromLambda" and value in partition_keys:
            return partition_keys[value]
        if namespace == "firehose" and value == "error-output-type" and error_type:
            return error_type
        if namespace == "firehose" and value == "random-string":
            return secrets.token_hex(6)[:11]
        raise PrefixError(f"cannot evaluate !{{{namespace}:{value}}}")

    return _EXPRESSION.sub(expand, template)


@dataclass
class Buffer:
    """Records read since the last flush: their lines by evaluated prefix (each prefix becomes one
    object) and what became of them."""

    lines: dict[str, list[bytes]] = field(default_factory=lambda: defaultdict(list))
    # The evaluated destination prefixes (not error prefixes): Firehose's active partitions.
    partitions: set[str] = field(default_factory=set)
    # An object is named after the arrival time of its oldest record, as Firehose names it.
    oldest: dict[str, datetime] = field(default_factory=dict)
    # Snowflake destination: (the Kinesis record, the transformed record) to insert as rows.
    rows: list[tuple[dict, bytes]] = field(default_factory=list)
    # The arrival of the oldest record: `!{timestamp:…}` without dynamic partitioning.
    first_arrival: datetime | None = None
    size: int = 0
    opened: float | None = None
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(
            ("records_in", "ok", "dropped", "processing_failed", "partition_limit", "rows_inserted",
             "rows_failed"), 0)
    )

    def take(self, records: int) -> None:
        self.opened = self.opened or time.monotonic()
        self.counts["records_in"] += records

    def add(self, prefix: str, arrived: datetime, line: bytes) -> None:
        self.lines[prefix].append(line)
        self.oldest.setdefault(prefix, arrived)
        self.size += len(line)

    def due(self, max_bytes: int, max_seconds: float) -> bool:
        return self.opened is not None and (
            self.size >= max_bytes or time.monotonic() - self.opened >= max_seconds
        )


class Relay:
    def __init__(self, daemon: Daemon):
        self.daemon = daemon
        self.kinesis = client("kinesis")
        self.lam = client("lambda")
        self.s3 = client("s3")
        self.firehose = client("firehose")
        self.destination = Destination.describe(self.firehose)
        self.described_at = time.monotonic()
        self.source_stream = PIPELINE.names["stream"]
        self.source_arn = PIPELINE.arn("kinesis", f"stream/{self.source_stream}")
        shards = [s["ShardId"] for s in self.kinesis.list_shards(StreamName=self.source_stream)["Shards"]]
        self.stream_identity = stream_identity(self.kinesis, self.source_stream)
        checkpoint = read_checkpoint(self.stream_identity)
        # Per shard, the last record read; after a flush, the last one delivered.
        self.last_sequence: dict[str, str | None] = {shard: checkpoint.get(shard) for shard in shards}
        self.checkpointed = dict(self.last_sequence)
        # Since when this delivery stream delivers (a switched mode: docs/local-stack.md).
        self.since = LOCAL.delivery()["since"]
        self.iterators = {shard: self._iterator(shard) for shard in shards}
        self.buffer = Buffer()
        self.table = StreamingTable()

    def run(self) -> None:
        log.info("relaying %s %s -> %s, s3://%s/%s (processor %s)", self.source_stream, list(self.iterators),
                 self.destination.table or "S3", self.destination.bucket, self.destination.prefix,
                 self.destination.processor_arn)
        self.daemon.run(self.step, IDLE_POLL_SECONDS)
        try:
            self.flush()
        finally:
            # Rows inserted in the last seconds go into the dedup history now, not never.
            self.table.close()

    def step(self) -> bool:
        """Reads every shard once, transforms what came, flushes when the buffer is due."""
        busy = False
        for shard in self.iterators:
            try:
                response = self.kinesis.get_records(ShardIterator=self.iterators[shard], Limit=GET_RECORDS_LIMIT)
            except self.kinesis.exceptions.ExpiredIteratorException:
                self.iterators[shard] = self._iterator(shard)
                continue
            records = response["Records"]
            if records:
                busy = True
                self.buffer.take(len(records))
                for chunk in _chunks(records, self.destination.invocation_bytes):
                    self._transform(shard, chunk, self.buffer)
                self.last_sequence[shard] = records[-1]["SequenceNumber"]
            self.iterators[shard] = response["NextShardIterator"]
        if self.buffer.due(self.destination.buffer_bytes, self.destination.flush_seconds):
            self.flush()
        # In every mode: at first, rows a killed relay inserted and never merged; then the inserts'.
        self.table.merge_due()
        return busy

    def _iterator(self, shard: str) -> str:
        """Where to read a shard: after the last record read (or checkpointed), else from when this
        delivery stream delivers (another mode's records are not its), else from the oldest record kept."""
        after = self.last_sequence[shard]
        if after:
            try:
                return self.kinesis.get_shard_iterator(
                    StreamName=self.source_stream, ShardId=shard, ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                    StartingSequenceNumber=after)["ShardIterator"]
            except ClientError as error:
                if error.response["Error"]["Code"] not in ("InvalidArgumentException", "ValidationException"):
                    raise
                log.warning("%s refuses to read after sequence number %s (%s); reading from %s instead", shard,
                            after, error, "the mode switch" if self.since else "TRIM_HORIZON")
                self.last_sequence[shard] = None
        if self.since:
            position = {"ShardIteratorType": "AT_TIMESTAMP",
                        "Timestamp": datetime.fromtimestamp(self.since, timezone.utc)}
        else:
            position = {"ShardIteratorType": "TRIM_HORIZON"}
        return self.kinesis.get_shard_iterator(StreamName=self.source_stream, ShardId=shard, **position)[
            "ShardIterator"
        ]

    def flush(self) -> None:
        """Writes one object per buffered prefix (S3 then notifies the pipe's queue), and starts a
        new buffer that follows the delivery stream as it is now (`scripts/local up` may update it)."""
        buffer, started = self.buffer, time.monotonic()
        if buffer.rows:
            # Rows first: a failed insert raises before anything is written, and the next step
            # flushes the same buffer again.
            refused = self.table.insert(self.destination.table, buffer.rows)
            for index, (code, message) in refused.items():
                record, transformed = buffer.rows[index]
                self._fail(buffer, record, code, message, error_type="snowflake-failed", data=transformed,
                           counter="rows_failed")
            buffer.counts["rows_inserted"] += len(buffer.rows) - len(refused)
            buffer.rows = []
        for prefix, lines in buffer.lines.items():
            key = prefix + self.destination.object_name(buffer.oldest[prefix])
            self.s3.put_object(Bucket=self.destination.bucket, Key=key, Body=b"".join(lines))
        self.daemon.count(**buffer.counts, objects=len(buffer.lines))
        if buffer.opened is not None:
            log.info("flushed %s into %d objects in %.0f ms", buffer.counts, len(buffer.lines),
                     (time.monotonic() - started) * 1000)
        self.buffer = Buffer()
        if self.last_sequence != self.checkpointed:
            write_checkpoint(self.stream_identity, self.last_sequence)
            self.checkpointed = dict(self.last_sequence)
        # Zero buffering flushes several times a second: describing once a second is enough.
        if time.monotonic() - self.described_at >= FLUSH_SECONDS:
            self.destination = Destination.describe(self.firehose)
            self.described_at = time.monotonic()

    def _transform(self, shard: str, chunk: list[dict], buffer: Buffer) -> None:
        by_id = {_record_id(r): r for r in chunk}
        event = {
            "invocationId": str(uuid.uuid4()),
            "sourceKinesisStreamArn": self.source_arn,
            "deliveryStreamArn": self.destination.stream_arn,
            "region": REGION,
            "records": [_firehose_record(shard, record_id, r) for record_id, r in by_id.items()],
        }
        results, error = self._invoke(event)
        if error:
            for record in chunk:
                self._fail(buffer, record, "Lambda.FunctionError", error)
            return
        for record_id, record in by_id.items():
            result = results.get(record_id)
            if result is None:
                self._fail(buffer, record, "Lambda.MissingRecordId", f"the processor returned no record {record_id}")
            elif result.get("result") == "Ok":
                self._place(buffer, record, result)
            elif result.get("result") == "Dropped":
                buffer.counts["dropped"] += 1
            else:
                self._fail(buffer, record, "Lambda.ProcessingFailedStatus",
                           f"the processor returned result {result.get('result')!r}")

    def _invoke(self, event: dict) -> tuple[dict[str, dict], str | None]:
        """Invokes the processor; returns its records by id, or why it failed after all retries."""
        error = None
        for attempt in range(INVOCATION_ATTEMPTS):
            if attempt:
                time.sleep(RETRY_DELAY_SECONDS)
            response = self.lam.invoke(FunctionName=self.destination.processor_arn, Payload=json.dumps(event))
            payload = response["Payload"].read()
            if "FunctionError" in response:
                error = f"{response['FunctionError']}: {payload[:500].decode(errors='replace')}"
            elif len(payload) > LAMBDA_RESPONSE_LIMIT_BYTES:
                error = (f"Function.ResponseSizeTooLarge: response payload size ({len(payload)} bytes) exceeded "
                         f"maximum allowed payload size ({LAMBDA_RESPONSE_LIMIT_BYTES} bytes)")
            else:
                try:
                    return {r["recordId"]: r for r in json.loads(payload)["records"]}, None
                except (ValueError, KeyError, TypeError) as cause:
                    error = f"malformed processor response: {cause}"
            log.warning("processor invocation %d/%d failed: %s", attempt + 1, INVOCATION_ATTEMPTS, error)
        return {}, error

    def _place(self, buffer: Buffer, record: dict, result: dict) -> None:
        arrived = _arrival(record)
        data = base64.b64decode(result["data"])
        if not self.destination.dynamic_partitioning:
            # One prefix per object, evaluated at the oldest record's arrival; partition keys unused.
            buffer.first_arrival = buffer.first_arrival or arrived
            buffer.add(evaluate_prefix(self.destination.prefix, buffer.first_arrival, {}), arrived, data)
            if self.destination.table:
                buffer.rows.append((record, data))
            buffer.counts["ok"] += 1
            return
        keys = (result.get("metadata") or {}).get("partitionKeys") or {}
        try:
            prefix = evaluate_prefix(self.destination.prefix, arrived, keys)
        except PrefixError as cause:
            self._fail(buffer, record, "DynamicPartitioning.MetadataExtractionFailed", str(cause))
            return
        if prefix not in buffer.partitions and len(buffer.partitions) >= ACTIVE_PARTITION_LIMIT:
            buffer.counts["partition_limit"] += 1
            self._fail(buffer, record, "DynamicPartitioning.ActivePartitionsLimitExceeded",
                       f"more than {ACTIVE_PARTITION_LIMIT} active partitions", error_type="activePartitionExceeded")
            return
        buffer.partitions.add(prefix)
        buffer.add(prefix, arrived, data)
        buffer.counts["ok"] += 1

    def _fail(self, buffer: Buffer, record: dict, code: str, message: str,
              error_type: str = "processing-failed", data: bytes | None = None,
              counter: str = "processing_failed") -> None:
        """Keeps a record Firehose could not process or deliver under the error output prefix, as
        Firehose does: the source record, or `data`, the transformed one it could not deliver."""
        arrived = _arrival(record)
        now_ms = int(time.time() * 1000)
        document = {
            "attemptsMade": 1,
            "arrivalTimestamp": int(arrived.timestamp() * 1000),
            "errorCode": code,
            "errorMessage": message,
            "attemptEndingTimestamp": now_ms,
            "rawData": base64.b64encode(record["Data"] if data is None else data).decode(),
            "lambdaArn": self.destination.processor_arn,
        }
        prefix = evaluate_prefix(self.destination.error_output_prefix, arrived, {}, error_type=error_type)
        buffer.add(prefix, arrived, (json.dumps(document) + "\n").encode())
        buffer.counts[counter] += 1


def stream_identity(kinesis, stream: str) -> dict:
    """What tells this stream from an earlier one of the same name (MiniStack keeps its streams in
    memory: a restarted MiniStack creates the stream again, whose sequence numbers start over)."""
    summary = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]
    return {"arn": summary["StreamARN"], "created": summary["StreamCreationTimestamp"].timestamp()}


def read_checkpoint(identity: dict) -> dict[str, str]:
    """The sequence numbers delivered per shard, from a checkpoint of this very stream; else none."""
    try:
        checkpoint = json.loads(LOCAL.relay_checkpoint_file.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        log.warning("ignoring the unreadable checkpoint %s: %s", LOCAL.relay_checkpoint_file, error)
        return {}
    if checkpoint.get("stream") != identity:
        log.info("ignoring the checkpoint of another stream %s (this one: %s)", checkpoint.get("stream"), identity)
        return {}
    log.info("resuming after the checkpoint %s", checkpoint["shards"])
    return checkpoint["shards"]


def write_checkpoint(identity: dict, sequences: dict[str, str | None]) -> None:
    """Replaces the checkpoint atomically: a relay killed while writing leaves the previous one."""
    path = LOCAL.relay_checkpoint_file
    scratch = path.with_suffix(".tmp")
    scratch.write_text(json.dumps({"stream": identity,
                                   "shards": {shard: seq for shard, seq in sequences.items() if seq}}))
    os.replace(scratch, path)


def _chunks(records: list[dict], max_bytes: int):
    chunk, size = [], 0
    for record in records:
        if chunk and size + len(record["Data"]) > max_bytes:
            yield chunk
            chunk, size = [], 0
        chunk.append(record)
        size += len(record["Data"])
    if chunk:
        yield chunk


def _arrival(record: dict) -> datetime:
    return record["ApproximateArrivalTimestamp"].astimezone(timezone.utc)


def _record_id(record: dict) -> str:
    # Kinesis-sourced Firehose record ids are the sequence number plus a sub-sequence suffix.
    return f"{record['SequenceNumber']}{0:06d}"


def _firehose_record(shard: str, record_id: str, record: dict) -> dict:
    arrived_ms = int(_arrival(record).timestamp() * 1000)
    return {
        "recordId": record_id,
        "approximateArrivalTimestamp": arrived_ms,
        "data": base64.b64encode(record["Data"]).decode(),
        "kinesisRecordMetadata": {
            "sequenceNumber": record["SequenceNumber"],
            "subsequenceNumber": 0,
            "partitionKey": record["PartitionKey"],
            "shardId": shard,
            "approximateArrivalTimestamp": arrived_ms,
        },
    }


def main() -> None:
    daemon = Daemon("firehose-relay")
    Relay(daemon).run()
    log.info("stopped")


if __name__ == "__main__":
    main()
