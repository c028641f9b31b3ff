"""The local stack for the end-to-end tests: the one already running when `scripts/local status`
says it is healthy, otherwise one started here with `scripts/local up` and stopped at the end."""

from __future__ import annotations

import subprocess

import pytest
from e2e_helpers import ROOT

from localstack.api import Api

LOCAL = ROOT / "scripts" / "local"
# `up` may have to build the Lambdas first (release, LTO): minutes on a cold cache.
UP_TIMEOUT_SECONDS = 1800


@pytest.fixture(scope="session")
def api() -> Api:
    running = subprocess.run([LOCAL, "status"], capture_output=True).returncode == 0
    if not running:
        subprocess.run([LOCAL, "up"], check=True, timeout=UP_TIMEOUT_SECONDS)
    try:
        yield Api.from_env_file()
    finally:
        if not running:
            subprocess.run([LOCAL, "down"], check=True, timeout=120)
