"""The cost model per delivery mode (scripts/cost_model.py, docs/cost.md "Delivery modes"): each
mode's lines follow its settings in config/pipeline.json `delivery_modes` (edit a setting and the
lines change), the S3 objects, requests and Snowflake charges by hand, and that the figures
docs/cost.md and docs/latency.md quote for the modes are the command's own."""

import re

import pytest
from test_cost_model import GB, PIPELINE, PRICES, ROOT, cost_model, designs, line, model, one_hour_month, run_cost, workload

MODES = PIPELINE["delivery_modes"]["modes"]
# The modes by what they are, not by name: the Snowflake destination, and zero buffering to S3.
STREAMING = next(name for name, mode in MODES.items() if mode["destination"] == "snowflake")
FRESH = next(
    name for name, mode in MODES.items() if mode["destination"] == "extended_s3" and mode["buffer_interval_seconds"] == 0
)
DEFAULT = cost_model.DEFAULT_DELIVERY_MODE
DYNAMIC_PARTITIONING = {"dynamic partitioning, data", "dynamic partitioning, objects"}


def items(est) -> set[str]:
    return {entry.item for entry in est.lines}


def in_mode(m, mode, **changes):
    return cost_model.estimate(m, designs(m.pipeline)["this"], workload(delivery_mode=mode, events_per_record=16, **changes))


def edit_mode(mode, **settings):
    def pipeline_edit(pipeline):
        pipeline["delivery_modes"]["modes"][mode].update(settings)

    return pipeline_edit


def set_assumptions(**values):
    def prices_edit(prices):
        one_hour_month(prices)
        for key, value in values.items():
            prices["assumptions"][key]["value"] = value

    return prices_edit


# --- each mode's lines follow its settings --------------------------------------------------


def test_a_null_setting_is_the_firehose_blocks():
    m = model()
    for name, mode in MODES.items():
        settings = m.delivery(name)
        for key, value in mode.items():
            expected = PIPELINE["firehose"][key] if value is None and key in PIPELINE["firehose"] else value
            assert settings[key] == expected, (name, key)
        assert settings["buffer_size_mib"] == PIPELINE["firehose"]["buffer_size_mib"]


def test_dynamic_partitioning_lines_only_where_it_is_on():
    m = model()
    for name, mode in MODES.items():
        assert (DYNAMIC_PARTITIONING <= items(in_mode(m, name))) == mode["dynamic_partitioning"], name
    # Turning it off for the default mode removes exactly its two lines.
    off = model(pipeline_edit=edit_mode(DEFAULT, dynamic_partitioning=False))
    assert items(in_mode(m, DEFAULT)) - items(in_mode(off, DEFAULT)) == DYNAMIC_PARTITIONING
    assert in_mode(off, DEFAULT).monthly_usd < in_mode(m, DEFAULT).monthly_usd


def test_the_snowflake_destination_has_no_pipe_and_its_own_lines():
    m = model()
    streaming, default = in_mode(m, STREAMING), in_mode(m, DEFAULT)
    assert {"Snowpipe", "GETs by Snowpipe", "event notifications (SQS)", "freshness check (serverless)"} <= items(default)
    assert not {"Snowpipe", "GETs by Snowpipe", "event notifications (SQS)", "freshness check (serverless)"} & items(streaming)
    assert {"Snowpipe Streaming", "Snowflake destination, data"} <= items(streaming)
    assert not {"Snowpipe Streaming", "Snowflake destination, data"} & items(default)
    # The dedup history is kept in every mode.
    for est in (streaming, default):
        assert {"merge task (serverless)", "daily duplicate check (serverless)"} <= items(est)


def test_a_mode_that_does_not_pack_bills_every_event_as_a_5_kb_record():
    m = model(one_hour_month)
    unpacked = model(one_hour_month, edit_mode(DEFAULT, packs=False))
    packed_flow, unpacked_flow = in_mode(m, DEFAULT).flow, in_mode(unpacked, DEFAULT).flow
    assert packed_flow.events_per_record == 16 and packed_flow.packs
    assert unpacked_flow.events_per_record == 1 and not unpacked_flow.packs
    est = in_mode(unpacked, DEFAULT)
    events = 1000 * 3600
    ingestion = line(est.lines, "ingestion (records rounded up to 5 KB)")
    assert ingestion.quantity == pytest.approx(events * 5120 / GB)
    assert line(est.lines, "data in (records rounded up to 1 KB)").quantity == pytest.approx(events * 1024 / GB)
    assert ingestion.usd > 10 * line(in_mode(m, DEFAULT).lines, "ingestion (records rounded up to 5 KB)").usd
    # The configured streaming mode does not pack whatever the workload asks.
    assert not MODES[STREAMING]["packs"] and in_mode(m, STREAMING).flow.events_per_record == 1


