"""The cost model (scripts/cost_model.py, docs/cost.md): its arithmetic on inputs small enough to
check by hand, the billing increments, that it reads its limits from config/pipeline.json, the
goal of issue 9 (≥ 30x cheaper than the seed per 1M events like for like, and only with packing), and that the
reference tables of docs/cost.md are the command's own output."""

import copy
import json
import math
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import cost_model  # noqa: E402

PIPELINE = json.loads((ROOT / "config" / "pipeline.json").read_text())
PRICES = json.loads((ROOT / "config" / "prices.json").read_text())
GB = PRICES["gigabyte_bytes"]


def model(prices_edit=None, pipeline_edit=None) -> cost_model.Model:
    prices, pipeline = copy.deepcopy(PRICES), copy.deepcopy(PIPELINE)
    if prices_edit:
        prices_edit(prices)
    if pipeline_edit:
        pipeline_edit(pipeline)
    return cost_model.Model(prices, pipeline)


def one_hour_month(prices):
    # A "month" of 3,600 s: one event per second is 3,600 events.
    prices["hours_per_month"]["value"] = 1


def workload(**changes) -> cost_model.Workload:
    reference = cost_model.Workload(
        events_per_second=1000,
        event_bytes=300,
        events_per_request=500,
        events_per_record=1,
        credit_price=3.0,
        event_types=2,
    )
    return replace(reference, **changes)


def designs(pipeline=PIPELINE):
    return cost_model.designs(pipeline)


def line(lines, item, stage=None):
    (found,) = [entry for entry in lines if entry.item == item and stage in (None, entry.stage)]
    return found


# --- arithmetic, one stage at a time --------------------------------------------------------


def test_tiers_charge_each_slice_at_its_own_rate():
    m = model()
    price = PRICES["prices"]["api_gateway_rest_requests"]
    first, second = price["tiers"][0], price["tiers"][1]
    quantity = first["up_to"] + 1_000_000
    expected = first["up_to"] / 1e6 * first["usd"] + 1 * second["usd"]
    assert m.cost("api_gateway_rest_requests", quantity) == pytest.approx(expected)
    assert m.cost("api_gateway_rest_requests", 2_000_000) == pytest.approx(2 * first["usd"])


def test_api_stage_by_hand():
    m = model(one_hour_month)
    this = replace(designs()["this"], traced=False, waf=False)
    flow = cost_model.traffic(m, this, workload(events_per_second=1, events_per_request=10))
    assert flow.events == 3600 and flow.requests == 360
    lines = cost_model.api_stage(m, this, workload(), flow)
    assert [entry.item for entry in lines] == ["REST API requests", "replies, data out", "access logs"]
    assert line(lines, "REST API requests").usd == pytest.approx(360 / 1e6 * 3.5)
    reply = 400 + 10 * 84  # response_overhead_bytes + 10 results of response_result_bytes
    assert line(lines, "replies, data out").quantity == pytest.approx(360 * reply / GB)
    assert line(lines, "access logs").usd == pytest.approx(360 * 400 / GB * 0.5)


def test_x_ray_samples_one_request_a_second_and_five_percent_of_the_rest():
    m = model(one_hour_month)
    this = replace(designs()["this"], waf=False)
    flow = cost_model.traffic(m, this, workload(events_per_second=21, events_per_request=1))
    traces = line(cost_model.api_stage(m, this, workload(), flow), "X-Ray traces").quantity
    assert traces == pytest.approx((1 + 0.05 * 20) * 3600)


def test_validator_stage_by_hand():
    m = model(one_hour_month)
    this = designs()["this"]
    flow = cost_model.traffic(m, this, workload(events_per_second=1, events_per_request=10))
    lines = cost_model.validator_stage(m, this, workload(), flow)
    # 10 events at 410,744 events/s on a full core, 256/1769 of a core, one 10 ms PutRecords call.
    billed_ms = math.ceil(10 / 410744 * 1000 / (256 / 1769) + 10)
    assert billed_ms == 11
    assert line(lines, "duration").quantity == pytest.approx(360 * 0.011 * 0.25)
    assert line(lines, "duration").usd == pytest.approx(360 * 0.011 * 0.25 * 0.0000133334)
    assert line(lines, "requests").usd == pytest.approx(360 * 0.2 / 1e6)


