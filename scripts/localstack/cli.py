"""`scripts/local up|down|status|logs|sql|reload`: the commands behind the thin bash entry point."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import snowflake.connector

from . import fault_proxy, resources, warehouse
from .api import Api
from .aws import client
from .daemon import read_heartbeat
from .loader import COPY_HISTORY, RELOAD_KEY
from .processes import FAULT_PROXY, FIREHOSE_RELAY, MINISTACK, SERVICES, SNOWPIPE_LOADER, Service
from .settings import CREDENTIALS, LOCAL, PIPELINE, REGION, requested_delivery_mode

HEALTH_TIMEOUT_SECONDS = 60
# A heartbeat older than this means the relay or loader is stuck or gone.
HEARTBEAT_MAX_AGE_SECONDS = 10


def say(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


@contextmanager
def step(title: str):
    started = time.monotonic()
    yield
    say(f"{title} ({time.monotonic() - started:.1f} s)")


def wait_for(what: str, ready, timeout: float = HEALTH_TIMEOUT_SECONDS, service: Service | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if service is not None and service.pid() is None:
            raise SystemExit(f"{service.name} exited; see {service.log_file}")
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)


def emulator_healthy() -> bool:
    try:
        with urllib.request.urlopen(f"{LOCAL.endpoint}/_ministack/health", timeout=2) as response:
            return response.status == 200
    except (OSError, urllib.error.URLError):
        return False


def heartbeat_fresh(service: Service) -> bool:
    beat = read_heartbeat(service.name)
    return bool(beat) and beat["pid"] == service.pid() and time.time() - beat["at"] < HEARTBEAT_MAX_AGE_SECONDS


def emulator_calls_back_through_proxy() -> bool:
    """Whether the running MiniStack hands the Lambdas the fault proxy's endpoint (one started by
    an older `up` hands them its own)."""
    try:
        environ = Path(f"/proc/{MINISTACK.pid()}/environ").read_bytes().split(b"\0")
    except OSError:
        return False
    return f"AWS_ENDPOINT_URL={LOCAL.fault_proxy_endpoint}".encode() in environ


HEALTH = {
    # Faults left on are not the normal stack: `up` turns them off.
    FAULT_PROXY.name: lambda: fault_proxy.healthy() and not fault_proxy.faults_on(),
    MINISTACK.name: lambda: emulator_healthy() and emulator_calls_back_through_proxy(),
    FIREHOSE_RELAY.name: lambda: heartbeat_fresh(FIREHOSE_RELAY),
    SNOWPIPE_LOADER.name: lambda: heartbeat_fresh(SNOWPIPE_LOADER) and warehouse.server_is_up(),
}


def port_taken(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def up(args) -> None:
    started = time.monotonic()
    mode = args.mode or running_delivery_mode() or requested_delivery_mode()
    for directory in (LOCAL.emulator_tmp, LOCAL.stage, LOCAL.warehouse):
        directory.mkdir(parents=True, exist_ok=True)
    if MINISTACK.pid() is not None and not emulator_calls_back_through_proxy():
        say("MiniStack does not route the Lambdas through the fault proxy: restarting it")
        MINISTACK.stop()
    if FAULT_PROXY.pid() is None:
        if port_taken(LOCAL.fault_proxy_port):
            raise SystemExit(f"127.0.0.1:{LOCAL.fault_proxy_port} is in use by another program; "
                             "set RTSTREAM_LOCAL_FAULT_PROXY_PORT")
        with step(f"started the fault proxy on {LOCAL.fault_proxy_endpoint} (faults off)"):
            FAULT_PROXY.start()
            wait_for("the fault proxy", fault_proxy.healthy, service=FAULT_PROXY)
    elif not fault_proxy.healthy():
        raise SystemExit(f"the fault proxy (pid {FAULT_PROXY.pid()}) does not answer; see {FAULT_PROXY.log_file}")
    if fault_proxy.faults_on():
        fault_proxy.control({})
        say("turned the fault proxy's faults off")
    if MINISTACK.pid() is None:
        # The relay and the loader hold state of the emulator they started with: restart them too.
        for service in (FIREHOSE_RELAY, SNOWPIPE_LOADER):
            service.stop()
        for port in (LOCAL.aws_port, LOCAL.warehouse_port):
            if port_taken(port):
                raise SystemExit(f"127.0.0.1:{port} is in use by another program; "
                                 "set RTSTREAM_LOCAL_AWS_PORT / RTSTREAM_LOCAL_WAREHOUSE_PORT")
        with step(f"started MiniStack on {LOCAL.endpoint}"):
            MINISTACK.start()
            wait_for("MiniStack", emulator_healthy, service=MINISTACK)
    record_delivery_mode(mode)
    with step(f"created the AWS resources from config/pipeline.json (delivery mode {mode})"):
        endpoints = resources.create_all(mode)
        resources.wait_until_active()
    with step("warmed the Lambdas (transformer invoked, API answers 415 to text/plain)"):
        warm_lambdas(endpoints)
    # The loader first: the relay merges streaming rows through the warehouse server it runs.
    for service in (SNOWPIPE_LOADER, FIREHOSE_RELAY):
        running = service.pid() is not None
        with step(f"the {service.name} is healthy" if running else f"started the {service.name}"):
            if not running:
                service.start()
            wait_for(f"the {service.name} to be healthy", HEALTH[service.name], service=service)
    write_env(endpoints)
    say(f"local stack is up in delivery mode {mode} ({time.monotonic() - started:.1f} s); settings in {LOCAL.env_file}")
    print(curl_example(endpoints))


def running_delivery_mode() -> str | None:
    """The mode `up` recorded, while the emulator whose delivery stream is configured for it runs:
    `up` without --mode keeps it rather than switch to $RTSTREAM_DELIVERY_MODE or the default."""
    if MINISTACK.pid() is None or not LOCAL.delivery_file.exists():
        return None
    mode = LOCAL.delivery_mode
    requested = requested_delivery_mode()
    if requested != mode:
        say(f"the stack runs in delivery mode {mode}: kept (`up --mode {requested}` switches)")
    return mode


def record_delivery_mode(mode: str) -> None:
    """Records the mode for the relay, `status` and the probe. Another mode than the running one
    stops the relay first: on AWS it is another Firehose stream (docs/deploy.md, "Switching the
    delivery mode"), which reads the Kinesis stream from its creation on, not its history. The new
    relay resumes after the old one's checkpoint (written at its stop); `since`, taken before the
    stop so that no record falls between the two relays, is where it reads from without one."""
    recorded = LOCAL.delivery() if LOCAL.delivery_file.exists() and FIREHOSE_RELAY.pid() is not None else None
    since = recorded["since"] if recorded else None
    if recorded and recorded["mode"] != mode:
        since = time.time()
        FIREHOSE_RELAY.stop()
        say(f"switching the delivery mode from {recorded['mode']} to {mode}: stopped the {FIREHOSE_RELAY.name}")
    LOCAL.delivery_file.write_text(json.dumps({"mode": mode, "since": since}))


def warm_lambdas(endpoints: resources.Endpoints) -> None:
    """Cold-starts both functions now rather than on the first event, and proves they run."""
    response = client("lambda").invoke(
        FunctionName=PIPELINE.names["transformer_function"],
        Payload=json.dumps({"invocationId": "warm-up", "deliveryStreamArn": "", "region": REGION, "records": []}),
    )
    if "FunctionError" in response:
        raise SystemExit(f"the transformer failed: {response['Payload'].read()[:500]!r}")
    # 415 is answered by the validator without writing anything anywhere.
    answer = Api(endpoints.api_url, endpoints.api_key).post(b"warm-up", "text/plain")
    if answer.status != 415:
        raise SystemExit(f"POST {endpoints.api_url} (text/plain) answered {answer.status} {answer.body}, "
                         f"expected 415; see {MINISTACK.log_file}")


def write_env(endpoints: resources.Endpoints) -> None:
    settings = {
        "API_URL": endpoints.api_url,
        "API_KEY": endpoints.api_key,
        "AWS_ENDPOINT_URL": LOCAL.endpoint,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": CREDENTIALS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": CREDENTIALS["aws_secret_access_key"],
        "RTSTREAM_LOCAL_AWS_PORT": str(LOCAL.aws_port),
        "RTSTREAM_LOCAL_WAREHOUSE_PORT": str(LOCAL.warehouse_port),
        "RTSTREAM_LOCAL_FAULT_PROXY_PORT": str(LOCAL.fault_proxy_port),
    }
    LOCAL.env_file.write_text("".join(f"{key}={value}\n" for key, value in settings.items()))


def curl_example(endpoints: resources.Endpoints) -> str:
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    event = {"event_type": "page_view", "occurred_at": now, "source": "curl", "payload": {"url": "https://example.com"}}
    return (
        f"curl -sS -X POST '{endpoints.api_url}' \\\n"
        f"  -H 'content-type: application/json' -H 'x-api-key: {endpoints.api_key}' \\\n"
        f"  -d '{json.dumps(event)}'\n"
        f"scripts/local sql \"SELECT EVENT_ID, EVENT_TYPE, OCCURRED_AT, PAYLOAD FROM "
        f"{PIPELINE.snowflake['dedup_view']} ORDER BY RECEIVED_AT DESC LIMIT 5\""
    )


def down(args) -> None:
    for service in reversed(SERVICES):
        if service.stop():
            say(f"stopped the {service.name}")
    shutil.rmtree(LOCAL.heartbeats, ignore_errors=True)
    LOCAL.env_file.unlink(missing_ok=True)
    LOCAL.delivery_file.unlink(missing_ok=True)
    # MiniStack keeps its Kinesis stream in memory: the next `up` creates another one.
    LOCAL.relay_checkpoint_file.unlink(missing_ok=True)
    if args.purge:
        shutil.rmtree(LOCAL.home, ignore_errors=True)
        say(f"removed {LOCAL.home} (warehouse, stage, logs)")
    else:
        say(f"the warehouse stays in {LOCAL.warehouse} (`scripts/local down --purge` removes it)")


def status(_args) -> None:
    """One line per process; exits 1 unless every one is healthy (the tests rely on it)."""
    all_healthy = True
    for service in SERVICES:
        pid = service.pid()
        healthy = pid is not None and HEALTH[service.name]()
        all_healthy &= healthy
        state = "healthy" if healthy else ("unhealthy" if pid else "stopped")
        if service is FAULT_PROXY:
            beat = fault_proxy_state() if fault_proxy.healthy() else {}
        else:
            beat = read_heartbeat(service.name) or {}
        counters = ", ".join(f"{k}={v}" for k, v in beat.items() if k not in ("pid", "at"))
        print(f"{service.name:16} {state:9} pid={pid or '-':<8} {counters}")
    env = LOCAL.read_env()
    if env:
        print(f"API_URL={env['API_URL']}\nAPI_KEY={env['API_KEY']}\nDELIVERY_MODE={LOCAL.delivery_mode}")
    if not all_healthy:
        raise SystemExit(1)


def fault_proxy_state() -> dict:
    """The faults that are on (none: `faults=off`) and what the proxy counted."""
    report = fault_proxy.control()
    on = fault_proxy.shares_on(report["faults"])
    return {"faults": ",".join(f"{k}:{v}" for k, v in on.items()) or "off", **report["counters"]}


def logs(args) -> None:
    files = [str(s.log_file) for s in SERVICES if args.service in (None, s.name) and s.log_file.exists()]
    if not files:
        raise SystemExit(f"no logs in {LOCAL.logs}")
    os.execvp("tail", ["tail", f"--lines={args.lines}", *(["--follow=name"] if args.follow else []), *files])


def sql(args) -> None:
    try:
        columns, rows = warehouse.query(args.query)
    except snowflake.connector.errors.Error as error:
        raise SystemExit(f"error: {error}") from None
    sys.stdout.write(warehouse.to_csv(columns, rows))


RELOAD_TIMEOUT_SECONDS = 120


def reload(args) -> None:
    """The local `COPY INTO <table> … FILES = (…)` with the pipe's own statement: loads files the
    pipe skipped (LOAD_FAILED) once their data is fixed. Exits 1 unless each one is LOADED."""
    if not heartbeat_fresh(SNOWPIPE_LOADER):
        raise SystemExit("the snowpipe-loader is not running: `scripts/local up` first")
    prefix = PIPELINE.prefixes["events"]
    files = [name[len(prefix):] if name.startswith(prefix) else name for name in args.files]
    if args.failed:
        files += [row[0] for row in warehouse.query(
            f"SELECT FILE_NAME FROM {COPY_HISTORY} GROUP BY FILE_NAME "
            "HAVING COUNT_IF(STATUS = 'LOADED') = 0 ORDER BY FILE_NAME")[1]]
    files = list(dict.fromkeys(files))
    if not files:
        say("nothing to reload")
        return

    def attempts() -> dict[str, tuple[int, str | None, str | None]]:
        _, rows = warehouse.query(
            f"SELECT FILE_NAME, STATUS, FIRST_ERROR_MESSAGE FROM {COPY_HISTORY} "
            f"WHERE FILE_NAME IN ({', '.join(['%s'] * len(files))}) ORDER BY LAST_LOAD_TIME", files)
        seen: dict[str, tuple[int, str | None, str | None]] = {}
        for name, state, error in rows:
            seen[name] = (seen.get(name, (0, None, None))[0] + 1, state, error)
        return seen

    before = attempts()
    pending = [name for name in files if before.get(name, (0, None))[1] != "LOADED"]
    for name in set(files) - set(pending):
        say(f"{name}: already loaded")
    if pending:
        client("sqs").send_message(QueueUrl=resources.pipe_queue_url(),
                                   MessageBody=json.dumps({RELOAD_KEY: {"files": pending}}))
    deadline = time.monotonic() + RELOAD_TIMEOUT_SECONDS
    after = attempts()
    while any(after.get(n, (0,))[0] <= before.get(n, (0,))[0] for n in pending) and time.monotonic() < deadline:
        time.sleep(0.5)
        after = attempts()
    failed = False
    for name in pending:
        count, state, error = after.get(name, (0, None, None))
        if count <= before.get(name, (0,))[0]:
            state, error = "NOT DONE", f"no new COPY_HISTORY row within {RELOAD_TIMEOUT_SECONDS} s"
        failed |= state != "LOADED"
        say(f"{name}: {state}" + (f" ({error})" if error else ""))
    if failed:
        raise SystemExit(1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="scripts/local", description="rtstream's pipeline on this machine.")
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("up", help="start everything (idempotent), in one delivery mode")
    start.add_argument("--mode", choices=PIPELINE.delivery_modes,
                       help="how Firehose delivers (docs/latency.md); another mode than the running one "
                            "restarts the relay. Default: the running stack's mode, else "
                            f"${PIPELINE.delivery_mode_env}, else snowpipe")
    start.set_defaults(run=up)
    stop = commands.add_parser("down", help="stop everything started by up")
    stop.add_argument("--purge", action="store_true", help="also delete .local/ (the warehouse too)")
    stop.set_defaults(run=down)
    commands.add_parser("status", help="is each process running and healthy").set_defaults(run=status)
    tail = commands.add_parser("logs", help="the processes' logs")
    tail.add_argument("service", nargs="?", choices=[s.name for s in SERVICES])
    tail.add_argument("-f", "--follow", action="store_true")
    tail.add_argument("-n", "--lines", type=int, default=50)
    tail.set_defaults(run=logs)
    query = commands.add_parser("sql", help="run a query on the local warehouse, print CSV")
    query.add_argument("query")
    query.set_defaults(run=sql)
    again = commands.add_parser("reload", help="load files the pipe skipped (LOAD_FAILED) again, after the fix")
    again.add_argument("files", nargs="*", help="file names as in COPY_HISTORY (or S3 keys under the events prefix)")
    again.add_argument("--failed", action="store_true", help="every file with no LOADED row in COPY_HISTORY")
    again.set_defaults(run=reload)
    args = parser.parse_args(argv)
    args.run(args)
