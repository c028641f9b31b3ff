"""The local stack for the end-to-end tests: the one already running when `scripts/local status`
says it is healthy and in the default delivery mode, otherwise one started (or switched back)
here with `scripts/local up` and stopped at the end if it was not running.

`delivery_mode` runs a module once per delivery mode (config/pipeline.json `delivery_modes`),
switching the running stack with `up --mode` and back to the default after each other mode, so
the tests that take only `api` always see the default mode."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from e2e_helpers import ROOT

from localstack import settings
from localstack.api import Api
from localstack.settings import DEFAULT_DELIVERY_MODE, PIPELINE

LOCAL = ROOT / "scripts" / "local"
# `up` may have to build the Lambdas first (release, LTO): minutes on a cold cache.
UP_TIMEOUT_SECONDS = 1800
# Switching modes rebuilds nothing: the stack's own command, without the build step of scripts/local.
SWITCH = [sys.executable, "-m", "localstack", "up", "--mode"]
SWITCH_TIMEOUT_SECONDS = 300


def switch(mode: str) -> None:
    subprocess.run([*SWITCH, mode], check=True, timeout=SWITCH_TIMEOUT_SECONDS, cwd=ROOT,
                   env={**os.environ, "PYTHONPATH": str(ROOT / "scripts")}, stdout=subprocess.DEVNULL)


@pytest.fixture(scope="session")
def api() -> Api:
    running = subprocess.run([LOCAL, "status"], capture_output=True).returncode == 0
    if not running:
        subprocess.run([LOCAL, "up", "--mode", DEFAULT_DELIVERY_MODE], check=True, timeout=UP_TIMEOUT_SECONDS)
    elif settings.LOCAL.delivery_mode != DEFAULT_DELIVERY_MODE:
        switch(DEFAULT_DELIVERY_MODE)
    try:
        yield Api.from_env_file()
    finally:
        if not running:
            subprocess.run([LOCAL, "down"], check=True, timeout=120)


@pytest.fixture(scope="module", params=PIPELINE.delivery_modes)
def delivery_mode(request, api) -> str:
    mode = request.param
    if mode != DEFAULT_DELIVERY_MODE:
        switch(mode)
    try:
        yield mode
    finally:
        if mode != DEFAULT_DELIVERY_MODE:
            switch(DEFAULT_DELIVERY_MODE)
