"""The cost model of docs/cost.md: monthly cost per stage and per 1M events of this design and of
the seed's, from the dated price table config/prices.json and the limits of config/pipeline.json.

Pure functions over plain data (the tests call them with edited copies of both files); `main` is
the command `scripts/cost`. Standard library only. Adding a stage is one more function returning
`Line`s, listed in `STAGES` or `LOADERS` (`freshness_check_stage` is the latest). Every delivery
mode of config/pipeline.json `delivery_modes` is priced from its own settings (`Model.delivery`):
a new mode is one more entry there, and a new Firehose destination one more entry of `LOADERS`.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import re
import sys
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MIB = 1024 * 1024
# Both Lambdas of this design ship for terraform/variables.tf's lambda_architecture default; the
# seed shares the delivery half, transformer included.
DEPLOYED_ARCHITECTURE = "arm64"
COST_DOC = ROOT / "docs" / "cost.md"
DOC_BEGIN = "<!-- BEGIN scripts/cost --markdown -->"
DOC_END = "<!-- END scripts/cost --markdown -->"
# The mode the others are compared with: terraform/variables.tf's delivery_mode default (the tests
# check they agree).
DEFAULT_DELIVERY_MODE = "snowpipe"
# Snowpipe Streaming's two architectures (docs/cost.md, "Delivery modes"): which one Firehose's
# Snowflake destination uses is not documented.
STREAMING_ARCHITECTURES = ("high_performance", "classic")


def load_json(name: str) -> dict:
    return json.loads((ROOT / "config" / name).read_text())


@dataclass(frozen=True)
class Workload:
    """The command's inputs: the traffic, and the Snowflake credit price."""

    events_per_second: float
    event_bytes: int
    events_per_request: int
    events_per_record: int
    credit_price: float
    event_types: int
    delivery_mode: str = DEFAULT_DELIVERY_MODE
    streaming_architecture: str = STREAMING_ARCHITECTURES[0]


@dataclass(frozen=True)
class Design:
    """What differs between the designs compared. Both share the delivery half (Firehose with the
    transformer and dynamic partitioning, S3, Snowpipe), which the issue leaves unchanged."""

    key: str
    title: str
    batches: bool  # takes the workload's events per request; the seed posts one event per request
    packs: bool  # writes several events per Kinesis record
    validator_runtime: str  # "rust" | "python": which benchmark figure prices its CPU time
    validator_memory_mb: int
    validator_architecture: str
    stream_mode: str  # "ON_DEMAND" | "PROVISIONED"
    traced: bool  # the API stage records X-Ray traces
    waf: bool  # a WAF web ACL inspects every request
    validator_log_key: str
    maintains_dedup: bool  # EVENTS_DEDUP kept by a merge task (the seed's view re-ranks per query)
    checks_freshness: bool  # a Snowflake task watches the pipe (the seed had no monitoring)
    switches_delivery: bool  # has issue 10's delivery modes (the seed delivers as the default mode)


def designs(pipeline: dict) -> dict[str, Design]:
    this = Design(
        key="this",
        title="this design, as deployed",
        batches=True,
        packs=True,
        validator_runtime="rust",
        validator_memory_mb=pipeline["lambda"]["validator"]["memory_mb"],
        # terraform/variables.tf: lambda_architecture and stream_mode defaults; env/prod.tfvars: WAF on.
        validator_architecture=DEPLOYED_ARCHITECTURE,
        stream_mode="ON_DEMAND",
        traced=True,
        waf=True,
        validator_log_key="validator_log_bytes",
        maintains_dedup=True,
        checks_freshness=True,
        switches_delivery=True,
    )
    # The seed as issue 9 describes it: one event per request, a Python validator at 128 MB
    # (x86_64, Lambda's default), a provisioned stream; no tracing, no WAF.
    seed = Design(
        key="seed",
        title="seed",
        batches=False,
        packs=False,
        validator_runtime="python",
        validator_memory_mb=128,
        validator_architecture="x86_64",
        stream_mode="PROVISIONED",
        traced=False,
        waf=False,
        validator_log_key="seed_validator_log_bytes",
        maintains_dedup=False,
        checks_freshness=False,
        switches_delivery=False,
    )
    # This design with only what the seed has: no WAF, no X-Ray, no Snowflake checks, no dedup
    # maintenance (the seed's view re-ranks per query). The goal compares like with like.
    like = replace(
        this, key="like", title="this design, like-for-like", traced=False, waf=False, maintains_dedup=False, checks_freshness=False
    )
    return {"seed": seed, "like": like, "this": this}


@dataclass(frozen=True)
class Line:
    stage: str
    item: str  # the same charge in every design carries the same item
    quantity: float  # per month, in `unit`
    unit: str
    usd: float  # per month
    detail: str = ""  # what differs between designs: memory, shards, milliseconds

    @property
    def label(self) -> str:
        return f"{self.stage} / {self.item}" + (f" ({self.detail})" if self.detail else "")


@dataclass(frozen=True)
class Model:
    prices: dict
    pipeline: dict

    def assumption(self, key: str) -> float:
        return self.prices["assumptions"][key]["value"]

    def quota(self, key: str) -> float:
        return self.prices["quotas"][key]["value"]

    @property
    def seconds_per_month(self) -> float:
        return self.prices["hours_per_month"]["value"] * 3600

    def gigabytes(self, size: float) -> float:
        return size / self.prices["gigabyte_bytes"]

    def delivery(self, mode: str) -> dict:
        """A delivery mode's settings (config/pipeline.json delivery_modes), a null one being the
        firehose block's, as Terraform's locals resolve them; the destination buffer's size is
        the firehose block's in every mode."""
        firehose = self.pipeline["firehose"]
        settings = dict(self.pipeline["delivery_modes"]["modes"][mode])
        for key, value in settings.items():
            if value is None and key in firehose:
                settings[key] = firehose[key]
        settings.setdefault("buffer_size_mib", firehose["buffer_size_mib"])
        return settings

    def cost(self, price_key: str, quantity: float) -> float:
        """USD for `quantity` units of a price, through its tiers when it has them."""
        price = self.prices["prices"][price_key]
        per = price["per"]
        if "tiers" not in price:
            return quantity / per * price["usd"]
        total, floor = 0.0, 0.0
        for tier in price["tiers"]:
            ceiling = math.inf if tier["up_to"] is None else tier["up_to"]
            in_tier = max(0.0, min(quantity, ceiling) - floor)
            total += in_tier / per * tier["usd"]
            floor = ceiling
        return total

    def line(self, stage: str, item: str, price_key: str, quantity: float, detail: str = "") -> Line:
        unit = self.prices["prices"][price_key]["unit"]
        return Line(stage, item, quantity, unit, self.cost(price_key, quantity), detail)


