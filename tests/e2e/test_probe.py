"""The post-deploy probe (scripts/probe, docs/probe.md): its key loading and answer/row checks
offline, then the probe against the local stack: its key-pair login options log in, a refused POST
fails it, it passes, it fails with the missing ids when accepted events do not land, and a view it
cannot read is a configuration error."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jwt
import pytest
import snowflake.connector
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from e2e_helpers import ROOT, query, wait_for_rows
from snowflake.connector.auth import AuthByKeyPair

from localstack.api import Answer, Api
from localstack.processes import FIREHOSE_RELAY
from localstack.settings import LOCAL, PIPELINE
from probe import (UNKNOWN_MODE, Landing, Latency, SnowflakeSettings, UsageError, default_view, delivered_by,
                   differences, load_private_key, main, make_event, measured_mode, parse_args, post_all, read_answer,
                   resolve)

PROBE = ROOT / "scripts" / "probe"
PROBE_TIMEOUT_SECONDS = 300
PASSPHRASE = "correct horse battery staple"
LATENCY_LINE = re.compile(
    r"POST -> queryable latency \(delivery mode (\w+)\) over (\d+) events: "
    r"p50 (\d+\.\d+) s, p95 (\d+\.\d+) s, p99 (\d+\.\d+) s, max (\d+\.\d+) s"
)


# --- offline: the key and the login settings ----------------------------------------------------


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey, passphrase: str | None = None,
        form: serialization.PrivateFormat = serialization.PrivateFormat.PKCS8) -> bytes:
    encryption = (serialization.BestAvailableEncryption(passphrase.encode()) if passphrase
                  else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, form, encryption)


def same_key(der: bytes, key: rsa.RSAPrivateKey) -> bool:
    loaded = serialization.load_der_private_key(der, password=None)  # unencrypted DER
    return isinstance(loaded, rsa.RSAPrivateKey) and loaded.private_numbers() == key.private_numbers()


def test_an_unencrypted_pkcs8_key_loads_as_unencrypted_der(key):
    text = pem(key)
    assert text.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert same_key(load_private_key(text, None), key)
    # A passphrase that the key does not need is ignored; so are newlines stored as "\n".
    assert same_key(load_private_key(text, PASSPHRASE), key)
    assert same_key(load_private_key(text.replace(b"\n", b"\\n"), None), key)


def test_an_encrypted_pkcs8_key_loads_with_its_passphrase(key):
    text = pem(key, PASSPHRASE)
    assert text.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert same_key(load_private_key(text, PASSPHRASE), key)
    legacy = pem(key, PASSPHRASE, serialization.PrivateFormat.TraditionalOpenSSL)  # PKCS#1, Proc-Type
    assert same_key(load_private_key(legacy, PASSPHRASE), key)


@pytest.mark.parametrize("case", ["no passphrase", "wrong passphrase", "not a key", "damaged"])
def test_an_unusable_key_is_a_usage_error_that_quotes_no_secret(key, case):
    text = pem(key, PASSPHRASE)
    body = text.splitlines()[1].decode()
    attempts = {
        "no passphrase": (text, None, "is encrypted: set SNOWFLAKE_PRIVATE_KEY_PASSPHRASE"),
        "wrong passphrase": (text, "not the passphrase", "cannot decrypt SNOWFLAKE_PRIVATE_KEY"),
        "not a key": (b"ssh-rsa AAAAB3NzaC1yc2E", None, "is not a PEM private key"),
        "damaged": (pem(key).replace(pem(key).splitlines()[3], b"A" * 64), None, "not a readable PEM"),
    }
    data, passphrase, expected = attempts[case]
    with pytest.raises(UsageError) as raised:
        load_private_key(data, passphrase)
    message = str(raised.value)
    assert expected in message
    assert body not in message and PASSPHRASE not in message and "AAAA" not in message


def test_the_connector_signs_its_login_with_the_loaded_key(key):
    """The DER bytes are what the pinned connector's key-pair auth takes: it signs the login JWT
    with them (no network: this is the token it would send)."""
    der = load_private_key(pem(key, PASSPHRASE), PASSPHRASE)
    token = AuthByKeyPair(private_key=der).prepare(account="MYORG-MYACCOUNT", user="probe_user")
    claims = jwt.decode(token, key.public_key(), algorithms=["RS256"])
    assert claims["sub"] == "MYORG-MYACCOUNT.PROBE_USER"
    assert claims["iss"].startswith("MYORG-MYACCOUNT.PROBE_USER.SHA256:")


def login_env(key: rsa.RSAPrivateKey) -> dict[str, str]:
    return {
        "SNOWFLAKE_ORGANIZATION_NAME": "MYORG",
        "SNOWFLAKE_ACCOUNT_NAME": "MYACCOUNT",
        "SNOWFLAKE_USER": "RTSTREAM_PROBE",
        "SNOWFLAKE_ROLE": "RTSTREAM_READER",
        "SNOWFLAKE_WAREHOUSE": "RTSTREAM_WH",
        "SNOWFLAKE_PRIVATE_KEY": pem(key, PASSPHRASE).decode(),
        "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE": PASSPHRASE,
    }


def test_the_login_settings_come_from_the_environment(key, tmp_path):
    env = login_env(key)
    settings = SnowflakeSettings.from_env(env)
    assert (settings.account, settings.user, settings.role, settings.warehouse) == (
        "MYORG-MYACCOUNT", "RTSTREAM_PROBE", "RTSTREAM_READER", "RTSTREAM_WH")
    assert same_key(settings.connect_options()["private_key"], key)
    assert "PRIVATE" not in repr(settings) and PASSPHRASE not in repr(settings)

    key_file = tmp_path / "rsa_key.p8"
    key_file.write_bytes(pem(key))
    from_file = {k: v for k, v in env.items() if not k.startswith("SNOWFLAKE_PRIVATE_KEY")}
    assert same_key(SnowflakeSettings.from_env({**from_file, "SNOWFLAKE_PRIVATE_KEY_FILE": str(key_file)}).private_key,
                    key)

    with pytest.raises(UsageError, match="not both"):
        SnowflakeSettings.from_env({**env, "SNOWFLAKE_PRIVATE_KEY_FILE": str(key_file)})
    with pytest.raises(UsageError) as raised:
        SnowflakeSettings.from_env({"SNOWFLAKE_USER": "x", "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE": PASSPHRASE})
    assert str(raised.value) == (
        "missing environment variables: SNOWFLAKE_ORGANIZATION_NAME, SNOWFLAKE_ACCOUNT_NAME, SNOWFLAKE_ROLE, "
        "SNOWFLAKE_WAREHOUSE, SNOWFLAKE_PRIVATE_KEY (or SNOWFLAKE_PRIVATE_KEY_FILE)"
    )


def test_latency_percentiles_are_nearest_rank():
    latency = Latency.of([float(n) for n in range(20, 0, -1)])
    assert (latency.count, latency.p50, latency.p95, latency.p99, latency.max) == (20, 10.0, 19.0, 20.0, 20.0)
    latency = Latency.of([float(n) for n in range(1, 201)])
    assert (latency.p50, latency.p95, latency.p99, latency.max) == (100.0, 190.0, 198.0, 200.0)
    assert Latency.of([]) is None


def test_the_rows_file_names_tell_the_delivery_mode():
    assert delivered_by("event_type=page_view/dt=2026-11-26/rtstream-delivery-1-2026-11-26-21-00-00-x") == "snowpipe"
    assert delivered_by("dt=2026-11-26/rtstream-delivery-1-2026-11-26-21-00-00-x") == "snowpipe_fresh"
    # With the stage's prefix too, should METADATA$FILENAME hold the object's whole key.
    assert delivered_by("events/event_type=page_view/dt=2026-11-26/rtstream-delivery-1-x") == "snowpipe"
    assert delivered_by("events/dt=2026-11-26/rtstream-delivery-1-x") == "snowpipe_fresh"
    assert delivered_by("kinesis/shardId-000000000000/49600000000000000000000") == "snowpipe_streaming"
    assert delivered_by("somewhere/else") is None and delivered_by(None) is None
    # The figures are labelled with the mode given; rows of another mode are a problem.
    landing = Landing(modes={"snowpipe_fresh"})
    assert measured_mode(None, landing) == "snowpipe_fresh" and landing.problems == []
    assert measured_mode("snowpipe", landing) == "snowpipe"
    assert landing.problems == ["rows delivered in mode snowpipe_fresh, not snowpipe (FILE_NAME)"]
    assert measured_mode(None, Landing(modes={"snowpipe", "snowpipe_fresh"})) == UNKNOWN_MODE


def test_on_aws_the_view_must_be_named(capsys):
    # Each environment has its own database: a default view would read the wrong one.
    assert main(["--api-url", "https://api.example.com/v1/events", "--api-key", "k"]) == 2
    assert "--view is required" in capsys.readouterr().err


def test_the_api_key_can_come_from_the_environment_instead_of_the_command_line(key):
    # The deploy's verify job keeps the key off /proc/*/cmdline this way.
    args = parse_args(["--api-url", "https://api.example.com/v1/events", "--view", "DB.RAW.EVENTS_DEDUP"])
    target = resolve(args, {**login_env(key), "RTSTREAM_API_KEY": "from-env"})
    assert target.api.key == "from-env"
    with pytest.raises(UsageError, match="RTSTREAM_API_KEY"):
        resolve(args, login_env(key))


def test_only_events_answered_accepted_under_their_id_are_expected():
    events = [make_event("unit", n) for n in range(3)]
    ids = [event["event_id"] for event in events]
    results = [{"index": 0, "event_id": ids[0], "status": "accepted"},
               {"index": 1, "event_id": ids[1], "status": "rejected", "errors": []},
               {"index": 2, "event_id": "someone-else", "status": "accepted"}]
    accepted, problems = read_answer(Answer(202, {"results": results}), events)
    assert accepted == events[:1]
    assert problems == [f"{ids[1]} rejected", f"{ids[2]} accepted as 'someone-else'"]
    assert read_answer(Answer(503, {"results": results}), events) == ([], ["expected 202, got 503"])


def test_a_row_must_hold_the_values_sent():
    event = make_event("unit", 0)
    sent_at = datetime.fromisoformat(event["occurred_at"])
    row = ("page_view", sent_at.astimezone(timezone(timedelta(hours=2))), "rtstream-probe",
           json.dumps(event["payload"], indent=2))
    assert differences(row, event) == []  # the same instant in another offset; VARIANT as JSON text
    changed = ("order_placed", sent_at + timedelta(milliseconds=1), "other",
               json.dumps({**event["payload"], "url": "x"}))
    assert [d.split()[0] for d in differences(changed, event)] == ["EVENT_TYPE", "OCCURRED_AT", "SOURCE", "PAYLOAD"]
    assert differences((*row[:1], sent_at.replace(tzinfo=None), *row[2:]), event)[0].startswith("OCCURRED_AT")


# --- against the local stack --------------------------------------------------------------------


def run_probe(*args: str, summary: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PROBE, "--local", *args],
        env={**os.environ, "GITHUB_STEP_SUMMARY": str(summary)},
        capture_output=True,
        text=True,
        timeout=PROBE_TIMEOUT_SECONDS,
    )


def run_id(output: str) -> str:
    match = re.search(r"^probe (\S+): posting", output, re.MULTILINE)
    assert match, output
    return match.group(1)


@contextmanager
def firehose_relay_paused() -> Iterator[None]:
    """Accepted events stay in Kinesis while the local Firehose data plane is stopped (SIGSTOP)."""
    pid = FIREHOSE_RELAY.pid()
    assert pid is not None, "the firehose-relay is not running"
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def test_the_probe_login_options_log_in_with_the_key_pair_through_the_connector(api, key):
    """The exact options the probe gives the connector (account ORG-ACCOUNT, the encrypted key as
    DER, role, warehouse), pointed at the local warehouse's server, which takes any login."""
    options = SnowflakeSettings.from_env(login_env(key)).connect_options()
    options["session_parameters"]["CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED"] = False
    connection = snowflake.connector.connect(**options, host="127.0.0.1", port=LOCAL.warehouse_port, protocol="http")
    try:
        assert isinstance(connection.auth_class, AuthByKeyPair)
        cursor = connection.cursor()
        cursor.execute(f"SELECT EVENT_ID FROM {default_view()} WHERE 1 = 0")
        assert cursor.fetchall() == []
    finally:
        connection.close()


