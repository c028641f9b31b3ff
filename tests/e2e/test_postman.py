"""The Postman collection, run by the pinned newman against the local stack."""

from __future__ import annotations

import subprocess

from e2e_helpers import ROOT

NEWMAN = ROOT / "node_modules" / ".bin" / "newman"
NEWMAN_TIMEOUT_SECONDS = 300


def test_the_postman_collection_passes_against_the_local_stack(api):
    assert NEWMAN.exists(), f"{NEWMAN} is missing: run `npm ci` (scripts/test does)"
    run = subprocess.run(
        [
            NEWMAN, "run", ROOT / "postman" / "rtstream.postman_collection.json",
            "--environment", ROOT / "postman" / "local.postman_environment.json",
            "--env-var", f"api_url={api.url}",
            "--env-var", f"api_key={api.key}",
            "--timeout-request", "30000",
            "--color", "off",
        ],
        capture_output=True,
        text=True,
        timeout=NEWMAN_TIMEOUT_SECONDS,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
