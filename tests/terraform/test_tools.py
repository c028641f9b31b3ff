"""terraform fmt and checkov, run on the real files."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO


def test_terraform_fmt():
    if shutil.which("terraform") is None:
        pytest.skip("terraform is not installed")
    result = subprocess.run(
        ["terraform", "fmt", "-check", "-recursive", "-diff", "terraform"],
        cwd=REPO, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _checkov() -> str:
    beside_python = Path(sys.executable).parent / "checkov"
    found = str(beside_python) if beside_python.exists() else shutil.which("checkov")
    if found is None:
        pytest.fail("checkov is not installed (requirements-dev.txt)")
    return found


def test_checkov_reports_no_failures_and_parses_everything():
    result = subprocess.run(
        [_checkov(), "-d", "terraform", "--framework", "terraform", "-o", "json", "--quiet", "--compact"],
        cwd=REPO, capture_output=True, text=True,
        # A busy machine can exceed the default 10 s per-file parse timeout.
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "HCL_PARSE_TIMEOUT_SEC": "60"},
    )
    # checkov exits 0 on parsing errors: read its report instead of trusting the code.
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    (report,) = [r for r in reports if r.get("check_type") == "terraform"]
    summary = report["summary"]
    failed = [f"{c['check_id']} {c['resource']} ({c['file_path']})" for c in report["results"]["failed_checks"]]
    assert summary["parsing_errors"] == 0, result.stderr[-2000:]
    assert summary["resource_count"] > 40, "checkov saw too few resources: did it parse the modules?"
    assert summary["failed"] == 0, failed
