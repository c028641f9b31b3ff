"""The background processes of the local stack, started detached with their pid under
.local/pids/ and their output under .local/logs/, and stopped by that pid only."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .settings import LOCAL, REGION, ROOT

STOP_GRACE_SECONDS = 15


@dataclass(frozen=True)
class Service:
    name: str
    argv: tuple[str, ...]
    # A word of the process's command line: a recycled pid running something else is not ours.
    marker: str
    env: tuple[tuple[str, str], ...] = ()

    @property
    def pid_file(self) -> Path:
        return LOCAL.pids / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return LOCAL.logs / f"{self.name}.log"

    def pid(self) -> int | None:
        """The pid of our running process, or None."""
        try:
            pid = int(self.pid_file.read_text())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except (OSError, ValueError):
            return None
        return pid if self.marker in cmdline else None

    def start(self) -> int:
        LOCAL.pids.mkdir(parents=True, exist_ok=True)
        LOCAL.logs.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            process = subprocess.Popen(
                self.argv,
                cwd=ROOT,
                env={**os.environ, **dict(self.env)},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own process group: `stop` ends it with every child it spawned (Lambda runtimes).
                start_new_session=True,
            )
        self.pid_file.write_text(str(process.pid))
        # Popen can return before the child has exec'd; until then its command line is empty.
        deadline = time.monotonic() + 5
        while self.pid() is None and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        return process.pid

    def stop(self) -> bool:
        """Stops the process group we started; True when something was running."""
        pid = self.pid()
        if pid is not None:
            _signal_group(pid, signal.SIGTERM)
            deadline = time.monotonic() + STOP_GRACE_SECONDS
            while self.pid() is not None and time.monotonic() < deadline:
                time.sleep(0.1)
            if self.pid() is not None:
                _signal_group(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        return pid is not None


def _signal_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)
    except ProcessLookupError:
        pass


def _python_module(name: str, module: str) -> Service:
    return Service(
        name=name,
        argv=(sys.executable, "-m", module),
        marker=module,
        env=(("PYTHONPATH", str(ROOT / "scripts")), ("PYTHONUNBUFFERED", "1")),
    )


FAULT_PROXY = _python_module("fault-proxy", "localstack.fault_proxy")
MINISTACK = Service(
    name="ministack",
    argv=(sys.executable, "-m", "ministack"),
    marker="ministack",
    env=(
        ("GATEWAY_PORT", str(LOCAL.aws_port)),
        ("BIND_HOST", "127.0.0.1"),
        ("MINISTACK_REGION", REGION),
        # Only the services the pipeline uses, no extra listeners (IoT MQTT, SFTP).
        ("SERVICES", "apigateway,lambda,kinesis,firehose,s3,sqs,sts,iam,logs"),
        ("IOT_MTLS_ENABLED", "0"),
        ("SFTP_ENABLED", "0"),
        # MiniStack hands this endpoint to every Lambda it runs, so our binaries call it back
        # through the fault proxy (faults off unless a test sets them).
        ("AWS_ENDPOINT_URL", LOCAL.fault_proxy_endpoint),
        ("TMPDIR", str(LOCAL.emulator_tmp)),
    ),
)
FIREHOSE_RELAY = _python_module("firehose-relay", "localstack.firehose_relay")
SNOWPIPE_LOADER = _python_module("snowpipe-loader", "localstack.loader")

# In start order; stopped in reverse. The loader (and the warehouse server it runs) outlives the
# relay, whose final flush may insert rows (snowpipe_streaming) and merges them into the history.
SERVICES = (FAULT_PROXY, MINISTACK, SNOWPIPE_LOADER, FIREHOSE_RELAY)