def billed_bytes(size: float, increment: int) -> int:
    """A record's size as billed: rounded up to the next whole increment."""
    return math.ceil(size / increment) * increment


@dataclass(frozen=True)
class Traffic:
    """A month of the workload as one design shapes it."""

    events: float
    requests: float
    events_per_request: int
    events_per_record: int
    packs: bool  # the design packs and the delivery mode lets it (delivery_modes.*.packs)
    records: float
    record_data_bytes: int  # the record's data: events joined as NDJSON
    record_bytes: int  # as Kinesis counts it: data + partition key
    put_calls_per_request: int
    output_line_bytes: int  # one event as the transformer writes it to S3 (and as EVENTS holds it)
    delivered_bytes: int  # one event as the transformer returns it in this mode: the line, or the row


def max_events_per_record(model: Model, event_bytes: int) -> int:
    """The most events one NDJSON record can hold within Kinesis' record limit. An event is at
    most one record, so limits.max_event_bytes is that limit (Kinesis' 1 MiB)."""
    room = model.pipeline["limits"]["max_event_bytes"] - model.assumption("partition_key_bytes")
    return max(1, (room + 1) // (event_bytes + 1))


def filling_events_per_record(model: Model, event_bytes: int) -> int:
    """The validator's packing (config/pipeline.json packing.target_record_bytes, one 5 KB Firehose
    increment): the most events whose record, partition key included, still fits the target (so it
    fills five of Kinesis' 1 KB increments too). More events per record would only shave the last
    increment's slack, at the price of larger retry units."""
    room = model.pipeline["packing"]["target_record_bytes"] - model.assumption("partition_key_bytes")
    return max(1, min((room + 1) // (event_bytes + 1), max_events_per_record(model, event_bytes)))


def traffic(model: Model, design: Design, workload: Workload) -> Traffic:
    limits = model.pipeline["limits"]
    settings = model.delivery(workload.delivery_mode)
    events = workload.events_per_second * model.seconds_per_month
    per_request = min(workload.events_per_request, limits["max_batch_events"]) if design.batches else 1
    per_record = 1
    # The validator packs only in the modes that pack (delivery_modes.*.packs).
    packs = design.packs and settings["packs"]
    if packs:
        per_record = max(
            1,
            min(workload.events_per_record, per_request, max_events_per_record(model, workload.event_bytes)),
        )
    # Events of one request and one event type share records; requests are taken as one type.
    records_per_request = math.ceil(per_request / per_record)
    data_bytes = per_record * workload.event_bytes + (per_record - 1)
    record_bytes = data_bytes + model.assumption("partition_key_bytes")
    put_calls = max(
        math.ceil(records_per_request / limits["kinesis_max_records_per_call"]),
        math.ceil(records_per_request * record_bytes / limits["kinesis_max_bytes_per_call"]),
    )
    requests = events / per_request
    line_bytes = workload.event_bytes + int(model.assumption("ingest_metadata_bytes"))
    # The Snowflake destination gets one row per event keyed by EVENTS' column names.
    row_extra = model.assumption("streaming_row_extra_bytes") if settings["destination"] == "snowflake" else 0
    return Traffic(
        events=events,
        requests=requests,
        events_per_request=per_request,
        events_per_record=per_record,
        packs=packs,
        records=requests * records_per_request,
        record_data_bytes=data_bytes,
        record_bytes=record_bytes,
        put_calls_per_request=put_calls,
        output_line_bytes=line_bytes,
        delivered_bytes=line_bytes + int(row_extra),
    )


def cpu_share(model: Model, memory_mb: int) -> float:
    return min(1.0, memory_mb / model.quota("lambda_one_vcpu_memory_mb"))


def validator_billed_ms(model: Model, design: Design, flow: Traffic) -> int:
    """One invocation: the benchmarked CPU time of its events, slowed by the function's share of a
    vCPU, plus one Kinesis round trip per PutRecords call; Lambda bills whole milliseconds."""
    mode = "single" if flow.events_per_request == 1 else "batch"
    rate_key = f"validator_{design.validator_runtime}_events_per_second_{mode}"
    cpu_ms = flow.events_per_request / model.assumption(rate_key) * 1000
    cpu_ms /= cpu_share(model, design.validator_memory_mb)
    return math.ceil(cpu_ms + flow.put_calls_per_request * model.assumption("kinesis_put_round_trip_ms"))


def flushes(records: float, by_time: float, by_size: float) -> float:
    """How often a buffer is emptied in a month: when it fills or its interval passes, whichever
    comes first, and never more often than records arrive."""
    return min(records, max(by_time, by_size))


def transformer_invocations(model: Model, workload: Workload, flow: Traffic) -> tuple[float, float]:
    """(invocations per month, events per invocation): Firehose calls the transformer when the
    mode's processor buffer fills or its interval passes, whichever comes first."""
    settings = model.delivery(workload.delivery_mode)
    invocations = flushes(
        flow.records,
        model.seconds_per_month / settings["processor_buffer_interval_seconds"],
        flow.records * flow.record_data_bytes / (settings["processor_buffer_size_mib"] * MIB),
    )
    return invocations, flow.events / invocations


# --- stages -------------------------------------------------------------------------------------


def api_stage(model: Model, design: Design, workload: Workload, flow: Traffic) -> list[Line]:
    stage = "API Gateway"
    lines = [model.line(stage, "REST API requests", "api_gateway_rest_requests", flow.requests)]
    reply_bytes = model.assumption("response_overhead_bytes") + flow.events_per_request * model.assumption(
        "response_result_bytes"
    )
    lines.append(
        model.line(
            stage,
            "replies, data out",
            "data_transfer_out_internet",
            model.gigabytes(flow.requests * reply_bytes),
        )
    )
    lines.append(
        model.line(
            stage,
            "access logs",
            "cloudwatch_logs_ingestion",
            model.gigabytes(flow.requests * model.assumption("api_access_log_bytes")),
        )
    )
    if design.traced:
        per_second = flow.requests / model.seconds_per_month
        reservoir = model.assumption("xray_reservoir_per_second")
        traced = min(per_second, reservoir) + model.assumption("xray_sampled_fraction") * max(
            0.0, per_second - reservoir
        )
        lines.append(
            model.line(stage, "X-Ray traces", "xray_traces_recorded", traced * model.seconds_per_month)
        )
    if design.waf:
        lines.append(model.line(stage, "WAF web ACL", "waf_web_acl", 1))
        lines.append(model.line(stage, "WAF rules", "waf_rule", model.assumption("waf_rules")))
        lines.append(model.line(stage, "WAF requests", "waf_requests", flow.requests))
    return lines


def lambda_lines(
    model: Model,
    stage: str,
    runtime: str,
    invocations: float,
    billed_ms: float,
    memory_mb: int,
    architecture: str,
    log_bytes: float,
) -> list[Line]:
    gb_seconds = invocations * billed_ms / 1000 * memory_mb / 1024
    return [
        model.line(stage, "requests", "lambda_requests", invocations),
        model.line(
            stage,
            "duration",
            f"lambda_gb_seconds_{architecture}",
            gb_seconds,
            f"{runtime}, {memory_mb} MB {architecture}, {billed_ms:g} ms",
        ),
        model.line(stage, "logs", "cloudwatch_logs_ingestion", model.gigabytes(invocations * log_bytes)),
    ]


def validator_stage(model: Model, design: Design, workload: Workload, flow: Traffic) -> list[Line]:
    return lambda_lines(
        model,
        "validator Lambda",
        "Rust" if design.validator_runtime == "rust" else "Python",
        flow.requests,
        validator_billed_ms(model, design, flow),
        design.validator_memory_mb,
        design.validator_architecture,
        model.assumption(design.validator_log_key),
    )


def provisioned_shards(model: Model, flow: Traffic) -> int:
    seconds = model.seconds_per_month
    by_records = flow.records / seconds / model.quota("kinesis_shard_write_records")
    by_bytes = flow.records * flow.record_bytes / seconds / model.quota("kinesis_shard_write_bytes")
    return max(1, math.ceil(max(by_records, by_bytes) / model.assumption("shard_target_utilisation")))


def stream_stage(model: Model, design: Design, workload: Workload, flow: Traffic) -> list[Line]:
    stage = "Kinesis"
    hours = model.prices["hours_per_month"]["value"]
    if design.stream_mode == "PROVISIONED":
        shards = provisioned_shards(model, flow)
        unit_bytes = model.prices["prices"]["kinesis_provisioned_put_payload_units"]["record_increment_bytes"]
        units = flow.records * billed_bytes(flow.record_bytes, unit_bytes) / unit_bytes
        return [
            model.line(
                stage,
                "provisioned shards",
                "kinesis_provisioned_shard_hour",
                shards * hours,
                f"{shards} shard(s)",
            ),
            model.line(
                stage, "PUT payload units (25 KB each)", "kinesis_provisioned_put_payload_units", units
            ),
        ]
    increment = model.prices["prices"]["kinesis_on_demand_ingest"]["record_increment_bytes"]
    return [
        model.line(stage, "on-demand stream", "kinesis_on_demand_stream_hour", hours),
        model.line(
            stage,
            "data in (records rounded up to 1 KB)",
            "kinesis_on_demand_ingest",
            model.gigabytes(flow.records * billed_bytes(flow.record_bytes, increment)),
        ),
        model.line(
            stage,
            "data out to Firehose",
            "kinesis_on_demand_retrieval",
            model.gigabytes(flow.records * flow.record_bytes),
        ),
    ]


def delivery_objects(model: Model, workload: Workload, flow: Traffic) -> float:
    """S3 objects a month under the events prefix (the S3 modes). With dynamic partitioning each
    active partition (event type; dt turns over daily) is flushed when its buffer fills or its
    interval passes. With zero buffering Firehose writes what it has at once: an object per
    processed batch (an assumption, `zero_buffering_objects_per_processor_batch`)."""
    settings = model.delivery(workload.delivery_mode)
    by_size = flow.events * flow.delivered_bytes / (settings["buffer_size_mib"] * MIB)
    interval = settings["buffer_interval_seconds"]
    if interval == 0:
        batches, _ = transformer_invocations(model, workload, flow)
        by_time = batches * model.assumption("zero_buffering_objects_per_processor_batch")
    else:
        partitions = workload.event_types if settings["dynamic_partitioning"] else 1
        by_time = partitions * model.seconds_per_month / interval
    return flushes(flow.records, by_time, by_size)


def backup_objects(model: Model, settings: dict, flow: Traffic) -> float:
    """S3 objects a month of the Snowflake destination's backup of every record, at the mode's
    backup buffering (config/pipeline.json delivery_modes.*.backup_buffer_*)."""
    return flushes(
        flow.records,
        model.seconds_per_month / settings["backup_buffer_interval_seconds"],
        flow.events * flow.delivered_bytes / (settings["backup_buffer_size_mib"] * MIB),
    )


def put_requests_per_object(model: Model, interval_seconds: float) -> float:
    """Below a 60 s buffering interval Firehose writes S3 objects with multipart uploads."""
    if interval_seconds < model.assumption("multipart_below_interval_seconds"):
        return model.assumption("multipart_requests_per_object")
    return 1


def delivery_stage(model: Model, design: Design, workload: Workload, flow: Traffic) -> list[Line]:
    """Firehose and its transformer. Ingestion (5 KB per record) in every mode; dynamic
    partitioning's charges where it is on; the Snowflake destination's own charge on the rows it
    delivers."""
    stage = "Firehose"
    settings = model.delivery(workload.delivery_mode)
    increment = model.prices["prices"]["firehose_ingestion"]["record_increment_bytes"]
    delivered = model.gigabytes(flow.events * flow.delivered_bytes)
    lines = [
        model.line(
            stage,
            "ingestion (records rounded up to 5 KB)",
            "firehose_ingestion",
            model.gigabytes(flow.records * billed_bytes(flow.record_data_bytes, increment)),
        ),
    ]
    if settings["dynamic_partitioning"]:
        lines += [
            model.line(stage, "dynamic partitioning, data", "firehose_dynamic_partitioning_data", delivered),
            model.line(
                stage,
                "dynamic partitioning, objects",
                "firehose_dynamic_partitioning_objects",
                delivery_objects(model, workload, flow),
            ),
        ]
    if settings["destination"] == "snowflake":
        price = model.prices["prices"]["firehose_snowflake_delivery"]
        row_bytes = flow.delivered_bytes * flow.events_per_record
        if "record_increment_bytes" in price:
            row_bytes = billed_bytes(row_bytes, price["record_increment_bytes"])
        lines.append(
            model.line(
                stage,
                "Snowflake destination, data",
                "firehose_snowflake_delivery",
                model.gigabytes(flow.records * row_bytes),
            )
        )
    transformer = model.pipeline["lambda"]["transformer"]
    invocations, events_each = transformer_invocations(model, workload, flow)
    cpu_ms = (
        events_each
        / model.assumption("transformer_events_per_second")
        * 1000
        / cpu_share(model, transformer["memory_mb"])
    )
    return lines + lambda_lines(
        model,
        "transformer Lambda",
        "Rust",
        invocations,
        math.ceil(cpu_ms),
        transformer["memory_mb"],
        DEPLOYED_ARCHITECTURE,
        model.assumption("transformer_log_bytes"),
    )


def storage_stage(model: Model, design: Design, workload: Workload, flow: Traffic) -> list[Line]:
    """S3: in the modes with a pipe, the objects it loads (one PUT each, three with multipart
    uploads; one GET by Snowpipe and one notification each); with the Snowflake destination, the
    backup of every row. Either is kept: every month adds its storage to every later month."""
    stage = "S3"
    settings = model.delivery(workload.delivery_mode)
    stored = model.gigabytes(flow.events * flow.delivered_bytes)
    if not settings["snowpipe"]:
        objects = backup_objects(model, settings, flow)
        requests = put_requests_per_object(model, settings["backup_buffer_interval_seconds"])
        return [
            model.line(stage, "PUTs by Firehose", "s3_put_requests", objects * requests, "the backup's objects"),
            model.line(stage, "storage of the month's events, one month", "s3_standard_storage", stored, "the backup's rows"),
        ]
    objects = delivery_objects(model, workload, flow)
    requests = put_requests_per_object(model, settings["buffer_interval_seconds"])
    return [
        model.line(
            stage,
            "PUTs by Firehose",
            "s3_put_requests",
            objects * requests,
            f"{requests:g} per object, multipart" if requests > 1 else "",
        ),
        model.line(stage, "GETs by Snowpipe", "s3_get_requests", objects),
        model.line(stage, "storage of the month's events, one month", "s3_standard_storage", stored),
        model.line(stage, "event notifications (SQS)", "sqs_snowpipe_notifications", objects),
    ]


def snowpipe_stage(model: Model, design: Design, workload: Workload, flow: Traffic) -> list[Line]:
    price = model.prices["prices"]["snowpipe_credits_per_gb"]
    loaded = model.gigabytes(flow.events * flow.output_line_bytes)
    credits = loaded / price["per"] * price["credits"]
    detail = f"{price['credits']:g} credits/GB at {workload.credit_price:.2f} USD/credit"
    return [Line("Snowflake", "Snowpipe", loaded, price["unit"], credits * workload.credit_price, detail)]


def snowpipe_streaming_stage(model: Model, design: Design, workload: Workload, flow: Traffic) -> list[Line]:
    """Snowpipe Streaming, which the Snowflake destination writes through. High-performance
    architecture: credits per uncompressed GB (decimal, as Snowflake's example counts it) of the
    values received, not the keys. Classic: credits per hour each client writes, plus serverless
    migration compute that Snowflake gives no way to estimate (not modelled: a lower bound)."""
    if workload.streaming_architecture == "classic":
        clients = model.assumption("firehose_snowflake_clients")
        return [
            credits_line(
                model, workload, "Snowflake", "Snowpipe Streaming", "snowpipe_streaming_classic_client_hours",
                clients * model.prices["hours_per_month"]["value"],
                f"classic: {clients:g} client(s) all month; migration compute not modelled",
            )
        ]
    price = model.prices["prices"]["snowpipe_streaming_credits_per_gb"]
    values = flow.events * (flow.delivered_bytes - model.assumption("streaming_row_key_bytes"))
    return [
        credits_line(
            model, workload, "Snowflake", "Snowpipe Streaming", "snowpipe_streaming_credits_per_gb",
            values / price["gigabyte_bytes"],
            f"high-performance: {price['credits']:g} credits/GB of values at {workload.credit_price:.2f} USD/credit",
        )
    ]


def credits_line(model: Model, workload: Workload, stage: str, item: str, price_key: str, quantity: float, detail: str) -> Line:
    """A Snowflake charge: `quantity` units of a price in credits, at the workload's credit price."""
    price = model.prices["prices"][price_key]
    credits = quantity / price["per"] * price["credits"]
    return Line(stage, item, quantity, price["unit"], credits * workload.credit_price, detail)


def scan_seconds(model: Model, rows: float, bytes_per_row: float) -> float:
    return rows * bytes_per_row / model.assumption("snowflake_xsmall_scan_bytes_per_second")


def dedup_stage(model: Model, design: Design, workload: Workload, flow: Traffic) -> list[Line]:
    """What keeps EVENTS_DEDUP (terraform/modules/snowflake/dedup_*.tf, settings from
    config/pipeline.json dedup): the serverless merge task, which each run reads the new rows and
    the window of history they are matched against, and the daily duplicate check, a serverless
    task too. Queries of the view are not modelled (no query is), nor the history's storage
    (Snowflake storage is not)."""
    if not design.maintains_dedup:
        return []
    stage = "Snowflake dedup"
    dedup = model.pipeline["dedup"]
    per_second = flow.events / model.seconds_per_month
    interval = dedup["merge_interval_minutes"] * 60
    runs = model.seconds_per_month / interval
    window_rows = per_second * dedup["window_hours"] * 3600
    run_seconds = (
        model.assumption("dedup_merge_overhead_seconds")
        + scan_seconds(model, window_rows, model.assumption("dedup_key_bytes"))
        + scan_seconds(model, per_second * interval, flow.output_line_bytes)
    )
    days = model.seconds_per_month / 86400
    check_rows = per_second * dedup["check_days"] * 86400
    check_seconds = model.assumption("snowflake_check_run_seconds") + scan_seconds(
        model, check_rows, model.assumption("dedup_check_row_bytes")
    )
    return [
        credits_line(
            model, workload, stage, "merge task (serverless)", "snowflake_serverless_task_hours",
            runs * run_seconds / 3600, f"{runs:,.0f} runs of {run_seconds:.1f} s",
        ),
        credits_line(
            model, workload, stage, "daily duplicate check (serverless)", "snowflake_serverless_task_hours",
            days * check_seconds / 3600, f"{check_seconds:.0f} s a day",
        ),
    ]


def freshness_check_stage(model: Model, design: Design, workload: Workload, flow: Traffic) -> list[Line]:
    """The pipe's freshness check (terraform/modules/snowflake/freshness_check.tf), in the modes
    with a pipe (config/pipeline.json delivery_modes.*.snowpipe): a serverless task every check
    interval, whatever the traffic. Each run reads one row of the freshness view (MAX(LOADED_AT)
    and SYSTEM$PIPE_STATUS), so it is the fixed cost of a run and nothing more."""
    if not (design.checks_freshness and model.pipeline["delivery_modes"]["modes"][workload.delivery_mode]["snowpipe"]):
        return []
    runs = model.seconds_per_month / (model.assumption("freshness_check_interval_minutes") * 60)
    run_seconds = model.assumption("snowflake_check_run_seconds")
    return [
        credits_line(
            model, workload, "Snowflake", "freshness check (serverless)", "snowflake_serverless_task_hours",
            runs * run_seconds / 3600, f"{runs:,.0f} runs of {run_seconds:g} s",
        )
    ]


STAGES = (api_stage, validator_stage, stream_stage, delivery_stage, storage_stage, dedup_stage, freshness_check_stage)
# How rows reach Snowflake, by the mode's Firehose destination (delivery_modes.*.destination).
LOADERS = {"extended_s3": (snowpipe_stage,), "snowflake": (snowpipe_streaming_stage,)}


@dataclass(frozen=True)
class Estimate:
    design: Design
    workload: Workload
    flow: Traffic
    lines: tuple[Line, ...]

    @property
    def monthly_usd(self) -> float:
        return sum(line.usd for line in self.lines)

    def per_million_events(self, usd: float) -> float:
        return usd / self.flow.events * 1_000_000

    @property
    def usd_per_million_events(self) -> float:
        return self.per_million_events(self.monthly_usd)


def estimate(model: Model, design: Design, workload: Workload) -> Estimate:
    if not design.switches_delivery:
        workload = replace(workload, delivery_mode=DEFAULT_DELIVERY_MODE)
    flow = traffic(model, design, workload)
    stages = STAGES + LOADERS[model.delivery(workload.delivery_mode)["destination"]]
    lines = tuple(line for stage in stages for line in stage(model, design, workload, flow))
    return Estimate(design, workload, flow, lines)


# --- capacity -----------------------------------------------------------------------------------


def prod_reserved_concurrency(name: str) -> int | None:
    tfvars = (ROOT / "terraform" / "env" / "prod.tfvars").read_text()
    found = re.search(rf"^\s*{name}\s*=\s*(-?\d+)", tfvars, re.MULTILINE)
    return int(found.group(1)) if found and int(found.group(1)) > 0 else None


def capacity(model: Model, design: Design, workload: Workload) -> list[tuple[str, str, str, str]]:
    """(limit, its default, when it binds for this workload, the knob that raises it): the limits a
    rising event rate meets, lowest rate first, then those that growth in event types meets."""
    flow = traffic(model, design, workload)
    quotas = model.prices["quotas"]
    per_request = flow.events_per_request
    requests_per_execution_second = 1000 / validator_billed_ms(model, design, flow)
    event_share = flow.record_bytes / flow.events_per_record  # Kinesis bytes one event takes
    usage_plan = model.pipeline["api_usage_plan"]

    def quota_row(
        key: str, name: str, events_per_second: float, shown: float | None = None, unit: str | None = None
    ):
        quota = quotas[key]
        value = quota["value"] if shown is None else shown
        return (name, f"{value:,.0f} {unit or quota['unit']}", events_per_second, quota["knob"])

    rows = [
        quota_row(
            "api_gateway_account_rps",
            "API Gateway account throttle",
            quotas["api_gateway_account_rps"]["value"] * per_request,
        ),
        (
            "API usage plan, per API key (config api_usage_plan)",
            f"{usage_plan['rate_limit']:,} requests/s (burst {usage_plan['burst_limit']:,})",
            usage_plan["rate_limit"] * per_request,
            "api_usage_tiers / api_clients in terraform/env/<env>.tfvars; api_usage_plan in config/pipeline.json for the default tier",
        ),
        quota_row(
            "lambda_account_concurrency",
            "Lambda account concurrency (all of it to the validator)",
            quotas["lambda_account_concurrency"]["value"] * requests_per_execution_second * per_request,
        ),
    ]
    reserved = prod_reserved_concurrency("validator_reserved_concurrency")
    if reserved:
        rows.append(
            (
                "validator reserved concurrency (env/prod.tfvars)",
                f"{reserved:,} concurrent executions",
                reserved * requests_per_execution_second * per_request,
                "validator_reserved_concurrency in terraform/env/prod.tfvars",
            )
        )
    if design.stream_mode == "ON_DEMAND":
        rows += [
            quota_row(
                "kinesis_on_demand_initial_write_bytes",
                "Kinesis on-demand, a new stream's write bytes",
                quotas["kinesis_on_demand_initial_write_bytes"]["value"] / event_share,
                quotas["kinesis_on_demand_initial_write_bytes"]["value"] / MIB,
                "MiB/s",
            ),
            quota_row(
                "kinesis_on_demand_initial_write_records",
                "Kinesis on-demand, a new stream's write records",
                quotas["kinesis_on_demand_initial_write_records"]["value"] * flow.events_per_record,
            ),
            quota_row(
                "kinesis_on_demand_write_bytes",
                "Kinesis on-demand write bytes",
                quotas["kinesis_on_demand_write_bytes"]["value"] / event_share,
                quotas["kinesis_on_demand_write_bytes"]["value"] / MIB,
                "MiB/s",
            ),
            quota_row(
                "kinesis_on_demand_write_records",
                "Kinesis on-demand write records",
                quotas["kinesis_on_demand_write_records"]["value"] * flow.events_per_record,
            ),
        ]
    else:
        shards = provisioned_shards(model, flow)
        rows += [
            quota_row(
                "kinesis_shard_write_records",
                f"Kinesis write records, {shards} shard(s)",
                shards * quotas["kinesis_shard_write_records"]["value"] * flow.events_per_record,
            ),
            quota_row(
                "kinesis_shard_write_bytes",
                f"Kinesis write bytes, {shards} shard(s)",
                shards * quotas["kinesis_shard_write_bytes"]["value"] / event_share,
                quotas["kinesis_shard_write_bytes"]["value"] / MIB,
                "MiB/s per shard",
            ),
        ]
    rows.sort(key=lambda row: row[2])
    table = [(name, default, f"{rate:,.0f} events/s", knob) for name, default, rate, knob in rows]
    settings = model.delivery(workload.delivery_mode)
    if settings["dynamic_partitioning"]:
        partitions = quotas["firehose_active_partitions"]
        # dt is the arrival date: around midnight each event type has two partitions open.
        table.append(
            (
                "Firehose active partitions",
                f"{partitions['value']:,} {partitions['unit']}",
                f"{partitions['value'] // 2:,} event types",
                partitions["knob"],
            )
        )
    if settings["snowpipe"]:
        snowpipe = quotas["snowpipe_throughput"]
        table.append(("Snowpipe", snowpipe["unit"], "no published rate", snowpipe["knob"]))
    return table


# --- output -------------------------------------------------------------------------------------


def plain(number: float) -> str:
    """A price as printed on a price page: no exponent, no trailing zeros."""
    return f"{number:.10f}".rstrip("0").rstrip(".")


def money(usd: float) -> str:
    return f"{usd:,.2f}" if usd >= 100 else f"{usd:,.4f}"


def packing_note(estimate_: Estimate, mode: str = "") -> str:
    """Packing off is a packing mode's billing without packing, not a mode that never packs."""
    flow = estimate_.flow
    if not estimate_.design.packs:
        return ""
    if not flow.packs:
        return f" ({mode}does not pack)"
    return " (packed)" if flow.events_per_record > 1 else " (packing off)"


def column_title(estimate_: Estimate) -> str:
    flow = estimate_.flow
    title = f"{estimate_.design.title}: {flow.events_per_request}/request, {flow.events_per_record}/record"
    return title + packing_note(estimate_, f"`{estimate_.workload.delivery_mode}` ")


def mode_title(estimate_: Estimate) -> str:
    return f"`{estimate_.workload.delivery_mode}`: {estimate_.flow.events_per_record}/record" + packing_note(estimate_)


def scenario_text(workload: Workload, model: Model) -> str:
    return (
        f"{workload.events_per_second:,.0f} events/s of {workload.event_bytes} bytes, {workload.event_types} event type(s), "
        f"{model.prices['region']} list prices as of {model.prices['as_of']}, {workload.credit_price:.2f} USD/credit, "
        f"{model.prices['hours_per_month']['value']} h/month"
    )


def aligned(header: tuple[str, ...], rows: list[tuple[str, ...]], text_columns: int) -> list[str]:
    """Rows as indented columns: the first `text_columns` left-aligned, the figures right-aligned."""
    widths = [max(len(row[i]) for row in rows + [header]) for i in range(len(header))]
    return [
        "  " + "  ".join(cell.ljust(widths[i]) if i < text_columns else cell.rjust(widths[i]) for i, cell in enumerate(row))
        for row in [header] + rows
    ]


def render_text(model: Model, estimates: list[Estimate]) -> str:
    out = [scenario_text(estimates[0].workload, model), ""]
    for est in estimates:
        out.append(column_title(est))
        rows = [
            (
                line.label,
                f"{line.quantity:,.2f} {line.unit}",
                money(line.usd),
                f"{est.per_million_events(line.usd):.4f}",
            )
            for line in est.lines
        ]
        rows.append(("total", "", money(est.monthly_usd), f"{est.usd_per_million_events:.4f}"))
        out += aligned(("stage / item", "quantity per month", "USD/month", "USD/1M events"), rows, 2)
        out.append("")
    out += ratio_lines(estimates)
    return "\n".join(out).rstrip() + "\n"


# --- delivery modes -----------------------------------------------------------------------------


def mode_estimates(model: Model, design: Design, workload: Workload) -> list[Estimate]:
    """The design in every delivery mode of config/pipeline.json, the default first; each mode
    packs or not as its `packs` says."""
    modes = sorted(model.pipeline["delivery_modes"]["modes"], key=lambda mode: mode != DEFAULT_DELIVERY_MODE)
    return [estimate(model, design, replace(workload, delivery_mode=mode)) for mode in modes]


def with_edit(model: Model, edit) -> Model:
    prices = copy.deepcopy(model.prices)
    edit(prices)
    return Model(prices, model.pipeline)


def mode_variants(model: Model, design: Design, workload: Workload) -> list[tuple[str, float]]:
    """(what changes, USD per 1M events) for the modes whose figure rests on what could not be
    settled: for the Snowflake destination, Snowpipe Streaming's other architecture, Firehose's
    Snowflake charge rounded per record as its ingestion is, and that charge replacing the
    ingestion charge; for zero buffering, its objects at their upper estimate."""
    out = []
    for mode in model.pipeline["delivery_modes"]["modes"]:
        settings = model.delivery(mode)
        moded = replace(workload, delivery_mode=mode)
        if settings["destination"] == "snowflake":
            other = next(arch for arch in STREAMING_ARCHITECTURES if arch != workload.streaming_architecture)
            note = " (client time only: migration compute not modelled, a lower bound)" if other == "classic" else ""
            switched = estimate(model, design, replace(moded, streaming_architecture=other))
            out.append((f"`{mode}`, Snowpipe Streaming's {other.replace('_', '-')} architecture instead{note}", switched.usd_per_million_events))

            def per_record(prices):
                increment = prices["prices"]["firehose_ingestion"]["record_increment_bytes"]
                prices["prices"]["firehose_snowflake_delivery"]["record_increment_bytes"] = increment

            rounded = estimate(with_edit(model, per_record), design, moded)
            out.append((f"`{mode}`, Firehose's Snowflake charge in 5 KB increments per record", rounded.usd_per_million_events))
            base = estimate(model, design, moded)
            (ingestion,) = [line for line in base.lines if line.item == "ingestion (records rounded up to 5 KB)"]
            out.append(
                (
                    f"`{mode}`, Firehose's Snowflake charge replacing its 5 KB ingestion charge",
                    base.per_million_events(base.monthly_usd - ingestion.usd),
                )
            )
        if settings["destination"] == "extended_s3" and settings["buffer_interval_seconds"] == 0:
            key = "zero_buffering_objects_per_processor_batch"
            upper = model.prices["assumptions"][key]["upper"]

            def most_objects(prices):
                prices["assumptions"][key]["value"] = upper

            more = estimate(with_edit(model, most_objects), design, moded)
            out.append((f"`{mode}`, {upper:g} objects per processed batch (one per shard of a new on-demand stream)", more.usd_per_million_events))
    return out


def mode_heading(estimates: list[Estimate]) -> str:
    first = estimates[0]
    return (
        f"Cost per 1M events by delivery mode, and the difference against {first.workload.delivery_mode} "
        f"({first.design.title}: {first.flow.events_per_request}/request, {first.flow.events_per_record}/record where the mode packs)"
    )


def signed(usd: float) -> str:
    return f"{usd:+,.2f}" if abs(usd) >= 100 else f"{usd:+,.4f}"


def difference(est: Estimate, reference: Estimate, per_million: bool) -> str:
    """The estimate's cost less the reference mode's, per 1M events or per month; – for itself."""
    if est is reference:
        return "–"
    if per_million:
        return signed(est.usd_per_million_events - reference.usd_per_million_events)
    return signed(est.monthly_usd - reference.monthly_usd)


def render_modes_text(model: Model, design: Design, workload: Workload) -> str:
    estimates = mode_estimates(model, design, workload)
    reference = estimates[0]
    rows = [
        (
            est.workload.delivery_mode,
            money(est.monthly_usd),
            f"{est.usd_per_million_events:.4f}",
            difference(est, reference, per_million=True),
            difference(est, reference, per_million=False),
        )
        for est in estimates
    ]
    against = reference.workload.delivery_mode
    header = ("mode", "USD/month", "USD/1M events", f"vs {against}, USD/1M events", f"vs {against}, USD/month")
    out = ["", mode_heading(estimates) + ":"] + aligned(header, rows, 1)
    variants = mode_variants(model, design, workload)
    if variants:
        out += ["", "The same, under what the model could not settle (USD/1M events):"]
        out += [
            f"  {label}: {usd:.4f} ({signed(usd - reference.usd_per_million_events)} against {reference.workload.delivery_mode})"
            for label, usd in variants
        ]
    return "\n".join(out) + "\n"


def line_table(estimates: list[Estimate], titles: list[str]) -> list[str]:
    """A markdown table of USD per 1M events, one row per stage and item, one column per estimate,
    with the totals per 1M events and per month."""
    out = ["| stage | item | " + " | ".join(titles) + " |", "| --- | --- |" + " ---: |" * len(estimates)]
    stages = list(dict.fromkeys(line.stage for est in estimates for line in est.lines))
    keys = list(dict.fromkeys((line.stage, line.item) for est in estimates for line in est.lines))
    keys.sort(key=lambda key: stages.index(key[0]))  # stable: items keep their order within a stage
    for stage, item in keys:
        cells = []
        for est in estimates:
            found = [line for line in est.lines if (line.stage, line.item) == (stage, item)]
            cells.append(
                " ".join(
                    f"{est.per_million_events(line.usd):.4f}" + (f" ({line.detail})" if line.detail else "")
                    for line in found
                )
                or "–"
            )
        out.append(f"| {stage} | {item} | " + " | ".join(cells) + " |")
    out.append("| **total** | | " + " | ".join(f"**{est.usd_per_million_events:.4f}**" for est in estimates) + " |")
    out.append("| total per month | | " + " | ".join(f"{money(est.monthly_usd)}" for est in estimates) + " |")
    return out


def modes_markdown(model: Model, design: Design, workload: Workload) -> list[str]:
    estimates = mode_estimates(model, design, workload)
    reference = estimates[0]
    out = ["", f"#### {mode_heading(estimates)}", "", "USD per 1M events:", ""]
    out += line_table(estimates, [mode_title(est) for est in estimates])
    out.append(
        f"| **against `{reference.workload.delivery_mode}`, per 1M events** | | "
        + " | ".join(f"**{difference(est, reference, per_million=True)}**" for est in estimates)
        + " |"
    )
    out.append(
        f"| against `{reference.workload.delivery_mode}`, per month | | "
        + " | ".join(difference(est, reference, per_million=False) for est in estimates)
        + " |"
    )
    out += ["", "The same, under what the model could not settle:", ""]
    out += [
        f"- {label}: {usd:.4f} USD per 1M events ({signed(usd - reference.usd_per_million_events)} against `{reference.workload.delivery_mode}`)"
        for label, usd in mode_variants(model, design, workload)
    ]
    return out


def ratio_lines(estimates: list[Estimate]) -> list[str]:
    seeds = [est for est in estimates if est.design.key == "seed"]
    if not seeds:
        return []
    seed = seeds[0]
    return [
        f"seed/this per 1M events ({column_title(est)}): {seed.usd_per_million_events / est.usd_per_million_events:.1f}x"
        for est in estimates
        if est.design.key != "seed"
    ]


SENSITIVITY = (
    ("events_per_second", 100),
    ("events_per_second", 10000),
    ("event_bytes", 100),
    ("event_bytes", 1000),
    ("events_per_request", 50),
    ("event_types", 20),
    ("credit_price", 4.0),
)


def without_log_lines(model: Model) -> Model:
    """The model with every log size assumption (`*_log_bytes`, none measured) at 0, on both sides:
    how much the unmeasured log sizes move the ratio."""
    prices = copy.deepcopy(model.prices)
    for key, assumption in prices["assumptions"].items():
        if key.endswith("_log_bytes"):
            assumption["value"] = 0
    return Model(prices, model.pipeline)


def sensitivity(model: Model, estimates: list[Estimate]) -> list[str]:
    """The ratio seed/this when one input of the reference moves: like-for-like and as deployed,
    each without and with packing."""
    reference = estimates[-1].workload
    all_designs = designs(model.pipeline)
    out = ["Ratio seed/this when one input of the reference moves (packing fills the 5 KB increment):", ""]
    out += [
        "| input | value | like-for-like, packing off | like-for-like, packed | as deployed, packing off | as deployed, packed |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    cases = [(f"`{field}`", f"{value:,g}", model, replace(reference, **{field: value})) for field, value in SENSITIVITY]
    cases.append(("log lines (`*_log_bytes`), both sides", "0", without_log_lines(model), reference))
    for name, value, case_model, moved in cases:
        packed = replace(moved, events_per_record=filling_events_per_record(case_model, moved.event_bytes))
        seed = estimate(case_model, all_designs["seed"], moved).usd_per_million_events
        ratios = [
            seed / estimate(case_model, all_designs[key], case).usd_per_million_events
            for key in ("like", "this")
            for case in (replace(moved, events_per_record=1), packed)
        ]
        cells = [f"{ratio:.1f}x" + (f" ({packed.events_per_record}/record)" if index % 2 else "") for index, ratio in enumerate(ratios)]
        out.append(f"| {name} | {value} | " + " | ".join(cells) + " |")
    return out


def render_markdown(
    model: Model, estimates: list[Estimate], capacity_rows: list[tuple[str, str, str, str]]
) -> str:
    """The reference section of docs/cost.md: line items per design, the prices, the assumptions
    and the capacity table, all from the same data the command uses."""
    out = [f"Scenario: {scenario_text(estimates[0].workload, model)}. USD per 1M events:", ""]
    out += line_table(estimates, [column_title(est) for est in estimates])
    out.append("")
    out += [f"- {line}" for line in ratio_lines(estimates)]
    deployed = estimates[-1]
    out += modes_markdown(model, deployed.design, deployed.workload)
    out.append("")

    out += sensitivity(model, estimates)
    out += ["", "#### Prices", "", "| item | price | source | verified |", "| --- | --- | --- | --- |"]
    for price in model.prices["prices"].values():
        if "tiers" in price:
            amount = "; ".join(
                f"{plain(tier['usd'])} USD"
                + (f" up to {tier['up_to']:,}" if tier["up_to"] is not None else " beyond")
                for tier in price["tiers"]
            )
        elif "credits" in price:
            amount = f"{plain(price['credits'])} credits"
        else:
            amount = f"{plain(price['usd'])} USD"
        per = f"{price['per']:,} {price['unit']}" if price["per"] != 1 else price["unit"]
        verified = (
            "yes"
            if price["verified"]
            else "no" + (f" (seen in {price['seen_in']})" if "seen_in" in price else "")
        )
        if "verified_rule" in price:
            verified += f"; the {price['verified_rule']}: yes"
        out.append(f"| {price['what']} | {amount} per {per} | {price['source']} | {verified} |")
    out += ["", "#### Assumptions", "", "| assumption | value | basis |", "| --- | --- | --- |"]
    for key, assumption in model.prices["assumptions"].items():
        upper = f" (up to {assumption['upper']:,})" if "upper" in assumption else ""
        out.append(f"| `{key}` | {assumption['value']:,}{upper} {assumption['unit']} | {assumption['basis']} |")

    this = [est for est in estimates if est.design.key == "this"][-1]
    out += [
        "",
        f"#### Capacity ({column_title(this)})",
        "",
        "| limit (first to bind at the top) | default | binds at | knob that raises it |",
        "| --- | --- | ---: | --- |",
    ]
    out += [f"| {name} | {value} | {binds} | {knob} |" for name, value, binds, knob in capacity_rows]
    return "\n".join(out) + "\n"


def write_docs(tables: str) -> None:
    doc = COST_DOC.read_text()
    head, rest = doc.split(DOC_BEGIN, 1)
    _, tail = rest.split(DOC_END, 1)
    COST_DOC.write_text(f"{head}{DOC_BEGIN}\n{tables}{DOC_END}{tail}")


def parse_args(argv: list[str], pipeline: dict, prices: dict) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/cost", description="Monthly cost per stage and per 1M events (docs/cost.md)."
    )
    parser.add_argument("--events-per-second", type=float, default=1000.0)
    parser.add_argument("--event-bytes", type=int, default=300, help="mean event size, bytes")
    parser.add_argument(
        "--events-per-request",
        type=int,
        default=pipeline["limits"]["max_batch_events"],
        help="capped at limits.max_batch_events",
    )
    parser.add_argument(
        "--events-per-record",
        help="events packed in one Kinesis record (NDJSON), or 'fill' to pack as the validator does"
        " (packing.target_record_bytes, the default); modes that do not pack (delivery_modes.*.packs) write 1",
    )
    parser.add_argument(
        "--event-types",
        type=int,
        default=len(list((ROOT / "schemas").glob("*.json"))),
        help="active Firehose partitions (default: the schemas shipped)",
    )
    parser.add_argument(
        "--credit-price",
        type=float,
        default=prices["prices"]["snowflake_credit"]["usd"],
        help="USD per Snowflake credit",
    )
    parser.add_argument(
        "--delivery-mode",
        choices=list(pipeline["delivery_modes"]["modes"]),
        default=DEFAULT_DELIVERY_MODE,
        help="config/pipeline.json delivery_modes; the per-mode table compares them all",
    )
    parser.add_argument(
        "--streaming-architecture",
        choices=STREAMING_ARCHITECTURES,
        default=STREAMING_ARCHITECTURES[0],
        help="how Snowpipe Streaming bills the Snowflake destination (not documented; docs/cost.md)",
    )
    # both: the seed and this design, like-for-like and as deployed (the ratios need the seed).
    parser.add_argument("--design", choices=("this", "like", "seed", "both"), default="both")
    parser.add_argument(
        "--markdown",
        action="store_true",
        help="the reference tables of docs/cost.md: seed; like-for-like and as deployed, each unpacked and packed",
    )
    parser.add_argument(
        "--write-docs",
        action="store_true",
        help="write the --markdown tables into docs/cost.md, between its markers",
    )
    args = parser.parse_args(argv)
    if (
        args.events_per_second <= 0
        or args.event_bytes <= 0
        or args.events_per_request < 1
        or args.event_types < 1
        or args.credit_price < 0
    ):
        parser.error(
            "--events-per-second, --event-bytes, --events-per-request and --event-types must be positive, --credit-price not negative"
        )
    if args.events_per_record is None:
        args.events_per_record = "fill"
    if args.events_per_record != "fill" and not (
        args.events_per_record.isdigit() and int(args.events_per_record) >= 1
    ):
        parser.error("--events-per-record must be a whole number >= 1 or 'fill'")
    if args.events_per_record not in ("fill", "1") and not pipeline["delivery_modes"]["modes"][args.delivery_mode]["packs"]:
        parser.error(f"--events-per-record: delivery mode {args.delivery_mode} does not pack (delivery_modes.{args.delivery_mode}.packs is false)")
    return args


def main(argv: list[str] | None = None) -> int:
    pipeline, prices = load_json("pipeline.json"), load_json("prices.json")
    args = parse_args(sys.argv[1:] if argv is None else argv, pipeline, prices)
    model = Model(prices, pipeline)
    filling = filling_events_per_record(model, args.event_bytes)
    per_record = filling if args.events_per_record == "fill" else int(args.events_per_record)
    workload = Workload(
        args.events_per_second,
        args.event_bytes,
        args.events_per_request,
        per_record,
        args.credit_price,
        args.event_types,
        args.delivery_mode,
        args.streaming_architecture,
    )
    all_designs = designs(pipeline)
    if args.markdown or args.write_docs:
        packed = replace(workload, events_per_record=per_record if per_record > 1 else filling)
        estimates = [estimate(model, all_designs["seed"], workload)] + [
            estimate(model, all_designs[key], case)
            for key in ("like", "this")
            for case in (replace(workload, events_per_record=1), packed)
        ]
        tables = render_markdown(model, estimates, capacity(model, all_designs["this"], packed))
        if args.write_docs:
            write_docs(tables)
        else:
            sys.stdout.write(tables)
        return 0
    chosen = ("seed", "like", "this") if args.design == "both" else (args.design,)
    sys.stdout.write(render_text(model, [estimate(model, all_designs[key], workload) for key in chosen]))
    # The seed has one delivery, the default mode's.
    for key in chosen:
        if all_designs[key].switches_delivery:
            sys.stdout.write(render_modes_text(model, all_designs[key], workload))
    return 0


if __name__ == "__main__":
    sys.exit(main())