def test_zero_buffering_writes_an_object_per_processed_batch_with_multipart_requests():
    # A 3,600 s month at 1,000 events/s, 16 per record: the 1 s processor interval comes before
    # its 0.4 MiB fill (64 records/s x 4,815 bytes), so 3,600 batches, 3,600 objects.
    m = model(set_assumptions(zero_buffering_objects_per_processor_batch=1, multipart_requests_per_object=3))
    est = in_mode(m, FRESH)
    invocations = line(est.lines, "requests", "transformer Lambda").quantity
    interval = MODES[FRESH]["processor_buffer_interval_seconds"] or PIPELINE["firehose"]["processor_buffer_interval_seconds"]
    assert invocations == pytest.approx(3600 / interval)
    puts = line(est.lines, "PUTs by Firehose")
    assert puts.quantity == pytest.approx(3 * invocations) and "multipart" in puts.detail
    assert line(est.lines, "GETs by Snowpipe").quantity == pytest.approx(invocations)
    per_shard = in_mode(model(set_assumptions(zero_buffering_objects_per_processor_batch=4)), FRESH)
    assert line(per_shard.lines, "GETs by Snowpipe").quantity == pytest.approx(4 * invocations)
    # The processor interval is the mode's: at 100 events/s the interval, not the fill, ends each
    # batch, so doubling it halves the batches and the objects.
    light = in_mode(m, FRESH, events_per_second=100)
    slower = in_mode(model(set_assumptions(), edit_mode(FRESH, processor_buffer_interval_seconds=2)), FRESH, events_per_second=100)
    assert line(light.lines, "GETs by Snowpipe").quantity == pytest.approx(3600)
    assert line(slower.lines, "GETs by Snowpipe").quantity == pytest.approx(1800)


def test_a_buffering_interval_of_60_s_or_more_is_one_put_per_object():
    m = model(one_hour_month)
    est = in_mode(m, DEFAULT)
    # Two partitions, one flush each per 60 s.
    assert line(est.lines, "PUTs by Firehose").quantity == pytest.approx(2 * 3600 / 60)
    assert line(est.lines, "GETs by Snowpipe").quantity == pytest.approx(2 * 3600 / 60)


def test_the_snowflake_destination_by_hand():
    # A 3,600 s month at 1,000 events/s of 300 bytes: 3.6 million rows of 300 + 322 + 160 bytes.
    m = model(set_assumptions(streaming_row_extra_bytes=160, streaming_row_key_bytes=121))
    est = in_mode(m, STREAMING, credit_price=2.0)
    events, row = 3_600_000, 300 + 322 + 160
    assert est.flow.delivered_bytes == row and est.flow.records == events
    destination = line(est.lines, "Snowflake destination, data")
    assert destination.quantity == pytest.approx(events * row / GB)
    assert destination.usd == pytest.approx(events * row / GB * PRICES["prices"]["firehose_snowflake_delivery"]["usd"])
    # High-performance Snowpipe Streaming: the values only, in decimal GB.
    streaming = line(est.lines, "Snowpipe Streaming")
    rate = PRICES["prices"]["snowpipe_streaming_credits_per_gb"]["credits"]
    assert streaming.quantity == pytest.approx(events * (row - 121) / 1e9)
    assert streaming.usd == pytest.approx(events * (row - 121) / 1e9 * rate * 2.0)
    # Classic: client-hours, one client all (one-hour) month.
    classic = line(in_mode(m, STREAMING, credit_price=2.0, streaming_architecture="classic").lines, "Snowpipe Streaming")
    client_rate = PRICES["prices"]["snowpipe_streaming_classic_client_hours"]["credits"]
    assert classic.quantity == 1 and classic.usd == pytest.approx(client_rate * 2.0)
    # The backup holds the rows, flushed on its buffering (config delivery_modes): when it fills or
    # its interval passes, whichever comes first.
    backup = MODES[STREAMING]
    storage = line(est.lines, "storage of the month's events, one month").quantity
    assert storage == pytest.approx(events * row / GB)
    by_size = events * row / (backup["backup_buffer_size_mib"] * 1024 * 1024)
    by_time = 3600 / backup["backup_buffer_interval_seconds"]
    assert line(est.lines, "PUTs by Firehose").quantity == pytest.approx(max(by_size, by_time))


def test_the_backup_flushes_on_its_interval_when_traffic_is_light():
    m = model(set_assumptions(), edit_mode(STREAMING, backup_buffer_interval_seconds=120))
    est = in_mode(m, STREAMING, events_per_second=1)
    assert line(est.lines, "PUTs by Firehose").quantity == pytest.approx(3600 / 120)


