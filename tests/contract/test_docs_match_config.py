"""The contract document states the limits and variable names of config/pipeline.json, and the
shipped schemas are the ones it describes: prose must not drift from the single source of truth."""

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIG = json.loads((ROOT / "config" / "pipeline.json").read_text())
CONTRACT = (ROOT / "docs" / "event-contract.md").read_text()


def limits_table_rows():
    """{limit name: (default cell, environment variable cell)} from the contract's limits table."""
    rows = {}
    for line in CONTRACT.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].startswith("`") and cells[0].strip("`") in CONFIG["limits"]:
            rows[cells[0].strip("`")] = (cells[1], cells[2])
    return rows


def test_every_tunable_limit_is_documented_with_its_value_and_variable():
    rows = limits_table_rows()
    assert set(rows) == set(CONFIG["lambda_env"]) & set(CONFIG["limits"]), rows.keys()
    for name, (default, variable) in rows.items():
        assert str(CONFIG["limits"][name]) in default, (name, default)
        assert variable.strip("`") == CONFIG["lambda_env"][name], (name, variable)


def test_prefixes_in_the_contract_are_the_configured_ones():
    assert f"`{CONFIG['prefixes']['errors']}dt=YYYY-MM-DD/<request_id>.ndjson`" in CONTRACT
    assert f"`{CONFIG['prefixes']['processing_failed']}`" in CONTRACT
    event_prefix = CONFIG["firehose"]["events_prefix_template"]
    documented = event_prefix.replace("!{partitionKeyFromLambda:event_type}", "<event_type>").replace(
        "!{partitionKeyFromLambda:dt}", "<YYYY-MM-DD>"
    )
    assert f"`{documented}`" in CONTRACT


def test_the_documented_example_schemas_ship():
    schemas = {path.stem: json.loads(path.read_text()) for path in (ROOT / "schemas").glob("*.json")}
    assert schemas["page_view"]["required"] == ["url"]
    order = schemas["order_placed"]
    assert order["required"] == ["order_id", "amount", "currency"]
    assert order["properties"]["amount"]["minimum"] == 0
    assert re.fullmatch(order["properties"]["currency"]["pattern"], "EUR")
    assert not re.fullmatch(order["properties"]["currency"]["pattern"], "eur")
    assert "_default" not in schemas, "the contract and the Postman tests assume unknown types are rejected"