def test_a_post_not_answered_202_is_a_probe_failure_with_the_reply(api):
    posting = post_all(Api(api.url, "not-the-api-key"), "refused", count=2, batch_size=1)
    assert posting.accepted == {}
    assert len(posting.failures) == 2
    assert posting.failures[0].startswith("POST probe-refused-0: expected 202, got 403; HTTP 403 reply: {")


def test_the_probe_passes_against_the_local_stack(api, tmp_path):
    summary = tmp_path / "summary.md"
    probe = run_probe("--events", "10", summary=summary)
    output = probe.stdout + probe.stderr
    print(output)
    assert probe.returncode == 0, output
    assert f"PASSED: all 10 probe events are queryable in {default_view()} with the values sent" in output
    mode, count, p50, p95, p99, peak = LATENCY_LINE.search(output).groups()
    assert mode == LOCAL.delivery_mode
    assert int(count) == 10 and 0 < float(p50) <= float(p95) <= float(p99) <= float(peak) < 120

    table = summary.read_text()
    assert table.startswith("### rtstream post-deploy probe: passed")
    assert "| delivery mode | events | POST → queryable p50 | p95 | p99 | max |" in table
    assert f"| `{mode}` | 10 | {p50} s | {p95} s | {p99} s | {peak} s |" in table

    # The rows are there for anyone to read, once each.
    run = run_id(output)
    rows = query("SELECT EVENT_ID, SOURCE FROM EVENTS_DEDUP WHERE EVENT_ID LIKE %s", [f"probe-{run}-%"])
    assert sorted(row["EVENT_ID"] for row in rows) == sorted(f"probe-{run}-{n}" for n in range(10))
    assert {row["SOURCE"] for row in rows} == {"rtstream-probe"}