def test_snowpipe_is_credits_per_gigabyte_times_the_credit_price():
    m = model(one_hour_month)
    this = designs()["this"]
    flow = cost_model.traffic(m, this, workload(events_per_second=1))
    (snowpipe,) = cost_model.snowpipe_stage(m, this, workload(credit_price=2.0), flow)
    loaded = 3600 * (300 + 322) / GB  # event + _ingest metadata, uncompressed
    assert snowpipe.quantity == pytest.approx(loaded)
    assert snowpipe.usd == pytest.approx(loaded * 0.0037 * 2.0)
    (doubled,) = cost_model.snowpipe_stage(m, this, workload(credit_price=4.0), flow)
    assert doubled.usd == pytest.approx(2 * snowpipe.usd)


# --- billing increments ---------------------------------------------------------------------


def test_billed_bytes_round_up_to_whole_increments():
    assert cost_model.billed_bytes(300, 1024) == 1024
    assert cost_model.billed_bytes(1024, 1024) == 1024
    assert cost_model.billed_bytes(1025, 1024) == 2048
    assert cost_model.billed_bytes(4815, 5120) == 5120
    assert cost_model.billed_bytes(25601, 25600) == 51200


def test_firehose_bills_a_300_byte_record_as_5_kb_and_kinesis_as_1_kb():
    m = model(one_hour_month)
    this = designs()["this"]
    flow = cost_model.traffic(m, this, workload(events_per_second=1))
    firehose = line(
        cost_model.delivery_stage(m, this, workload(), flow), "ingestion (records rounded up to 5 KB)"
    )
    assert firehose.quantity == pytest.approx(3600 * 5120 / GB)
    kinesis = cost_model.stream_stage(m, this, workload(), flow)
    assert line(kinesis, "data in (records rounded up to 1 KB)").quantity == pytest.approx(3600 * 1024 / GB)
    # What Firehose reads is not rounded: the 300-byte event and its 36-byte partition key.
    assert line(kinesis, "data out to Firehose").quantity == pytest.approx(3600 * 336 / GB)


def test_packing_fills_the_5_kb_increment_and_no_more():
    m = model()
    assert cost_model.filling_events_per_record(m, 300) == 16  # 16 x 300 + 15 newlines + 36-byte key = 4,851
    flow = cost_model.traffic(m, designs()["this"], workload(events_per_record=16))
    assert flow.record_bytes == 4851 and flow.records == flow.requests * math.ceil(500 / 16)
    assert cost_model.billed_bytes(flow.record_bytes, 1024) == 5120
    assert cost_model.filling_events_per_record(m, 6000) == 1


def test_provisioned_kinesis_counts_25_kb_payload_units_and_sizes_shards_with_headroom():
    m = model(one_hour_month)
    seed = designs()["seed"]
    flow = cost_model.traffic(m, seed, workload(events_per_second=1, event_bytes=25600 - 36 + 1))
    lines = cost_model.stream_stage(m, seed, workload(), flow)
    assert line(lines, "PUT payload units (25 KB each)").quantity == 3600 * 2
    # 1,000 records/s fills one shard's record limit: with 20 % headroom that is two shards.
    flow = cost_model.traffic(m, seed, workload(events_per_second=1000))
    assert cost_model.provisioned_shards(m, flow) == 2
    assert line(cost_model.stream_stage(m, seed, workload(), flow), "provisioned shards").quantity == 2 * 1


def test_the_seed_neither_batches_nor_packs():
    flow = cost_model.traffic(model(), designs()["seed"], workload(events_per_record=16))
    assert flow.events_per_request == 1 and flow.events_per_record == 1 and flow.records == flow.events


# --- limits come from config/pipeline.json --------------------------------------------------


def test_events_per_request_are_capped_by_max_batch_events():
    def smaller_batches(pipeline):
        pipeline["limits"]["max_batch_events"] = 100

    this = designs()["this"]
    assert (
        cost_model.traffic(model(), this, workload(events_per_request=5000)).events_per_request
        == PIPELINE["limits"]["max_batch_events"]
    )
    capped = cost_model.traffic(model(pipeline_edit=smaller_batches), this, workload(events_per_request=500))
    assert capped.events_per_request == 100
    reference = cost_model.estimate(model(), this, workload())
    smaller = cost_model.estimate(model(pipeline_edit=smaller_batches), this, workload())
    assert smaller.usd_per_million_events > reference.usd_per_million_events