def test_the_snowflake_charge_rounded_per_record_when_the_price_says_so():
    def per_record(prices):
        one_hour_month(prices)
        prices["prices"]["firehose_snowflake_delivery"]["record_increment_bytes"] = 5120

    est = in_mode(model(per_record), STREAMING)
    assert line(est.lines, "Snowflake destination, data").quantity == pytest.approx(3_600_000 * 5120 / GB)


def test_the_row_key_bytes_are_the_rows_columns():
    """`streaming_row_key_bytes` is the row's top-level structure: braces and newline, and
    `"KEY":` for each column of ROW_COLUMNS with a comma between them."""
    source = (ROOT / "lambdas" / "core" / "src" / "firehose.rs").read_text()
    block = re.search(r"pub const ROW_COLUMNS: \[&str; \d+\] = \[(.*?)\];", source, re.DOTALL).group(1)
    columns = re.findall(r'"([A-Z_]+)"', block)
    structure = 3 + sum(len(column) + 3 for column in columns) + len(columns) - 1
    assert PRICES["assumptions"]["streaming_row_key_bytes"]["value"] == structure


def test_the_default_mode_is_terraforms_and_the_seed_delivers_in_it():
    variables = (ROOT / "terraform" / "variables.tf").read_text()
    block = re.search(r'variable "delivery_mode" \{(.*?)\n\}', variables, re.DOTALL).group(1)
    assert re.search(r'default\s*=\s*"([^"]+)"', block).group(1) == DEFAULT
    m = model()
    seed = designs()["seed"]
    assert cost_model.estimate(m, seed, workload(delivery_mode=STREAMING)).lines == cost_model.estimate(m, seed, workload()).lines


def test_the_mode_table_compares_every_mode_with_the_default():
    m = model()
    estimates = cost_model.mode_estimates(m, designs()["this"], workload(events_per_record=16))
    assert [est.workload.delivery_mode for est in estimates] == [DEFAULT] + [mode for mode in MODES if mode != DEFAULT]
    markdown = "\n".join(cost_model.modes_markdown(m, designs()["this"], workload(events_per_record=16)))
    reference = estimates[0]
    for est in estimates[1:]:
        assert cost_model.signed(est.usd_per_million_events - reference.usd_per_million_events) in markdown


# --- the command ----------------------------------------------------------------------------


def test_the_command_prints_every_mode_and_the_difference():
    result = run_cost("--design", "this")
    assert result.returncode == 0, result.stderr
    table = result.stdout.split("Cost per 1M events by delivery mode", 1)[1]
    m = model()
    for est in cost_model.mode_estimates(m, designs()["this"], workload(events_per_record=16)):
        row = re.search(rf"^  {est.workload.delivery_mode} +(\S+) +(\S+) +(\S+) +(\S+)$", table, re.MULTILINE)
        assert row, est.workload.delivery_mode
        assert row.group(2) == f"{est.usd_per_million_events:.4f}"
    assert "classic architecture" in table
    classic = run_cost("--design", "this", "--delivery-mode", STREAMING, "--streaming-architecture", "classic")
    assert "Snowflake / Snowpipe Streaming (classic:" in classic.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["--delivery-mode", STREAMING, "--events-per-record", "16"],
        ["--streaming-architecture", "fast"],
    ],
)
def test_what_a_mode_cannot_do_is_refused(args):
    result = run_cost(*args)
    assert result.returncode == 2
    assert "scripts/cost: error:" in result.stderr


# --- the documents quote the command --------------------------------------------------------

FIGURE = re.compile(r"\d+\.\d{4}")


def doc_section(path, heading_pattern):
    text = (ROOT / path).read_text()
    match = re.search(rf"^({heading_pattern})\n(.*?)(?=^#{{2,3}} |\Z)", text, re.MULTILINE | re.DOTALL)
    assert match, f"{path}: no section {heading_pattern}"
    return match.group(2)


@pytest.mark.parametrize(
    "path, heading",
    [
        ("docs/cost.md", r"## Delivery modes"),
        ("docs/latency.md", r"### What it costs: objects, requests, Snowpipe files \(1,000 events/s\)"),
    ],
)
def test_the_mode_figures_the_documents_quote_are_the_commands(path, heading):
    generated = run_cost("--markdown").stdout + run_cost("--design", "this", "--events-per-second", "100").stdout
    figures = FIGURE.findall(doc_section(path, heading))
    assert len(figures) >= 8
    missing = [figure for figure in figures if figure not in generated]
    assert not missing, f"{path} quotes figures scripts/cost no longer prints: {missing}"
