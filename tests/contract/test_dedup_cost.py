"""The cost model's Snowflake tasks (scripts/cost_model.py `dedup_stage` and
`freshness_check_stage`, docs/cost.md "Snowflake dedup"): the merge task, the daily duplicate
check and the freshness check, by hand; the dedup settings read from config/pipeline.json (as
Terraform and the local stack read them), the check interval the Terraform module's default."""

import re

import pytest
from test_cost_model import PIPELINE, PRICES, ROOT, cost_model, designs, line, model, one_hour_month, workload


def edits(dedup=None, **assumptions):
    """A one-hour month with these assumptions (prices.json) and dedup settings (pipeline.json)."""
    def prices_edit(prices):
        one_hour_month(prices)
        for key, value in assumptions.items():
            prices["assumptions"][key]["value"] = value

    def pipeline_edit(pipeline):
        pipeline["dedup"].update(dedup or {})

    return {"prices_edit": prices_edit, "pipeline_edit": pipeline_edit}


def test_merge_and_check_by_hand():
    # A 3,600 s month at 10 events/s; merges every 10 minutes (6 runs) over a 1-hour window; a
    # 1-day check; 1,000,000 bytes/s of scan.
    m = model(**edits(
        dedup={"merge_interval_minutes": 10, "window_hours": 1, "check_days": 1},
        dedup_key_bytes=20, dedup_check_row_bytes=1, dedup_merge_overhead_seconds=2,
        snowflake_check_run_seconds=1, snowflake_xsmall_scan_bytes_per_second=1_000_000))
    this = designs()["this"]
    flow = cost_model.traffic(m, this, workload(events_per_second=10))
    lines = cost_model.dedup_stage(m, this, workload(credit_price=2.0), flow)
    merge = line(lines, "merge task (serverless)")
    window_scan = 10 * 3600 * 20 / 1e6  # 36,000 rows x 20 bytes
    new_rows_scan = 10 * 600 * (300 + 322) / 1e6  # ten minutes of rows, as loaded
    run = 2 + window_scan + new_rows_scan
    assert merge.quantity == pytest.approx(6 * run / 3600)
    assert merge.usd == pytest.approx(6 * run / 3600 * 0.9 * 2.0)
    check = line(lines, "daily duplicate check (serverless)")
    # 864,000 rows x 1 byte = 0.864 s of scan plus the 1 s run: serverless, no 60 s minimum.
    days = 3600 / 86400
    assert check.quantity == pytest.approx(days * 1.864 / 3600)
    assert check.usd == pytest.approx(days * 1.864 / 3600 * 0.9 * 2.0)


def test_the_check_is_billed_for_its_scan():
    m = model(**edits(dedup={"check_days": 10}, dedup_check_row_bytes=100, snowflake_check_run_seconds=1,
                      snowflake_xsmall_scan_bytes_per_second=1_000_000))
    this = designs()["this"]
    flow = cost_model.traffic(m, this, workload(events_per_second=1))
    check = line(cost_model.dedup_stage(m, this, workload(), flow), "daily duplicate check (serverless)")
    scan = 10 * 86400 * 100 / 1e6  # 86.4 s
    assert check.quantity == pytest.approx(3600 / 86400 * (scan + 1) / 3600)


def test_the_merge_grows_with_the_window_it_reads():
    this = designs()["this"]
    costs = []
    for hours in (12, 24, 48):
        m = model(**edits(dedup={"window_hours": hours}))
        flow = cost_model.traffic(m, this, workload())
        costs.append(line(cost_model.dedup_stage(m, this, workload(), flow), "merge task (serverless)").usd)
    assert costs[0] < costs[1] < costs[2]
    assert costs[2] - costs[1] == pytest.approx(2 * (costs[1] - costs[0]))


def test_the_freshness_check_by_hand_whatever_the_traffic():
    # Every 10 minutes of a 3,600 s month: 6 runs of 2 s at 0.9 credits per hour, 2 USD a credit.
    m = model(**edits(freshness_check_interval_minutes=10, snowflake_check_run_seconds=2))
    this = designs()["this"]
    for rate in (1, 1000):
        flow = cost_model.traffic(m, this, workload(events_per_second=rate))
        (check,) = cost_model.freshness_check_stage(m, this, workload(credit_price=2.0), flow)
        assert check.item == "freshness check (serverless)"
        assert check.quantity == pytest.approx(6 * 2 / 3600)
        assert check.usd == pytest.approx(6 * 2 / 3600 * 0.9 * 2.0)


def test_only_this_design_keeps_a_dedup_history_and_checks_the_pipe():
    m = model()
    seed = cost_model.estimate(m, designs()["seed"], workload())
    this = cost_model.estimate(m, designs()["this"], workload())
    assert not [entry for entry in seed.lines if "serverless" in entry.item]
    assert {entry.item for entry in this.lines if entry.stage == "Snowflake dedup"} == {
        "merge task (serverless)", "daily duplicate check (serverless)"}
    assert line(this.lines, "freshness check (serverless)", "Snowflake").quantity > 0


def test_the_settings_are_the_config_and_the_check_interval_the_module_default():
    # No copy of the dedup settings in the price table: the model reads config/pipeline.json.
    assert not {"dedup_merge_interval_minutes", "dedup_window_hours", "dedup_check_days"} & set(PRICES["assumptions"])
    reference = model()
    longer = model(pipeline_edit=lambda pipeline: pipeline["dedup"].update(
        merge_interval_minutes=2 * PIPELINE["dedup"]["merge_interval_minutes"]))
    this = designs()["this"]
    runs = [line(cost_model.dedup_stage(m, this, workload(), cost_model.traffic(m, this, workload())),
                 "merge task (serverless)").detail for m in (reference, longer)]
    assert runs[0] != runs[1]
    variables = (ROOT / "terraform" / "modules" / "snowflake" / "variables.tf").read_text()
    block = re.search(r'variable "freshness_check" \{(.*?)\n\}', variables, re.DOTALL).group(1)
    interval = re.search(r"check_interval_minutes\s*=\s*optional\(number,\s*(\d+)\)", block).group(1)
    assert PRICES["assumptions"]["freshness_check_interval_minutes"]["value"] == int(interval)