def test_packing_stops_at_the_record_limit():
    def small_records(pipeline):
        pipeline["limits"]["max_event_bytes"] = 1036  # room for 3 events of 300 bytes and a key

    flow = cost_model.traffic(
        model(pipeline_edit=small_records), designs()["this"], workload(events_per_record=16)
    )
    assert flow.events_per_record == 3
    assert flow.record_bytes <= 1036


def test_lambda_memory_and_firehose_buffers_are_read_from_config():
    def more_memory(pipeline):
        pipeline["lambda"]["validator"]["memory_mb"] *= 2

    def longer_buffer(pipeline):
        # Dynamic partitioning allows 60-900 s: doubling keeps it valid (and one PUT per object).
        pipeline["firehose"]["buffer_interval_seconds"] *= 2

    reference = cost_model.estimate(model(), designs()["this"], workload(events_per_second=1))
    doubled = cost_model.estimate(
        model(pipeline_edit=more_memory),
        designs(model(pipeline_edit=more_memory).pipeline)["this"],
        workload(events_per_second=1),
    )
    duration = line(doubled.lines, "duration", "validator Lambda")
    assert duration.detail != line(reference.lines, "duration", "validator Lambda").detail
    assert f"{PIPELINE['lambda']['validator']['memory_mb'] * 2} MB" in duration.detail
    flushed = cost_model.estimate(
        model(pipeline_edit=longer_buffer), designs()["this"], workload(events_per_second=1)
    )
    assert line(flushed.lines, "PUTs by Firehose").quantity == pytest.approx(
        line(reference.lines, "PUTs by Firehose").quantity / 2
    )


# --- the goal -------------------------------------------------------------------------------


def test_like_for_like_is_this_design_with_only_the_seeds_features():
    all_designs = designs()
    seed, like, this = all_designs["seed"], all_designs["like"], all_designs["this"]
    features = ("traced", "waf", "maintains_dedup", "checks_freshness")
    assert not any(getattr(seed, feature) for feature in features)
    assert all(getattr(this, feature) for feature in features)
    assert like == replace(this, key="like", title=like.title, **{feature: False for feature in features})
    m = model()
    items = lambda design: {(entry.stage, entry.item) for entry in cost_model.estimate(m, design, workload()).lines}  # noqa: E731
    extra = items(this) - items(like)
    assert {item for _, item in extra} == {
        "X-Ray traces", "WAF web ACL", "WAF rules", "WAF requests",
        "merge task (serverless)", "daily duplicate check (serverless)", "freshness check (serverless)",
    }
    # Against the seed, only the stream's billing differs (on-demand here, provisioned there).
    assert items(like) <= items(this) and {stage for stage, _ in items(like) ^ items(seed)} == {"Kinesis"}


def test_the_reference_meets_the_30x_goal_like_for_like_only_with_packing():
    """The goal (issue 9): like for like, packing on, at least 30x. As deployed (WAF, X-Ray, the
    Snowflake checks and dedup maintenance, which the seed lacks) is printed and documented in
    docs/cost.md, not asserted."""
    m = model()
    all_designs = designs()
    filling = cost_model.filling_events_per_record(m, 300)
    seed = cost_model.estimate(m, all_designs["seed"], workload())
    ratios = {}
    for key in ("like", "this"):
        batched = cost_model.estimate(m, all_designs[key], workload())
        packed = cost_model.estimate(m, all_designs[key], workload(events_per_record=filling))
        assert seed.usd_per_million_events > batched.usd_per_million_events > packed.usd_per_million_events
        ratios[key] = [seed.usd_per_million_events / est.usd_per_million_events for est in (batched, packed)]
        print(f"seed/this per 1M events, {key}: packing off {ratios[key][0]:.1f}x, packing {filling} events/record {ratios[key][1]:.1f}x")
    batched_ratio, packed_ratio = ratios["like"]
    assert batched_ratio < 30 <= packed_ratio
    batched = cost_model.estimate(m, all_designs["this"], workload())
    packed = cost_model.estimate(m, all_designs["this"], workload(events_per_record=filling))
    # What packing saves is the per-record rounding of Kinesis and Firehose, nothing else.
    saved = {
        entry.item
        for entry in batched.lines
        if entry.usd > line(packed.lines, entry.item, entry.stage).usd + 1e-9
    }
    assert saved == {
        "data in (records rounded up to 1 KB)",
        "data out to Firehose",
        "ingestion (records rounded up to 5 KB)",
    }