def test_the_probe_fails_listing_the_missing_ids_when_accepted_events_do_not_land(api, tmp_path):
    summary = tmp_path / "summary.md"
    with firehose_relay_paused():
        probe = run_probe("--events", "3", "--batch-size", "2", "--timeout-seconds", "3", summary=summary)
    output = probe.stdout + probe.stderr
    print(output)
    assert probe.returncode == 1, output
    run = run_id(output)
    missing = [f"probe-{run}-{n}" for n in range(3)]
    assert "3 of 3 accepted" in output
    assert "missing event ids (3):\n" + "".join(f"  {event_id}\n" for event_id in missing) in probe.stdout
    assert f"FAILED: 3 of 3 accepted events not in {default_view()} after 3 s" in output
    assert f"POST -> queryable latency (delivery mode {LOCAL.delivery_mode}): no event became queryable" in output
    table = summary.read_text()
    assert table.startswith("### rtstream post-deploy probe: FAILED")
    assert all(f"`{event_id}`" in table for event_id in missing)

    # They were accepted, so they were only late: with the relay running again they land.
    rows = wait_for_rows("SELECT EVENT_ID FROM EVENTS_DEDUP WHERE EVENT_ID LIKE %s", [f"probe-{run}-%"], 3)
    assert sorted(row["EVENT_ID"] for row in rows) == missing


def test_a_view_the_probe_cannot_read_is_a_configuration_error_before_any_post(api, tmp_path):
    summary = tmp_path / "summary.md"
    view = default_view().rsplit(".", 1)[0] + ".NO_SUCH_VIEW"
    probe = run_probe("--view", view, summary=summary)
    assert probe.returncode == 2, probe.stdout + probe.stderr
    assert f"cannot read {view}" in probe.stderr
    assert "nothing was posted" in probe.stderr
    assert "posting" not in probe.stdout and not summary.exists()


def test_a_mode_other_than_the_stacks_is_a_configuration_error_before_any_post(api, tmp_path):
    other = next(mode for mode in PIPELINE.delivery_modes if mode != LOCAL.delivery_mode)
    probe = run_probe("--mode", other, summary=tmp_path / "summary.md")
    assert probe.returncode == 2, probe.stdout + probe.stderr
    assert f"the local stack runs in delivery mode {LOCAL.delivery_mode}" in probe.stderr
    assert "nothing was posted" in probe.stderr
