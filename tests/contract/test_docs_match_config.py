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


# AWS facts the limits must respect (docs/event-contract.md "On AWS"):
# Lambda's synchronous invocation payload, and API Gateway's cap on all request headers.
LAMBDA_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024
API_GATEWAY_HEADER_BYTES = 10 * 1024
# The rest of a REST API proxy event besides body and headers: requestContext, paths, ids.
PROXY_EVENT_OVERHEAD_BYTES = 16 * 1024
# How far past the limit the Postman "Oversized body" request goes (its pre-request script).
POSTMAN_OVERSHOOT_BYTES = 1024


def base64_length(size: int) -> int:
    return 4 * -(-size // 3)


def test_a_body_just_past_the_limit_still_reaches_the_validator_on_aws():
    # API Gateway base64-encodes the body (binary media type */*) and repeats the headers in
    # headers and multiValueHeaders: the event must fit Lambda's payload for the validator
    # to answer 413 itself rather than the platform.
    body = CONFIG["limits"]["max_request_bytes"] + POSTMAN_OVERSHOOT_BYTES
    event = base64_length(body) + 2 * API_GATEWAY_HEADER_BYTES + PROXY_EVENT_OVERHEAD_BYTES
    assert event <= LAMBDA_SYNC_PAYLOAD_BYTES, f"{event} bytes: lower max_request_bytes"


def test_the_postman_collection_uses_the_configured_request_limit_and_overshoot():
    collection = json.loads((ROOT / "postman" / "rtstream.postman_collection.json").read_text())
    variables = {v["key"]: v["value"] for v in collection["variable"]}
    assert int(variables["max_request_bytes"]) == CONFIG["limits"]["max_request_bytes"]
    oversized = [item for item in collection["item"] if item["name"] == "Oversized body"]
    (script,) = [e["script"]["exec"] for e in oversized[0]["event"] if e["listen"] == "prerequest"]
    assert f"+ {POSTMAN_OVERSHOOT_BYTES})" in "".join(script)


def test_the_license_file_is_the_one_cargo_declares():
    declared = re.search(r'^license = "([^"]+)"', (ROOT / "Cargo.toml").read_text(), re.M).group(1)
    assert declared == "Apache-2.0"
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text and "END OF TERMS AND CONDITIONS" in text