def test_every_destination_has_a_loader_and_every_stage_is_priced():
    modes = PIPELINE["delivery_modes"]["modes"]
    assert {mode["destination"] for mode in modes.values()} == set(cost_model.LOADERS)
    assert [stage.__name__ for stage in cost_model.LOADERS["extended_s3"]] == ["snowpipe_stage"]
    assert [stage.__name__ for stage in cost_model.LOADERS["snowflake"]] == ["snowpipe_streaming_stage"]
    est = cost_model.estimate(model(), designs()["this"], workload())
    assert {entry.stage for entry in est.lines} >= {
        "API Gateway",
        "validator Lambda",
        "Kinesis",
        "Firehose",
        "S3",
        "Snowflake",
    }


# --- the price table and its sources --------------------------------------------------------


def test_every_price_and_quota_says_where_and_when_it_was_read():
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", PRICES["as_of"]) and PRICES["region"] == "us-east-1"
    for key, entry in {**PRICES["prices"], **PRICES["quotas"]}.items():
        assert entry["source"].startswith("https://"), key
        assert entry["read_on"] == PRICES["as_of"], key
        assert isinstance(entry["verified"], bool), key
    for key, price in PRICES["prices"].items():
        bounds = [tier["up_to"] for tier in price.get("tiers", [])]
        assert bounds == sorted(bounds[:-1]) + bounds[-1:] and (not bounds or bounds[-1] is None), key


def test_benchmark_figures_are_the_ones_docs_benchmarks_states():
    benchmarks = (ROOT / "docs" / "benchmarks.md").read_text()
    cited = {
        key: entry for key, entry in PRICES["assumptions"].items() if "docs/benchmarks.md" in entry["basis"]
    }
    assert len(cited) == 5
    for key, entry in cited.items():
        assert f"{entry['value']:,}" in benchmarks, key


def test_the_designs_match_the_terraform_defaults():
    variables = (ROOT / "terraform" / "variables.tf").read_text()

    def default(name):
        block = re.search(rf'variable "{name}" \{{(.*?)\n\}}', variables, re.DOTALL).group(1)
        return re.search(r'default\s*=\s*"([^"]+)"', block).group(1)

    this = designs()["this"]
    assert cost_model.DEPLOYED_ARCHITECTURE == default("lambda_architecture")
    assert this.validator_architecture == default("lambda_architecture")
    assert this.stream_mode == default("stream_mode")
    prod = (ROOT / "terraform" / "env" / "prod.tfvars").read_text()
    assert this.waf == bool(re.search(r"^waf_enabled\s*=\s*true", prod, re.MULTILINE))


# --- the command and the document -----------------------------------------------------------


def run_cost(*args):
    return subprocess.run(
        [str(ROOT / "scripts" / "cost"), *args], capture_output=True, text=True, check=False
    )


def test_docs_reference_tables_are_the_commands_output():
    doc = (ROOT / "docs" / "cost.md").read_text()
    documented = doc.split(cost_model.DOC_BEGIN, 1)[1].split(cost_model.DOC_END, 1)[0].strip("\n")
    result = run_cost("--markdown")
    assert result.returncode == 0, result.stderr
    assert documented == result.stdout.strip("\n"), "regenerate the tables: scripts/cost --write-docs"


def test_the_command_prints_stages_totals_and_the_ratio():
    result = run_cost("--events-per-second", "1000", "--event-bytes", "300", "--events-per-record", "fill")
    assert result.returncode == 0, result.stderr
    assert "seed: 1/request, 1/record\n" in result.stdout
    assert "this design, like-for-like: 500/request, 16/record (packed)" in result.stdout
    assert "this design, as deployed: 500/request, 16/record (packed)" in result.stdout
    assert len(re.findall(r"^seed/this per 1M events .*: \d+\.\dx$", result.stdout, re.MULTILINE)) == 2
    unpacked = run_cost("--design", "this", "--events-per-record", "1")
    assert "this design, as deployed: 500/request, 1/record (packing off)" in unpacked.stdout
    only_seed = run_cost("--design", "seed")
    assert "this design" not in only_seed.stdout and "seed/this" not in only_seed.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["--events-per-record", "0"],
        ["--events-per-second", "-1"],
        ["--design", "other"],
        ["--delivery-mode", "streaming"],
    ],
)
def test_bad_arguments_are_refused_with_a_message(args):
    result = run_cost(*args)
    assert result.returncode == 2
    assert "scripts/cost: error:" in result.stderr
