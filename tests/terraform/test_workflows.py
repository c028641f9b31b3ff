"""What the GitHub workflows do, checked on their parsed YAML, by running their scripts against
stand-ins for terraform, aws and gh, and on the bootstrap module they rely on.

The properties a security review signs off: every action pinned to a commit, least permissions,
secrets only in the steps and environments that need them, the apply role reachable only from
the `production` environment and running no third-party code, the reviewed plan being exactly
the applied one and shown whole, no older commit deployed over a newer one, and Lambda zips that
depend only on their content.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
import yaml

import hcl
from conftest import MODULES, REPO, TERRAFORM

GITHUB = REPO / ".github"
WORKFLOWS = GITHUB / "workflows"
SCRIPTS = GITHUB / "scripts"
BOOTSTRAP = TERRAFORM / "bootstrap"
PACKAGE_LAMBDA = REPO / "scripts" / "package-lambda"

# The environments and what each may hold (terraform/bootstrap/README.md).
PR_PLAN, MAIN_PLAN, APPLY, VERIFY = "plan", "production-plan", "production", "production-verify"
DEPLOYER_SECRETS = {"SNOWFLAKE_PRIVATE_KEY", "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE"}
PROBE_SECRETS = {"SNOWFLAKE_PROBE_PRIVATE_KEY", "SNOWFLAKE_PROBE_PRIVATE_KEY_PASSPHRASE"}
SEAL_SECRET = "VERIFY_PRIVATE_KEY"
CONFIGURE_AWS = "aws-actions/configure-aws-credentials"
# Approvals of an environment wait up to 30 days; what the apply downloads must outlive them.
APPROVAL_WAIT_DAYS = 30


def load(name: str) -> dict:
    # PyYAML reads the key `on` as True.
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    data["on"] = data.pop(True, data.get("on"))
    return data


@pytest.fixture(scope="module")
def ci() -> dict:
    return load("ci.yml")


@pytest.fixture(scope="module")
def deploy() -> dict:
    return load("deploy.yml")


@pytest.fixture(scope="module")
def workflows() -> dict[str, dict]:
    return {path.name: load(path.name) for path in sorted(WORKFLOWS.glob("*.yml"))}


def steps(job: dict) -> list[dict]:
    return job.get("steps", [])


def runs(job: dict) -> str:
    """The job's run: scripts, without their comment lines."""
    return "\n".join(
        line for step in steps(job) for line in str(step.get("run", "")).splitlines() if not line.strip().startswith("#")
    )


def uses(step: dict) -> str:
    return str(step.get("uses", "")).split("@")[0]


def step_index(job: dict, predicate) -> int:
    (index,) = [i for i, step in enumerate(steps(job)) if predicate(step)]
    return index


def running(needle: str):
    return lambda step: needle in str(step.get("run", ""))


def all_jobs(workflows) -> list[tuple[str, str, dict]]:
    return [(name, job_id, job) for name, wf in workflows.items() for job_id, job in wf["jobs"].items()]


# --- a small evaluator for the `${{ }}` expressions of if: and concurrency: -------------------


class Context(dict):
    """A context object: missing properties are null, as in GitHub's expressions."""

    def __getattr__(self, name):
        value = self.get(name, None)
        return Context(value) if isinstance(value, dict) else value


def evaluate(expression, **contexts):
    """Evaluate the subset of GitHub's expression syntax the workflows use (&&, ||, !, ==, format)."""
    if isinstance(expression, bool):
        return expression
    text = str(expression).strip()
    if text.startswith("${{") and text.endswith("}}"):
        text = text[3:-2]
    # Outside string literals: operators and literals to Python's.
    parts = re.split(r"('(?:[^']|'')*')", text)
    for i in range(0, len(parts), 2):
        code = parts[i].replace("&&", " and ").replace("||", " or ")
        code = re.sub(r"!(?!=)", " not ", code)
        parts[i] = re.sub(r"\bfalse\b", "False", re.sub(r"\btrue\b", "True", code))
    text = "".join(parts)
    names = {key: Context(value) for key, value in contexts.items()}
    names["format"] = lambda template, *args: template.format(*args)
    return eval(" ".join(text.split()), {"__builtins__": {}}, names)  # noqa: S307 - our own files


def event(name: str, ref: str = "refs/heads/main", run_id: int = 1, pr: dict | None = None, actor: str = "alice") -> dict:
    github = {"event_name": name, "ref": ref, "run_id": run_id, "repository": "acme/rtstream", "event": {}, "actor": actor}
    if pr is not None:
        github["event"] = {"pull_request": pr}
    return github


# Repository variables as GitHub gives them to expressions: an unset one is ''.
DEPLOY_VARS = {"AWS_PULL_REQUEST_PLAN_ROLE_ARN": "arn:aws:iam::123456789012:role/github-actions/rtstream-prod-terraform-pull-request-plan",
               "AWS_PLAN_ROLE_ARN": "arn:aws:iam::123456789012:role/github-actions/rtstream-prod-terraform-plan"}
FORK_VARS = {"AWS_PULL_REQUEST_PLAN_ROLE_ARN": "", "AWS_PLAN_ROLE_ARN": ""}

SAME_REPO_PR = event("pull_request", ref="refs/pull/7/merge", pr={"number": 7, "head": {"repo": {"full_name": "acme/rtstream"}}})
FORK_PR = event("pull_request", ref="refs/pull/8/merge", pr={"number": 8, "head": {"repo": {"full_name": "mallory/rtstream"}}})
DEPENDABOT_PR = event("pull_request", ref="refs/pull/9/merge", pr={"number": 9, "head": {"repo": {"full_name": "acme/rtstream"}}}, actor="dependabot[bot]")
MAIN_PUSH = event("push")
MAIN_DISPATCH = event("workflow_dispatch")
BRANCH_DISPATCH = event("workflow_dispatch", ref="refs/heads/feature")


# --- running a step's script against stand-ins ---------------------------------------------------


class Workspace:
    """A scratch checkout for running `run:` scripts: .github/scripts and terraform/env copied,
    stand-in commands on PATH, GITHUB_OUTPUT and the job summary as files."""

    def __init__(self, root: Path):
        self.root = root
        shutil.copytree(SCRIPTS, root / ".github" / "scripts")
        shutil.copytree(TERRAFORM / "env", root / "terraform" / "env")
        self.bin = root / "bin"
        self.temp = root / "runner-temp"
        self.output = root / "github-output"
        self.summary = root / "step-summary"
        for directory in (self.bin, self.temp):
            directory.mkdir()
        for file in (self.output, self.summary):
            file.write_text("")

    def stub(self, name: str, script: str) -> None:
        path = self.bin / name
        path.write_text("#!/usr/bin/env bash\nset -euo pipefail\n" + script)
        path.chmod(0o755)

    def run(self, step: dict, env: dict | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
        """The step's script as the runner runs it (`bash -e`), in its working directory."""
        cwd = self.root / step.get("working-directory", ".")
        cwd.mkdir(parents=True, exist_ok=True)
        environment = {
            "PATH": f"{self.bin}:{os.environ['PATH']}",
            "HOME": str(self.root),
            "RUNNER_TEMP": str(self.temp),
            "GITHUB_OUTPUT": str(self.output),
            "GITHUB_STEP_SUMMARY": str(self.summary),
            "GITHUB_REPOSITORY": "acme/rtstream",
            "GITHUB_REF": "refs/heads/main",
            "GITHUB_SHA": "a" * 40,
            "GITHUB_RUN_ID": "4242",
            **(env or {}),
        }
        return subprocess.run(["bash", "--noprofile", "--norc", "-e", "-c", step["run"]], cwd=cwd, env=environment,
                              input=stdin, capture_output=True, text=True, timeout=120)

    def outputs(self) -> dict[str, str]:
        return dict(line.split("=", 1) for line in self.output.read_text().splitlines() if "=" in line)


@pytest.fixture
def workspace(tmp_path) -> Workspace:
    return Workspace(tmp_path / "checkout")


@pytest.fixture(scope="module")
def seal_keys(tmp_path_factory) -> dict[str, str]:
    """A throwaway pair like VERIFY_PUBLIC_KEY / VERIFY_PRIVATE_KEY."""
    directory = tmp_path_factory.mktemp("seal")
    private = directory / "private.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072", "-out", str(private)],
                   check=True, capture_output=True)
    public = subprocess.run(["openssl", "pkey", "-in", str(private), "-pubout"], check=True, capture_output=True, text=True).stdout
    return {"VERIFY_PUBLIC_KEY": public, "VERIFY_PRIVATE_KEY": private.read_text()}


def require(*tools: str) -> None:
    """The runner image has them all; a laptop may lack jq."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (installed on GitHub's runners)")


def step_named(job: dict, needle: str) -> dict:
    (step,) = [s for s in steps(job) if needle in str(s.get("name", ""))]
    return step


# --- pinning -----------------------------------------------------------------------------------

USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$")
PINNED = re.compile(r"^(?P<action>[\w.-]+/[\w./-]+)@(?P<sha>[0-9a-f]{40})$")
VERSION_COMMENT = re.compile(r"^\s*#\s*v\d+\.\d+\.\d+\s*$")


def uses_lines() -> list[tuple[str, int, str, str]]:
    found = []
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            match = USES.match(line)
            if match:
                found.append((path.name, number, match.group(1), match.group(2)))
    assert found
    return found


def test_every_action_is_pinned_to_a_commit_with_its_version():
    for name, number, ref, rest in uses_lines():
        if ref.startswith("./.github/workflows/"):
            continue  # this repository's reusable workflow, at the caller's own commit
        assert PINNED.match(ref), f"{name}:{number}: {ref} is not pinned to a full commit SHA"
        assert VERSION_COMMENT.match(rest), f"{name}:{number}: {ref} lacks its '# vX.Y.Z' comment"


def test_an_action_is_pinned_to_one_commit_everywhere():
    pins: dict[str, set[tuple[str, str]]] = {}
    for _, _, ref, rest in uses_lines():
        match = PINNED.match(ref)
        if match:
            pins.setdefault(match["action"], set()).add((match["sha"], rest.strip()))
    drifting = {action: sorted(p) for action, p in pins.items() if len(p) > 1}
    assert not drifting


# --- triggers and the job graph ---------------------------------------------------------------


def test_no_trigger_runs_untrusted_code_with_secrets(workflows):
    for name, wf in workflows.items():
        triggers = wf["on"] if isinstance(wf["on"], dict) else {t: None for t in wf["on"]}
        assert not {"pull_request_target", "workflow_run"} & set(triggers), name


def test_deploy_is_only_ever_called_by_ci(ci, deploy):
    assert set(deploy["on"]) == {"workflow_call"}
    callers = {job_id: job for job_id, job in ci["jobs"].items() if job.get("uses")}
    assert set(callers) == {"plan-pull-request", "deploy"}
    for job in callers.values():
        assert job["uses"] == "./.github/workflows/deploy.yml"
        assert "secrets" not in job, "environment secrets stay in the environments (no secrets: inherit)"


def test_main_deploys_only_after_every_ci_job_passed(ci):
    caller = ci["jobs"]["deploy"]
    checks = {job_id for job_id, job in ci["jobs"].items() if not job.get("uses")}
    assert set(caller["needs"]) == checks
    assert {"rust", "terraform", "checkov", "workflow-lint", "e2e"} <= checks
    assert evaluate(caller["if"], github=MAIN_PUSH, vars=DEPLOY_VARS)
    assert evaluate(caller["if"], github=MAIN_DISPATCH, vars=DEPLOY_VARS)
    for other in (SAME_REPO_PR, FORK_PR, BRANCH_DISPATCH):
        assert not evaluate(caller["if"], github=other, vars=DEPLOY_VARS)


def test_a_fork_running_ci_builds_and_plans_nothing(ci):
    # A fork's pushes to its own main, and the pull requests inside it, run ci.yml there too:
    # without this repository's variables the deploy is not even built.
    fork_push = {**MAIN_PUSH, "repository": "mallory/rtstream"}
    fork_internal_pr = {**SAME_REPO_PR, "repository": "mallory/rtstream",
                        "event": {"pull_request": {"number": 7, "head": {"repo": {"full_name": "mallory/rtstream"}}}}}
    assert not evaluate(ci["jobs"]["deploy"]["if"], github=fork_push, vars=FORK_VARS)
    assert not evaluate(ci["jobs"]["plan-pull-request"]["if"], github=fork_internal_pr, vars=FORK_VARS)
    assert evaluate(ci["jobs"]["plan-pull-request"]["if"], github=fork_internal_pr, vars=DEPLOY_VARS)


def test_pull_requests_plan_beside_ci_and_forks_and_dependabot_skip(ci, deploy):
    caller = ci["jobs"]["plan-pull-request"]
    assert "needs" not in caller
    job = deploy["jobs"]["pull-request-plan"]
    for condition in (caller["if"], job["if"]):
        assert evaluate(condition, github=SAME_REPO_PR, vars=DEPLOY_VARS)
        # Dependabot's runs get no secrets: its plan could only fail.
        for other in (FORK_PR, DEPENDABOT_PR, MAIN_PUSH, MAIN_DISPATCH):
            assert not evaluate(condition, github=other, vars=DEPLOY_VARS)
    # A person pushing to Dependabot's branch gets the plan again.
    assert evaluate(job["if"], github={**DEPENDABOT_PR, "actor": "alice"})


def test_the_main_jobs_of_deploy_never_run_for_a_pull_request(deploy):
    plan, apply = deploy["jobs"]["plan"], deploy["jobs"]["apply"]
    for github in (SAME_REPO_PR, FORK_PR, BRANCH_DISPATCH):
        assert not evaluate(plan["if"], github=github)
        assert not evaluate(apply["if"], github=github, needs={"plan": {"outputs": {"changes": "true"}}})
    assert evaluate(plan["if"], github=MAIN_PUSH)
    assert evaluate(apply["if"], github=MAIN_PUSH, needs={"plan": {"outputs": {"changes": "true"}}})
    # Nothing to apply, or no plan because main moved on: no approval is asked for.
    assert not evaluate(apply["if"], github=MAIN_PUSH, needs={"plan": {"outputs": {"changes": "false"}}})
    assert not evaluate(apply["if"], github=MAIN_PUSH, needs={"plan": {"outputs": {}}})
    # verify follows a successful apply only (needs without if: skipped when apply is).
    verify = deploy["jobs"]["verify"]
    assert verify["needs"] == ["plan", "apply"] and "if" not in verify


# --- concurrency --------------------------------------------------------------------------------


def test_pull_requests_cancel_their_own_runs_and_never_a_main_run(ci):
    concurrency = ci["concurrency"]

    def group(github):
        return evaluate(concurrency["group"], github=github)

    def cancels(github):
        return evaluate(concurrency["cancel-in-progress"], github=github)

    assert cancels(SAME_REPO_PR) and cancels(FORK_PR)
    assert not cancels(MAIN_PUSH) and not cancels(MAIN_DISPATCH)
    assert group(SAME_REPO_PR) == group(event("pull_request", ref="refs/pull/7/merge", run_id=2, pr=SAME_REPO_PR["event"]["pull_request"]))
    main_groups = {group(event("push", run_id=n)) for n in (1, 2)} | {group(event("workflow_dispatch", run_id=3))}
    assert len(main_groups) == 3, "two main runs in one group: the newer would replace a pending older one"
    assert group(SAME_REPO_PR) not in main_groups and group(FORK_PR) not in main_groups


def test_deploys_queue_one_after_another(ci, deploy):
    caller = ci["jobs"]["deploy"]
    assert caller["concurrency"]["cancel-in-progress"] is False
    assert caller["concurrency"]["group"] == "deploy-production"
    assert "concurrency" not in ci["jobs"]["plan-pull-request"], "a pull request must never join the deploy queue"
    apply = deploy["jobs"]["apply"]
    assert apply["concurrency"]["cancel-in-progress"] is False


# --- permissions --------------------------------------------------------------------------------


def test_workflows_grant_nothing_by_default(workflows):
    for name, wf in workflows.items():
        assert wf["permissions"] == {}, name


def test_every_job_asks_for_read_only_contents_and_at_most_an_oidc_token(workflows):
    for name, job_id, job in all_jobs(workflows):
        permissions = job.get("permissions")
        assert isinstance(permissions, dict), f"{name}/{job_id} must declare its permissions"
        assert permissions.get("contents") == "read", f"{name}/{job_id}"
        assert set(permissions) <= {"contents", "id-token"}, f"{name}/{job_id}: {permissions}"


def test_only_jobs_that_assume_a_role_get_an_oidc_token(workflows):
    for name, job_id, job in all_jobs(workflows):
        assumes = any(uses(step) == CONFIGURE_AWS for step in steps(job))
        calls_deploy = job.get("uses") == "./.github/workflows/deploy.yml"
        wants_token = job["permissions"].get("id-token") == "write"
        assert wants_token == (assumes or calls_deploy), f"{name}/{job_id}"


def test_checkouts_never_keep_the_token(workflows):
    for name, job_id, job in all_jobs(workflows):
        for step in steps(job):
            if uses(step) == "actions/checkout":
                assert step.get("with", {}).get("persist-credentials") is False, f"{name}/{job_id}"


def test_aws_credentials_reach_only_the_steps_that_name_them(deploy):
    for job_id, job in deploy["jobs"].items():
        for i, step in enumerate(steps(job)):
            if uses(step) == CONFIGURE_AWS:
                assert step["with"]["output-env-credentials"] is False, job_id
                assert step["id"] == "aws"
        for step in steps(job):
            env = step.get("env", {})
            if "AWS_SESSION_TOKEN" in env:
                assert re.search(r"\bterraform (init|plan|apply|output)\b|\baws kms\b", step["run"]), (job_id, step.get("name"))
            if "newman" in str(step.get("run", "")) or "scripts/probe" in str(step.get("run", "")):
                assert not any(k.startswith("AWS_") for k in env), (job_id, step.get("name"))


def test_every_aws_session_is_named_after_its_run(deploy):
    # CloudTrail shows which run and attempt made a call (role-session-name, at most 64 characters).
    sessions = []
    for job_id, job in deploy["jobs"].items():
        for step in steps(job):
            if uses(step) == CONFIGURE_AWS:
                name = step["with"]["role-session-name"]
                assert name.startswith("gha-${{ github.run_id }}-${{ github.run_attempt }}-"), (job_id, name)
                longest = name.replace("${{ github.run_id }}", "9" * 12).replace("${{ github.run_attempt }}", "999")
                assert re.fullmatch(r"[\w+=,.@-]{2,64}", longest), (job_id, longest)
                sessions.append(name)
    assert len(sessions) == len(set(sessions)) == 3


# --- the apply job runs no third-party code; verify has no AWS ---------------------------------

# What the apply job may run: GitHub's own actions, HashiCorp's Terraform, AWS's credentials action.
APPLY_ACTIONS = {"actions/checkout", "actions/download-artifact", "actions/upload-artifact", CONFIGURE_AWS, "hashicorp/setup-terraform"}


def test_the_apply_job_runs_nothing_from_npm_or_pypi(deploy):
    apply = deploy["jobs"]["apply"]
    assert {uses(step) for step in steps(apply) if "uses" in step} <= APPLY_ACTIONS
    command = runs(apply)
    for forbidden in ("npm", "npx", "newman", "pip", "python", "scripts/probe", "ensure_venv", "scripts/lib/common.sh"):
        assert not re.search(rf"(^|[\s/;|&(]){re.escape(forbidden)}\b", command, re.M), forbidden


def test_verify_has_no_aws_no_oidc_token_and_its_own_environment(deploy):
    verify = deploy["jobs"]["verify"]
    assert verify["environment"] == VERIFY
    assert verify["permissions"] == {"contents": "read"}
    assert not [s for s in steps(verify) if uses(s) == CONFIGURE_AWS]
    assert not any(key.startswith("AWS_") for step in steps(verify) for key in step.get("env", {}))
    assert "vars.AWS_" not in json.dumps(verify) and "aws " not in runs(verify)
    # newman and the probe run here, and only here.
    for job_id, job in deploy["jobs"].items():
        has = "newman run" in runs(job) or "scripts/probe" in runs(job)
        assert has == (job_id == "verify"), job_id


def test_verify_gets_names_from_apply_and_the_api_key_only_sealed(deploy):
    apply, verify = deploy["jobs"]["apply"], deploy["jobs"]["verify"]
    outputs = apply["outputs"]
    assert set(outputs) == {"api-url", "view", "warehouse", "reader-role", "probe-user", "delivery-mode", "sealed-api-key"}
    assert all(value == f"${{{{ steps.endpoints.outputs.{key} }}}}" for key, value in outputs.items())
    used = set(re.findall(r"needs\.apply\.outputs\.([\w-]+)", json.dumps(verify)))
    assert used == set(outputs)
    # From the plan job: the Snowflake account, as Terraform evaluated env/prod.tfvars.
    from_plan = set(re.findall(r"needs\.plan\.outputs\.([\w-]+)", json.dumps(verify)))
    assert from_plan == {"snowflake-organization", "snowflake-account"}
    plan_outputs = deploy["jobs"]["plan"]["outputs"]
    assert all(plan_outputs[key] == f"${{{{ steps.verify-settings.outputs.{key} }}}}" for key in from_plan)
    endpoints = steps(apply)[step_index(apply, lambda s: s.get("id") == "endpoints")]
    # The key's one way out of terraform output is through the seal (run below).
    assert "api-key-seal seal" in endpoints["run"]


def test_the_api_key_travels_sealed_from_apply_to_verify(deploy, workspace, seal_keys):
    """Run apply's endpoints step and verify's opening step: the key arrives, and no output shows it."""
    require("jq", "openssl")
    api_key = "Zq8y3Kp0s9VbXr1mT4nLwE7aC2dF6gH5jQ1uI0oP"
    outputs = {
        "api_url": "https://abc123.execute-api.eu-west-1.amazonaws.com/v1/events",
        "api_key": api_key,
        "dedup_view_name": "RTSTREAM_PROD.RAW.EVENTS_DEDUP",
        "warehouse_name": "RTSTREAM_PROD_WH",
        "reader_role_name": "RTSTREAM_PROD_READER",
        "probe_user_name": "RTSTREAM_PROD_PROBE",
        "delivery_mode": "snowpipe_streaming",
    }
    workspace.stub("terraform", 'test "$*" = "output -json"\ncat <<\'JSON\'\n'
                   + json.dumps({k: {"value": v, "sensitive": k == "api_key"} for k, v in outputs.items()}) + "\nJSON\n")
    apply, verify = deploy["jobs"]["apply"], deploy["jobs"]["verify"]
    endpoints = steps(apply)[step_index(apply, lambda s: s.get("id") == "endpoints")]
    result = workspace.run(endpoints, {"VERIFY_PUBLIC_KEY": seal_keys["VERIFY_PUBLIC_KEY"]})
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"::add-mask::{api_key}" in result.stdout
    written = workspace.outputs()
    assert written["api-url"] == outputs["api_url"] and written["probe-user"] == "RTSTREAM_PROD_PROBE"
    assert written["view"] == outputs["dedup_view_name"] and written["reader-role"] == "RTSTREAM_PROD_READER"
    assert written["delivery-mode"] == "snowpipe_streaming"
    assert api_key not in workspace.output.read_text()
    assert not list(workspace.temp.glob("outputs.json")), "terraform output (API key included) is removed"

    opening = step_named(verify, "Open the API key")
    assert opening["env"]["SEALED_API_KEY"] == "${{ needs.apply.outputs.sealed-api-key }}"
    result = workspace.run(opening, {"SEALED_API_KEY": written["sealed-api-key"], "VERIFY_PRIVATE_KEY": seal_keys["VERIFY_PRIVATE_KEY"]})
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"::add-mask::{api_key}" in result.stdout
    opened = workspace.temp / "api-key"
    assert opened.read_text() == api_key and opened.stat().st_mode & 0o077 == 0
    # Masked before newman and the probe, which read it from that file.
    later = steps(verify)[steps(verify).index(opening) + 1:]
    users = [s for s in later if "newman run" in s.get("run", "") or "probe.py" in s.get("run", "")]
    assert len(users) == 2 and all('"$RUNNER_TEMP/api-key"' in s["run"] for s in users)

    # Another key pair can't open it.
    other = subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072"], check=True,
                           capture_output=True, text=True).stdout
    assert workspace.run(opening, {"SEALED_API_KEY": written["sealed-api-key"], "VERIFY_PRIVATE_KEY": other}).returncode != 0


def test_verify_installs_nothing_while_it_holds_the_api_key(deploy):
    verify = deploy["jobs"]["verify"]
    opening = steps(verify).index(step_named(verify, "Open the API key"))
    installs = [i for i, s in enumerate(steps(verify)) if re.search(r"\b(npm ci|pip install)\b", s.get("run", "")) or "setup-" in uses(s)]
    assert installs and max(installs) < opening


# --- secrets ------------------------------------------------------------------------------------

SECRET = re.compile(r"secrets\.([A-Za-z0-9_]+)")


def secret_uses(value, path=()):
    """(path, secret name) of every secrets.X in a parsed workflow."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from secret_uses(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from secret_uses(item, (*path, index))
    elif isinstance(value, str):
        for name in SECRET.findall(value):
            yield path, name


def test_secrets_appear_only_in_step_env_of_environment_jobs(workflows):
    for name, wf in workflows.items():
        for path, secret in secret_uses(wf):
            assert path[0] == "jobs" and path[2] == "steps" and path[4] == "env", f"{name}: {secret} at {path}"
            job = wf["jobs"][path[1]]
            assert job.get("environment"), f"{name}/{path[1]} reads {secret} outside an environment"
        assert "secrets: inherit" not in (WORKFLOWS / name).read_text()


def test_build_and_test_jobs_see_no_secret(ci, deploy):
    for wf, job_ids in ((ci, ["rust", "terraform", "checkov", "workflow-lint", "probe-packages", "e2e"]), (deploy, ["build"])):
        for job_id in job_ids:
            job = wf["jobs"][job_id]
            assert not list(secret_uses(job)), job_id
            assert "environment" not in job and "id-token" not in job["permissions"], job_id


def test_snowflake_keys_only_where_terraform_or_the_probe_runs(deploy):
    seen = set()
    for path, secret in secret_uses(deploy):
        job_id, index = path[1], path[3]
        step = deploy["jobs"][job_id]["steps"][index]
        seen.add(secret)
        if secret in DEPLOYER_SECRETS:
            assert re.search(r"\bterraform (plan|apply)\b", step["run"]), (job_id, step.get("name"))
            assert job_id != "verify", "the deployer's key never where third-party code runs"
            assert path[5] == secret, "the provider reads SNOWFLAKE_PRIVATE_KEY(_PASSPHRASE) from the environment"
        elif secret in PROBE_SECRETS:
            assert "scripts/probe.py" in step["run"] and job_id == "verify"
            assert path[5] == secret.replace("_PROBE", ""), "scripts/probe.py reads SNOWFLAKE_PRIVATE_KEY(_PASSPHRASE)"
        elif secret == SEAL_SECRET:
            assert "api-key-seal open" in step["run"] and job_id == "verify"
        else:
            pytest.fail(f"unexpected secret {secret} in {job_id}")
        assert not any(str(v).startswith("TF_VAR_") for v in path)
    assert seen == DEPLOYER_SECRETS | PROBE_SECRETS | {SEAL_SECRET}


# --- roles and environments --------------------------------------------------------------------


@pytest.fixture(scope="module")
def bootstrap() -> dict:
    variables = {name: body for path in BOOTSTRAP.glob("*.tf") for name, body in hcl.blocks(hcl.load(path), "variable")}
    return {name: body.get("default") for name, body in variables.items()}


@pytest.fixture(scope="module")
def bootstrap_roles() -> dict[str, dict]:
    """local.roles of terraform/bootstrap/main.tf: role key -> its settings (subjects as a list,
    whichever shape the parser gave a one-element list)."""
    roles = hcl.as_map(hcl.locals_of(hcl.load(BOOTSTRAP / "main.tf"))["roles"])
    return {key: {**role, "subjects": role["subjects"] if isinstance(role["subjects"], list) else [role["subjects"]]}
            for key, role in roles.items()}


def test_each_job_assumes_the_role_its_environment_is_trusted_for(deploy, bootstrap, bootstrap_roles):
    # Which environments each role trusts: the subjects of local.roles, resolved.
    environment_of = {
        "${local.subject.pull_request_plan}": bootstrap["pull_request_plan_environment"],
        "${local.subject.main_plan}": bootstrap["main_plan_environment"],
        "${local.subject.apply}": bootstrap["apply_environment"],
    }
    trusted = {key: {environment_of[s] for s in role["subjects"]} for key, role in bootstrap_roles.items()}
    assert trusted == {"pull_request_plan": {PR_PLAN}, "plan": {MAIN_PLAN}, "apply": {APPLY}}, "one environment per role"
    outputs = hcl.as_map(next(body for name, body in hcl.blocks(hcl.load(BOOTSTRAP / "outputs.tf"), "output") if name == "github_variables")["value"])
    variable_role = {variable: re.search(r'github\["(\w+)"\]', ref).group(1) for variable, ref in outputs.items() if "aws_iam_role" in ref}
    assert variable_role == {"AWS_PULL_REQUEST_PLAN_ROLE_ARN": "pull_request_plan", "AWS_PLAN_ROLE_ARN": "plan", "AWS_APPLY_ROLE_ARN": "apply"}
    expected = {"pull-request-plan": (PR_PLAN, "AWS_PULL_REQUEST_PLAN_ROLE_ARN"), "plan": (MAIN_PLAN, "AWS_PLAN_ROLE_ARN"), "apply": (APPLY, "AWS_APPLY_ROLE_ARN")}
    for job_id, job in deploy["jobs"].items():
        roles = [step["with"]["role-to-assume"] for step in steps(job) if uses(step) == CONFIGURE_AWS]
        if job_id not in expected:
            assert not roles, job_id
            continue
        environment, variable = expected[job_id]
        assert job["environment"] == environment
        assert roles == [f"${{{{ vars.{variable} }}}}"], job_id
        assert environment in trusted[variable_role[variable]], f"{variable} does not trust environment {environment}"


def test_only_main_plan_and_apply_get_read_only_access(bootstrap_roles):
    # The pull-request plan role reads the state object and nothing else (the tftest of
    # terraform/bootstrap checks the rendered policy); the others lose the data reads.
    main = hcl.load(BOOTSTRAP / "main.tf")
    resources = {(t, n): body for t, n, body in hcl.typed_blocks(main, "resource")}
    read_only = resources[("aws_iam_role_policy_attachment", "read_only")]
    assert "if role.read_only" in read_only["for_each"]
    assert {key: role["read_only"] for key, role in bootstrap_roles.items()} == {"pull_request_plan": False, "plan": True, "apply": True}
    assert resources[("aws_iam_role_policy", "deny_data_reads")]["for_each"] == "${aws_iam_role_policy_attachment.read_only}"
    assert resources[("aws_iam_role_policy", "pull_request_plan")]["policy"] == "${data.aws_iam_policy_document.pull_request_plan.json}"
    # The state's key lets both plan roles decrypt the state object, through S3 only.
    key_policy = next(body for t, n, body in hcl.typed_blocks(hcl.load(BOOTSTRAP / "state.tf"), "data") if n == "kms")
    (read_state,) = [s for s in key_policy["statement"] if s.get("sid") == "PlanRolesReadTheState"]
    assert read_state["principals"][0]["identifiers"] == ['${aws_iam_role.github["plan"].arn}', '${aws_iam_role.github["pull_request_plan"].arn}']
    assert read_state["actions"] == ["kms:Decrypt"]
    assert {c["variable"] for c in read_state["condition"]} == {"kms:ViaService", "kms:EncryptionContext:aws:s3:arn"}


def test_the_bootstrap_tests_run_in_ci(ci):
    # terraform/bootstrap/tests renders the roles' policies: boundary, pinned key, data reads.
    assert sorted(p.name for p in (BOOTSTRAP / "tests").glob("*.tftest.hcl")) == ["policies.tftest.hcl"]
    assert "terraform -chdir=terraform/bootstrap test" in runs(ci["jobs"]["terraform"])


def test_every_role_of_the_stack_carries_the_boundary_variable():
    """The apply role may create a role only with the workload boundary: each aws_iam_role of the
    stack takes var.iam_permissions_boundary_arn, and every module call passes it down."""
    roles = []
    for path in sorted(TERRAFORM.rglob("*.tf")):
        if BOOTSTRAP in path.parents or ".terraform" in path.parts:
            continue
        tree = hcl.load(path)
        for rtype, name, body in hcl.typed_blocks(tree, "resource"):
            if rtype == "aws_iam_role":
                roles.append(f"{path.parent.name}.{name}")
                assert body.get("permissions_boundary") == "${var.iam_permissions_boundary_arn}", (path, name)
        for name, body in hcl.blocks(tree, "module"):
            source = (path.parent / body["source"]).resolve()
            declared = {n for f in source.glob("*.tf") for n, _ in hcl.blocks(hcl.load(f), "variable")}
            if "iam_permissions_boundary_arn" in declared:
                assert body.get("iam_permissions_boundary_arn") == "${var.iam_permissions_boundary_arn}", (path, name)
    assert sorted(roles) == ["delivery.firehose", "lambda_function.this", "snowflake.snowflake"]
    modules_with_roles = {"api", "delivery", "lambda_function", "snowflake"}
    for module in modules_with_roles:
        assert "iam_permissions_boundary_arn" in {n for f in (MODULES / module).glob("*.tf") for n, _ in hcl.blocks(hcl.load(f), "variable")}
    root = {n: b for f in TERRAFORM.glob("*.tf") for n, b in hcl.blocks(hcl.load(f), "variable")}
    assert root["iam_permissions_boundary_arn"]["default"] is None


def test_the_boundary_the_stack_gets_is_the_one_the_apply_role_demands():
    main = hcl.load(BOOTSTRAP / "main.tf")
    boundary_arn = hcl.locals_of(main)["workload_boundary_arn"]
    resource = next(body for t, n, body in hcl.typed_blocks(main, "resource") if (t, n) == ("aws_iam_policy", "workload_boundary"))
    assert boundary_arn.endswith("policy${local.role_path}${var.name_prefix}-workload-boundary")
    assert resource["name"] == "${var.name_prefix}-workload-boundary" and resource["path"] == "${local.role_path}"
    output = next(body for name, body in hcl.blocks(hcl.load(BOOTSTRAP / "outputs.tf"), "output") if name == "workload_boundary_arn")
    assert output["value"] == "${aws_iam_policy.workload_boundary.arn}"


# The sub of the repository's custom template repo, context, ref (terraform/bootstrap/README.md).
SUBJECT_TEMPLATE = ["repo", "context", "ref"]


def test_bootstrap_roles_trust_their_environment_on_a_ref(bootstrap_roles):
    main = hcl.load(BOOTSTRAP / "main.tf")
    local = hcl.locals_of(main)
    prefix = "repo:${local.subject_repository}:environment:"
    assert hcl.as_map(local["subject"]) == {
        "pull_request_plan": prefix + "${var.pull_request_plan_environment}:ref:refs/pull/*/merge",
        "main_plan": prefix + "${var.main_plan_environment}:ref:${local.deploy_ref}",
        "apply": prefix + "${var.apply_environment}:ref:${local.deploy_ref}",
    }
    assert local["deploy_ref"] == "refs/heads/main"
    # Both forms of the repository in `sub`: OWNER/REPO, or OWNER@ID/REPO@ID (immutable claims).
    text = (BOOTSTRAP / "main.tf").read_text()
    assert "? var.github_repository" in text and "@${var.github_repository_ids.repository_id}" in text
    # The one wildcard: a pull request's number, compared with StringLike; exact everywhere else.
    assert {key: role["subject_test"] for key, role in bootstrap_roles.items()} == {
        "pull_request_plan": "StringLike", "plan": "StringEquals", "apply": "StringEquals"}
    trust = next(body for t, n, body in hcl.typed_blocks(main, "data") if (t, n) == ("aws_iam_policy_document", "trust"))
    (statement,) = trust["statement"]
    conditions = {c["variable"]: c for c in statement["condition"]}
    assert set(conditions) == {"${local.github_oidc_host}:aud", "${local.github_oidc_host}:sub"}
    assert conditions["${local.github_oidc_host}:aud"]["test"] == "StringEquals"
    assert conditions["${local.github_oidc_host}:aud"]["values"] == ["${local.oidc_audience}"]
    assert conditions["${local.github_oidc_host}:sub"]["test"] == "${each.value.subject_test}"
    assert conditions["${local.github_oidc_host}:sub"]["values"] == "${each.value.subjects}"


def test_the_documented_subject_template_is_the_one_the_roles_expect():
    # The command the bootstrap prints and the READMEs show: repo, context, ref, in that order,
    # use_default a JSON boolean (gh api -F), not the string "false" (-f).
    command = next(body for name, body in hcl.blocks(hcl.load(BOOTSTRAP / "outputs.tf"), "output")
                   if name == "oidc_subject_template_command")["value"]
    expected = "-F use_default=false " + " ".join(f"-f 'include_claim_keys[]={key}'" for key in SUBJECT_TEMPLATE)
    for text in (command, (BOOTSTRAP / "README.md").read_text(), (REPO / "docs" / "deploy.md").read_text()):
        joined = re.sub(r"\\\n\s*", "", text)  # shell line continuations
        found = re.findall(r"gh api -X PUT repos/\S+/actions/oidc/customization/sub (.*)$", joined, re.M)
        assert found and all(arguments.strip() == expected for arguments in found), found


def test_the_apply_role_gets_a_scoped_policy_never_admin():
    text = "\n".join(path.read_text() for path in BOOTSTRAP.glob("*.tf"))
    assert "AdministratorAccess" not in text and "PowerUserAccess" not in text
    assert "policy/ReadOnlyAccess" in text


def test_plans_take_no_lock_because_the_plan_roles_write_nothing(deploy):
    documents = {n: body for t, n, body in hcl.typed_blocks(hcl.load(BOOTSTRAP / "policies.tf"), "data")}
    actions = {a for name in ("plan", "pull_request_plan") for s in documents[name]["statement"] for a in s["actions"]}
    assert not {a for a in actions if a.startswith("s3:") and a not in {"s3:GetObject", "s3:ListBucket"}}
    for job_id in ("pull-request-plan", "plan"):
        command = runs(deploy["jobs"][job_id])
        assert re.search(r"terraform plan [^\n]*-lock=false", command), job_id


def test_pull_request_plans_read_no_object_and_main_plans_refresh(deploy):
    # The planner's Snowflake user has no privilege: the pull request plan must not refresh.
    # The plan reviewers approve must see drift: main's plan refreshes.
    pull_request, main = (runs(deploy["jobs"][job_id]) for job_id in ("pull-request-plan", "plan"))
    assert re.search(r"terraform plan [^\n]*-refresh=false", pull_request)
    assert '-var="snowflake_user=$PLANNER_USER"' in pull_request and '-var="snowflake_role=$PLANNER_ROLE"' in pull_request
    assert "-refresh=false" not in main and "snowflake_user" not in main


def test_terraform_uses_the_committed_prod_settings(deploy, bootstrap):
    for job_id in ("pull-request-plan", "plan", "apply"):
        assert re.search(r"terraform init -input=false (-lockfile=readonly )?-backend-config=env/prod.backend.hcl\n", runs(deploy["jobs"][job_id]) + "\n")
    for job_id in ("pull-request-plan", "plan"):
        assert "-var-file=env/prod.tfvars" in runs(deploy["jobs"][job_id])
    backend = hcl.load(TERRAFORM / "env" / "prod.backend.hcl")
    settings = hcl.load(TERRAFORM / "env" / "prod.tfvars")
    assert backend["key"] == bootstrap["state_key"], "the roles must be scoped to the state the workflow uses"
    assert settings["name_prefix"] == bootstrap["name_prefix"], "the apply role must be scoped to prod's names"
    assert hcl.as_map(settings["tags"])["Environment"] == hcl.as_map(bootstrap["deployment_tags"])["Environment"]
    # The boundary the apply role demands (terraform output workload_boundary_arn of the bootstrap).
    boundary = settings.get("iam_permissions_boundary_arn")
    if boundary is not None:
        assert re.fullmatch(rf"arn:aws:iam::\d{{12}}:policy/github-actions/{settings['name_prefix']}-workload-boundary", boundary), boundary


# --- the reviewed plan is the applied plan ----------------------------------------------------


def uploads(job: dict) -> dict[str, dict]:
    return {s["with"]["name"]: s for s in steps(job) if uses(s) == "actions/upload-artifact"}


def test_main_plan_is_saved_encrypted_and_shown(deploy):
    plan = deploy["jobs"]["plan"]
    command = runs(plan)
    assert re.search(r"terraform plan [^\n]*\\\n[^\n]*-out=tfplan", command) or "-out=tfplan" in command
    summary = step_named(plan, "Plan in the job summary")
    assert "terraform show -no-color tfplan > \"$RUNNER_TEMP/plan.txt\"" in summary["run"]
    assert ".github/scripts/plan-summary \"$RUNNER_TEMP/plan.txt\"" in summary["run"]
    seal = steps(plan)[step_index(plan, running("aws kms generate-data-key"))]
    assert "openssl enc -aes-256-cbc" in seal["run"] and "rm tfplan" in seal["run"]
    artifacts = uploads(plan)
    assert set(artifacts) == {"tfplan", "tfplan-text"}
    assert sorted(artifacts["tfplan"]["with"]["path"].split()) == ["terraform/tfplan.enc", "terraform/tfplan.key", "terraform/tfplan.lock.hcl"]
    # The whole plan text, as shown (terraform show hides sensitive values): the summary may be cut.
    assert artifacts["tfplan-text"]["with"]["path"] == "${{ runner.temp }}/plan.txt"
    assert plan["outputs"]["checksums"] == "${{ steps.seal.outputs.checksums }}"


def test_what_the_apply_downloads_outlives_a_waiting_approval(deploy):
    build, plan, apply = (deploy["jobs"][j] for j in ("build", "plan", "apply"))
    downloaded = {s["with"]["name"] for s in steps(apply) if uses(s) == "actions/download-artifact"}
    assert downloaded == {"lambda-zips", "tfplan"}
    retention = {name: step["with"]["retention-days"] for job in (build, plan) for name, step in uploads(job).items()}
    # The plan is uploaded after its job's approval, and waits for one more (the apply's).
    assert retention["tfplan"] >= APPROVAL_WAIT_DAYS and retention["tfplan-text"] >= APPROVAL_WAIT_DAYS
    # The zips are uploaded before both: the plan's approval, then the apply's.
    zips = retention["lambda-zips"]
    for github in (MAIN_PUSH, MAIN_DISPATCH):
        assert evaluate(zips, github=github) >= 2 * APPROVAL_WAIT_DAYS
    assert evaluate(zips, github=SAME_REPO_PR) <= 7, "pull requests' zips are never applied"


def test_a_re_run_can_upload_its_artifacts_again(deploy):
    # An artifact name is taken for the whole run: a re-run of the build or a plan would fail
    # with 409 on upload. Those replace the earlier attempt's (their checksums travel in the
    # same attempt's outputs); the errored state of a failed apply is kept per attempt.
    for job_id, job in deploy["jobs"].items():
        for name, step in uploads(job).items():
            if name.startswith("errored-tfstate"):
                assert name == "errored-tfstate-${{ github.run_attempt }}" and "overwrite" not in step["with"]
            else:
                assert step["with"].get("overwrite") is True, (job_id, name)
    # What the apply checks its downloads against comes from the jobs that uploaded them.
    apply = deploy["jobs"]["apply"]
    check = steps(apply)[step_index(apply, running("sha256sum --check"))]
    assert check["env"] == {"ZIP_CHECKSUMS": "${{ needs.build.outputs.checksums }}", "PLAN_CHECKSUMS": "${{ needs.plan.outputs.checksums }}"}


def test_apply_runs_exactly_the_saved_plan_after_checking_it(deploy):
    apply = deploy["jobs"]["apply"]
    assert set(apply["needs"]) == {"build", "plan"}
    verify = step_index(apply, running("sha256sum --check"))
    assert steps(apply)[verify]["env"]["PLAN_CHECKSUMS"] == "${{ needs.plan.outputs.checksums }}"
    decrypt = step_index(apply, running("aws kms decrypt"))
    applying = step_index(apply, running("terraform apply"))
    assert verify < decrypt < applying
    # The same provider versions and checksums as the plan: its lock file, read-only.
    init = steps(apply)[step_index(apply, running("terraform init"))]["run"]
    assert "mv tfplan.lock.hcl .terraform.lock.hcl" in init and "-lockfile=readonly" in init
    command = steps(apply)[applying]["run"]
    assert re.search(r"terraform apply -input=false -no-color -lock-timeout=\S+ tfplan\n", command)
    for forbidden in ("-auto-approve", "-var", "-target", "-replace", "-refresh"):
        assert forbidden not in command


def test_nothing_else_applies(workflows):
    for name, job_id, job in all_jobs(workflows):
        if (name, job_id) != ("deploy.yml", "apply"):
            assert "terraform apply" not in runs(job) and "terraform destroy" not in runs(job), f"{name}/{job_id}"


def test_saved_plans_decrypt_only_for_the_apply_role(deploy):
    policy = next(body for t, n, body in hcl.typed_blocks(hcl.load(BOOTSTRAP / "state.tf"), "data") if n == "kms")
    statements = {s.get("sid"): s for s in policy["statement"]}
    encrypt, decrypt = statements["PlanJobsEncryptSavedPlans"], statements["ApplyJobDecryptsSavedPlans"]
    assert encrypt["actions"] == ["kms:GenerateDataKey"] and "plan" in str(encrypt["principals"])
    assert decrypt["actions"] == ["kms:Decrypt"] and "apply" in str(decrypt["principals"])
    purpose = hcl.compact(hcl.locals_of(hcl.load(BOOTSTRAP / "state.tf"))["plan_encryption_purpose"])
    for job_id in ("plan", "apply"):
        assert f"purpose={purpose}," in runs(deploy["jobs"][job_id])


def test_a_failed_apply_keeps_errored_state_encrypted_for_an_administrator(deploy):
    apply = deploy["jobs"]["apply"]
    applying = step_index(apply, lambda s: s.get("id") == "apply")
    encrypt = step_named(apply, "errored.tfstate")
    assert encrypt["if"] == "failure() && steps.apply.outcome == 'failure'"
    assert steps(apply).index(encrypt) > applying
    purpose = hcl.compact(hcl.locals_of(hcl.load(BOOTSTRAP / "state.tf"))["errored_state_encryption_purpose"])
    assert f"purpose={purpose},repository=${{GITHUB_REPOSITORY}},run=${{GITHUB_RUN_ID}}" in encrypt["run"]
    upload = uploads(apply)["errored-tfstate-${{ github.run_attempt }}"]
    assert "errored-tfstate-${GITHUB_RUN_ATTEMPT} of run ${GITHUB_RUN_ID}" in encrypt["run"]
    assert upload["if"] == encrypt["if"]
    assert sorted(upload["with"]["path"].split()) == ["terraform/errored.tfstate.enc", "terraform/errored.tfstate.key"]
    # Only the apply role may get such a data key, and none may decrypt it but an administrator.
    key_policy = next(body for t, n, body in hcl.typed_blocks(hcl.load(BOOTSTRAP / "state.tf"), "data") if n == "kms")
    granted = [s for s in key_policy["statement"]
               if any(c["values"] == ["${local.errored_state_encryption_purpose}"] for c in s.get("condition", []))]
    assert [(s["actions"], s["principals"][0]["identifiers"]) for s in granted] == [(["kms:GenerateDataKey"], ['${aws_iam_role.github["apply"].arn}'])]


def test_errored_state_is_encrypted_and_the_plaintext_removed(deploy, workspace):
    step = step_named(deploy["jobs"]["apply"], "errored.tfstate")
    workspace.stub("aws", 'test "$1 $2" = "kms generate-data-key"\n'
                   'printf \'%s\\t%s\\n\' "ZGF0YS1rZXktcGxhaW50ZXh0" "$(printf wrapped-key | base64)"\n')
    env = {"TF_PLAN_KMS_KEY_ARN": "arn:aws:kms:eu-west-1:123456789012:key/x"}
    result = workspace.run(step, env)
    assert result.returncode == 0 and "No errored.tfstate" in result.stdout
    state = workspace.root / "terraform" / "errored.tfstate"
    state.write_text('{"version": 4, "resources": ["the api key lives here"]}')
    result = workspace.run(step, env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not state.exists()
    assert (workspace.root / "terraform" / "errored.tfstate.key").read_bytes() == b"wrapped-key"
    decrypted = subprocess.run(["openssl", "enc", "-d", "-aes-256-cbc", "-pbkdf2", "-iter", "100000", "-in", "terraform/errored.tfstate.enc",
                                "-pass", "pass:ZGF0YS1rZXktcGxhaW50ZXh0"], cwd=workspace.root, capture_output=True, text=True, check=True)
    assert "the api key lives here" in decrypted.stdout
    assert "::add-mask::ZGF0YS1rZXktcGxhaW50ZXh0" in result.stdout


# --- no older commit over a newer one -----------------------------------------------------------


def test_the_plan_is_skipped_and_the_apply_refused_unless_the_commit_is_the_head_of_main(deploy):
    plan, apply = deploy["jobs"]["plan"], deploy["jobs"]["apply"]
    check = steps(plan)[step_index(plan, running("head-of-main"))]
    assert check["id"] == "head" and check["run"].strip() == ".github/scripts/head-of-main"
    assert check["env"] == {"GH_TOKEN": "${{ github.token }}"}
    index = steps(plan).index(check)
    planning = step_index(plan, lambda s: s.get("id") == "plan")
    assert index < planning
    # Everything after the check, the plan included, runs only for the head of main.
    for step in steps(plan)[index + 1:]:
        assert step.get("if") == "steps.head.outputs.current == 'true'", step.get("name", step.get("uses"))
    refuse = steps(apply)[step_index(apply, running("head-of-main"))]
    assert refuse["run"].strip() == ".github/scripts/head-of-main --require" and "if" not in refuse
    assert steps(apply).index(refuse) < step_index(apply, running("terraform apply"))
    assert refuse["env"] == {"GH_TOKEN": "${{ github.token }}"}


@pytest.mark.parametrize("head, expected", [("a" * 40, "true"), ("b" * 40, "false")])
def test_head_of_main_reads_the_branch_through_the_api(workspace, head, expected):
    workspace.stub("gh", f'test "$*" = "api repos/acme/rtstream/git/ref/heads/main --jq .object.sha"\n'
                         f'test "$GH_TOKEN" = token\necho {head}\n')
    step = {"run": ".github/scripts/head-of-main"}
    result = workspace.run(step, {"GH_TOKEN": "token"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert workspace.outputs() == {"current": expected}
    if expected == "false":
        assert "::notice::" in result.stdout and "Skipped" in workspace.summary.read_text()
    refused = workspace.run({"run": ".github/scripts/head-of-main --require"}, {"GH_TOKEN": "token"})
    assert (refused.returncode == 0) == (expected == "true")
    if expected == "false":
        assert "::error::" in refused.stdout and "not applied" in refused.stdout


def test_head_of_main_fails_when_it_cannot_tell(workspace):
    workspace.stub("gh", "echo 'HTTP 404: Not Found' >&2\nexit 1\n")
    result = workspace.run({"run": ".github/scripts/head-of-main"}, {"GH_TOKEN": "token"})
    assert result.returncode != 0 and workspace.outputs() == {}


# --- the plan reviewers see --------------------------------------------------------------------


def test_both_plans_are_shown_with_the_summary_script_and_kept_whole(deploy):
    for job_id in ("pull-request-plan", "plan"):
        job = deploy["jobs"][job_id]
        summary = step_named(job, "Plan in the job summary")
        assert re.search(r"\.github/scripts/plan-summary \"\$RUNNER_TEMP/plan\.txt\" \\\n\s+'[^']+' tfplan-text", summary["run"]), job_id
        assert "GITHUB_STEP_SUMMARY" not in summary["run"], "only the script writes the plan to the summary"
        assert uploads(job)["tfplan-text"]["with"]["path"] == "${{ runner.temp }}/plan.txt"
        assert steps(job).index(summary) < steps(job).index(uploads(job)["tfplan-text"])


def code_blocks(markdown: str) -> list[tuple[int, int | None]]:
    """(opening line, closing line or None) of each backtick-fenced code block, as CommonMark
    reads them: a block closes only on a line of backticks at least as long as its opening."""
    blocks, opened, width = [], None, 0
    for number, line in enumerate(markdown.splitlines()):
        match = re.match(r"^ {0,3}(`{3,})\s*$", line) or (None if opened is not None else re.match(r"^ {0,3}(`{3,})", line))
        if not match:
            continue
        if opened is None:
            opened, width = number, len(match.group(1))
        elif len(match.group(1)) >= width:
            blocks.append((opened, number))
            opened = None
    if opened is not None:
        blocks.append((opened, None))
    return blocks


def test_a_plan_with_backticks_cannot_close_its_fence(workspace):
    plan = workspace.temp / "plan.txt"
    plan.write_text('  # aws_lambda_function.this will be updated\n  ~ description = "```"\n````\nafter ```` four\n  }\n')
    result = workspace.run({"run": '.github/scripts/plan-summary "$RUNNER_TEMP/plan.txt" "the plan" tfplan-text "No changes."'})
    assert result.returncode == 0, result.stderr
    text = workspace.summary.read_text()
    ((opening, closing),) = code_blocks(text)
    assert closing == len(text.splitlines()) - 1, text
    assert text.startswith("### the plan\nNo changes.\n")
    assert text.splitlines()[opening + 1:closing] == plan.read_text().splitlines()
    assert "Truncated" not in text
    # The same plan in a plain ``` fence would have ended the block at the line ````.
    naive = "```\n" + plan.read_text() + "```\n"
    assert code_blocks(naive)[0][1] != len(naive.splitlines()) - 1


def test_a_long_plan_is_cut_at_a_line_with_a_notice(workspace):
    plan = workspace.temp / "plan.txt"
    lines = [f"  + resource line {n:05d} ✓" for n in range(2000)]
    plan.write_text("\n".join(lines))  # no final newline either
    result = workspace.run({"run": '.github/scripts/plan-summary "$RUNNER_TEMP/plan.txt" "the plan" tfplan-text'},
                           {"PLAN_SUMMARY_LIMIT": "10000"})
    assert result.returncode == 0, result.stderr
    text = workspace.summary.read_text()
    ((opening, closing),) = code_blocks(text)
    assert closing == len(text.splitlines()) - 1
    body = text.splitlines()[opening + 1:closing]
    assert body and body == lines[:len(body)], "whole lines only, in order"
    shown = len("\n".join(body).encode()) + 1
    assert 10000 - len(lines[0].encode()) - 1 < shown <= 10000, "as many whole lines as fit"
    assert f"the plan is {plan.stat().st_size} bytes; this summary shows its first {shown}." in text
    assert "artifact `tfplan-text`" in text
    # Short enough: whole, and the fence still closes on a line of its own.
    plan.write_text("one line without newline")
    workspace.summary.write_text("")
    workspace.run({"run": '.github/scripts/plan-summary "$RUNNER_TEMP/plan.txt" "t" tfplan-text'})
    assert workspace.summary.read_text().splitlines()[-2:] == ["one line without newline", "```"]


def test_a_nul_or_a_stray_byte_cannot_hide_the_backticks(workspace):
    # grep calls a file with a NUL (or, in a UTF-8 locale, a byte that is not UTF-8) binary
    # and prints no match: the fence would stay at 3 and ``` in a value would end it.
    plan = workspace.temp / "plan.txt"
    plan.write_bytes(b'  ~ value = "\x00"\n  ~ other = "\xff\xfe"\n```\n# escaped: **bold** [link](https://example.com)\n`````` six\n')
    result = workspace.run({"run": '.github/scripts/plan-summary "$RUNNER_TEMP/plan.txt" "the plan" tfplan-text'})
    assert result.returncode == 0, result.stderr
    text = workspace.summary.read_bytes().decode("utf-8", "surrogateescape")
    lines = text.splitlines()
    assert lines[2] == "`" * 7 and lines[-1] == "`" * 7
    ((opening, closing),) = code_blocks(text)
    assert (opening, closing) == (2, len(lines) - 1)
    assert workspace.summary.read_bytes().count(plan.read_bytes()) == 1, "the plan, byte for byte"


def test_a_plan_ending_in_a_nul_still_gets_its_closing_fence_on_a_line_of_its_own(workspace):
    plan = workspace.temp / "plan.txt"
    plan.write_bytes(b"  + x = 1\n\x00")
    result = workspace.run({"run": '.github/scripts/plan-summary "$RUNNER_TEMP/plan.txt" "the plan" tfplan-text'})
    assert result.returncode == 0, result.stderr
    assert workspace.summary.read_bytes().endswith(b"\x00\n```\n")


def test_a_single_line_longer_than_the_limit_is_cut_inside_it(workspace):
    plan = workspace.temp / "plan.txt"
    line = "  ~ policy = \"" + "é✓" * 4000 + "\" ```` \n"
    plan.write_text(line + "  + next line\n")
    result = workspace.run({"run": '.github/scripts/plan-summary "$RUNNER_TEMP/plan.txt" "the plan" tfplan-text'},
                           {"PLAN_SUMMARY_LIMIT": "10000"})
    assert result.returncode == 0, result.stderr
    # 10000 bytes end in the first byte of an é: the cut leaves it out, and the text stays UTF-8.
    text = workspace.summary.read_bytes().decode("utf-8")
    ((opening, closing),) = code_blocks(text)
    (body,) = text.splitlines()[opening + 1:closing]
    assert line.startswith(body) and len(body.encode()) == 9999
    assert f"this summary shows its first {len(body.encode())}." in text
    # The backticks beyond the cut still size the fence: it closes on its own line.
    assert text.splitlines()[opening] == "`" * 5 and closing == len(text.splitlines()) - 1


# --- what verify needs, checked before anything changes ----------------------------------------


PLAN_JSON_STUB = 'test "$*" = "show -json tfplan"\ncat "$PLAN_JSON"\n'


PROBE_KEY = {"snowflake_probe_rsa_public_key": {"value": "MIIBIjANBgkqh"}}
ACCOUNT = {"snowflake_organization_name": {"value": "MYORG"}, "snowflake_account_name": {"value": "MY_ACCOUNT"}}


@pytest.mark.parametrize("variables, ok, named", [
    ({**PROBE_KEY, **ACCOUNT}, True, None),
    ({**ACCOUNT}, False, "snowflake_probe_rsa_public_key"),
    ({"snowflake_probe_rsa_public_key": {"value": None}, **ACCOUNT}, False, "snowflake_probe_rsa_public_key"),
    ({"snowflake_probe_rsa_public_key": {"value": ""}, **ACCOUNT}, False, "snowflake_probe_rsa_public_key"),
    ({**PROBE_KEY, "snowflake_account_name": {"value": "MY_ACCOUNT"}}, False, "snowflake_organization_name"),
    # One line each: a value with a newline could write outputs of its own.
    ({**PROBE_KEY, **ACCOUNT, "snowflake_account_name": {"value": "X\nsnowflake-organization=EVIL"}}, False, "snowflake_account_name"),
])
def test_the_plan_fails_without_what_verify_needs(deploy, workspace, seal_keys, variables, ok, named):
    require("jq", "openssl")
    plan = deploy["jobs"]["plan"]
    check = step_named(plan, "probe user")
    assert steps(plan).index(check) < steps(plan).index(uploads(plan)["tfplan"]), "before the plan can reach the apply"
    assert check["env"] == {"VERIFY_PUBLIC_KEY": "${{ vars.VERIFY_PUBLIC_KEY }}"}
    plan_json = workspace.temp / "plan.json"
    plan_json.write_text(json.dumps({"variables": {"aws_region": {"value": "eu-west-1"}, **variables}}))
    workspace.stub("terraform", PLAN_JSON_STUB)
    result = workspace.run(check, {"PLAN_JSON": str(plan_json), "VERIFY_PUBLIC_KEY": seal_keys["VERIFY_PUBLIC_KEY"]})
    assert (result.returncode == 0) == ok, result.stdout + result.stderr
    if ok:
        # The Snowflake account of the probe, for verify (docs: no sed of env/prod.tfvars).
        assert workspace.outputs() == {"snowflake-organization": "MYORG", "snowflake-account": "MY_ACCOUNT"}
    else:
        assert named in result.stdout and workspace.outputs() == {}


def _firehose_change(actions: list[str]) -> dict:
    return {"address": "module.delivery.aws_kinesis_firehose_delivery_stream.this",
            "type": "aws_kinesis_firehose_delivery_stream", "change": {"actions": actions}}


@pytest.mark.parametrize("changes, ok", [
    ([], True),
    ([_firehose_change(["update"])], True),
    ([_firehose_change(["no-op"]), {"address": "module.api.aws_api_gateway_stage.this",
                                    "type": "aws_api_gateway_stage", "change": {"actions": ["delete", "create"]}}], True),
    # A delivery mode switch: the destination is ForceNew, so the stream is replaced.
    ([_firehose_change(["delete", "create"])], False),
    ([_firehose_change(["create", "delete"])], False),
    ([_firehose_change(["delete"])], False),
])
def test_the_plan_fails_when_it_would_replace_the_firehose_stream(deploy, workspace, changes, ok):
    require("jq")
    plan = deploy["jobs"]["plan"]
    guard = step_named(plan, "replaces no Firehose stream")
    assert steps(plan).index(guard) < steps(plan).index(uploads(plan)["tfplan"]), "before the plan can reach the apply"
    assert guard["if"] == "steps.head.outputs.current == 'true'"
    plan_json = workspace.temp / "plan.json"
    plan_json.write_text(json.dumps({"resource_changes": changes}))
    workspace.stub("terraform", PLAN_JSON_STUB)
    result = workspace.run(guard, {"PLAN_JSON": str(plan_json)})
    assert (result.returncode == 0) == ok, result.stdout + result.stderr
    if not ok:
        assert "::error::" in result.stdout and "aws_kinesis_firehose_delivery_stream.this" in result.stdout
        assert "docs/deploy.md" in result.stdout

    # A pull request's plan says so in review, and goes on (it is never applied).
    job = deploy["jobs"]["pull-request-plan"]
    warning = step_named(job, "replace the Firehose stream")
    assert steps(job).index(warning) < steps(job).index(step_named(job, "Plan in the job summary")), "while tfplan exists"
    result = workspace.run(warning, {"PLAN_JSON": str(plan_json)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert ("::warning::" in result.stdout) == (not ok) and "::error::" not in result.stdout


def test_the_firehose_guard_fails_when_it_cannot_read_the_plan(deploy, workspace):
    """A failing terraform show must not pass as "no change", even where the plan only warns."""
    require("jq")
    workspace.stub("terraform", 'echo "Error: cannot read tfplan" >&2\nexit 1\n')
    assert workspace.run(step_named(deploy["jobs"]["plan"], "replaces no Firehose stream"), {}).returncode != 0
    assert workspace.run(step_named(deploy["jobs"]["pull-request-plan"], "replace the Firehose stream"), {}).returncode != 0


@pytest.mark.parametrize("key, ok", [("good", True), ("", False), ("garbage", False), ("short", False)])
def test_the_plan_fails_without_a_key_to_seal_the_api_key(deploy, workspace, seal_keys, key, ok):
    require("jq", "openssl")
    check = step_named(deploy["jobs"]["plan"], "probe user")
    plan_json = workspace.temp / "plan.json"
    plan_json.write_text(json.dumps({"variables": {**PROBE_KEY, **ACCOUNT}}))
    workspace.stub("terraform", PLAN_JSON_STUB)
    if key == "good":
        key = seal_keys["VERIFY_PUBLIC_KEY"]
    elif key == "garbage":
        key = "-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----"
    elif key == "short":
        private = subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"], check=True, capture_output=True).stdout
        key = subprocess.run(["openssl", "pkey", "-pubout"], input=private, check=True, capture_output=True).stdout.decode()
    result = workspace.run(check, {"PLAN_JSON": str(plan_json), "VERIFY_PUBLIC_KEY": key})
    assert (result.returncode == 0) == ok, result.stdout + result.stderr
    if not ok:
        assert "::error::" in result.stdout and "VERIFY_PUBLIC_KEY" in result.stdout


# --- Lambda zips ------------------------------------------------------------------------------


def test_the_workflow_builds_with_build_lambdas_only(workflows, deploy):
    build = runs(deploy["jobs"]["build"])
    assert "source scripts/lib/common.sh" in build and "build_lambdas --arm64" in build
    for name, job_id, job in all_jobs(workflows):
        assert "cargo lambda build" not in runs(job), f"{name}/{job_id}: build through build_lambdas"
    common = (REPO / "scripts" / "lib" / "common.sh").read_text()
    body = common[common.index("build_lambdas() {"):]
    body = body[: body.index("\n}\n")]
    assert "--output-format binary" in body and body.count("scripts/package-lambda") == 2
    # Cargo.lock as reviewed: a build never re-resolves a dependency.
    (build_line,) = [line for line in body.splitlines() if "cargo lambda build" in line and not line.lstrip().startswith(("#", "log "))]
    assert re.search(r"cargo lambda build [^\n]*--locked\b", build_line), build_line


def test_the_build_tools_are_the_pinned_ones_checked_by_hash(deploy):
    build = runs(deploy["jobs"]["build"])
    assert "pip install --require-hashes --only-binary=:all: -r .github/requirements-build.txt" in build
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", (REPO / "requirements-dev.txt").read_text(), re.M))
    text = (GITHUB / "requirements-build.txt").read_text()
    hashed = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+) \\\n\s+--hash=sha256:[0-9a-f]{64}", text, re.M))
    assert hashed == {"cargo-lambda": pins["cargo-lambda"], "ziglang": pins["ziglang"]}


def test_deploying_jobs_use_the_zips_of_the_build_job(deploy):
    for job_id, job in deploy["jobs"].items():
        downloads = [s for s in steps(job) if uses(s) == "actions/download-artifact" and s["with"]["name"] == "lambda-zips"]
        if not downloads:
            continue
        assert "build" in job["needs"]
        check = step_index(job, running("sha256sum --check"))
        env = steps(job)[check]["env"]
        assert "${{ needs.build.outputs.checksums }}" in env.values(), job_id
        first_terraform = min(i for i, s in enumerate(steps(job)) if re.search(r"\bterraform (init|plan|apply)\b", str(s.get("run", ""))))
        assert check < first_terraform, job_id


def package(out: Path, *specs: str) -> str:
    subprocess.run([sys.executable, str(PACKAGE_LAMBDA), str(out), *specs], check=True, capture_output=True)
    return hashlib.sha256(out.read_bytes()).hexdigest()


def test_lambda_zips_depend_only_on_names_and_content(tmp_path):
    src = tmp_path / "src"
    (src / "schemas" / "nested").mkdir(parents=True)
    bootstrap = src / "bootstrap"
    bootstrap.write_bytes(b"\x7fELF" + bytes(range(256)) * 64)
    (src / "schemas" / "page_view.json").write_text('{"type": "object"}\n')
    (src / "schemas" / "nested" / "order_placed.json").write_text('{"type": "object", "required": ["id"]}\n')
    specs = (f"bootstrap={bootstrap}", f"schemas={src / 'schemas'}")
    files = [bootstrap, *sorted((src / "schemas").rglob("*.json"))]

    bootstrap.chmod(0o755)
    first = package(tmp_path / "first.zip", *specs)
    # Same bytes, but other modification times and modes: a rebuild, a touch, a fresh checkout.
    for n, path in enumerate(files):
        os.utime(path, (1_700_000_000 + 977 * n, 1_700_000_000 + 977 * n))
        path.chmod(0o700 if path == bootstrap else 0o600)
    second = package(tmp_path / "second.zip", *specs)
    assert first == second

    (src / "schemas" / "page_view.json").write_text('{"type": "object", "required": ["url"]}\n')
    assert package(tmp_path / "third.zip", *specs) != first

    with zipfile.ZipFile(tmp_path / "second.zip") as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == ["bootstrap", "schemas/nested/order_placed.json", "schemas/page_view.json"]
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    modes = {i.filename: i.external_attr >> 16 for i in infos}
    assert modes["bootstrap"] == 0o100755
    assert {m for f, m in modes.items() if f != "bootstrap"} == {0o100644}


def test_lambda_zips_leave_hidden_files_and_directories_out(tmp_path):
    src = tmp_path / "src"
    for relative in ("schemas/page_view.json", "schemas/.hid/x.json", "schemas/.DS_Store", "schemas/nested/.git/HEAD",
                     "schemas/nested/order_placed.json", "schemas/nested/.order_placed.json.swp"):
        (src / relative).parent.mkdir(parents=True, exist_ok=True)
        (src / relative).write_text("{}\n")
    (src / "bootstrap").write_bytes(b"\x7fELF")
    # The directory itself may sit below a hidden one: only paths inside it count.
    hidden_parent = tmp_path / ".cache" / "schemas"
    shutil.copytree(src / "schemas", hidden_parent)
    for schemas in (src / "schemas", hidden_parent):
        package(tmp_path / "out.zip", f"bootstrap={src / 'bootstrap'}", f"schemas={schemas}")
        with zipfile.ZipFile(tmp_path / "out.zip") as archive:
            assert archive.namelist() == ["bootstrap", "schemas/nested/order_placed.json", "schemas/page_view.json"]


# --- after the apply: Postman collection and probe (the verify job) -------------------------------


def test_deploy_runs_the_postman_collection_against_the_deployed_url(deploy):
    verify = deploy["jobs"]["verify"]
    command = runs(verify)
    match = re.search(r'newman run (\S+) -e "\$environment"', command)
    assert match, "newman must run the collection with the environment file the step writes"
    assert (REPO / match.group(1)).is_file()
    assert "--env-var" not in command, "nothing on newman's command line, least of all the key"
    assert "npm ci --no-audit --no-fund --ignore-scripts" in command
    (node,) = [s for s in steps(verify) if uses(s) == "actions/setup-node"]
    assert node["with"]["package-manager-cache"] is False


NPX_STUB = """
args="$*"
if [[ "$args" == *"$API_KEY_SEEN"* ]]; then echo "the key is on the command line" >&2; exit 3; fi
test "$1 $2 $3 $4" = "--no-install newman run postman/rtstream.postman_collection.json"
test "$5" = -e
stat -c %a "$6" > "$RUNNER_TEMP/seen.mode"
cp "$6" "$RUNNER_TEMP/seen.json"
exit "${NEWMAN_STATUS:-0}"
"""


@pytest.mark.parametrize("status", [0, 1])
def test_newman_reads_the_key_from_a_private_environment_file(deploy, workspace, status):
    require("jq")
    step = step_named(deploy["jobs"]["verify"], "Postman collection")
    (workspace.root / "postman").mkdir()
    shutil.copy(REPO / "postman" / "aws.postman_environment.json", workspace.root / "postman")
    api_key = "Zq8y3Kp0s9VbXr1mT4nLwE7aC2dF6gH5jQ1uI0oP"
    (workspace.temp / "api-key").write_text(api_key)
    workspace.stub("npx", NPX_STUB)
    url = "https://abc123.execute-api.eu-west-1.amazonaws.com/v1/events"
    result = workspace.run(step, {"API_URL": url, "API_KEY_SEEN": api_key, "NEWMAN_STATUS": str(status)})
    assert result.returncode == status, result.stdout + result.stderr
    assert (workspace.temp / "seen.mode").read_text().strip() == "600"
    values = {v["key"]: v["value"] for v in json.loads((workspace.temp / "seen.json").read_text())["values"]}
    assert values == {"api_url": url, "api_key": api_key}
    assert not (workspace.temp / "aws.postman_environment.json").exists(), "removed, whatever newman's result"
    assert json.loads((workspace.root / "postman" / "aws.postman_environment.json").read_text()) == \
        json.loads((REPO / "postman" / "aws.postman_environment.json").read_text()), "the committed file stays as it is"


def test_the_probe_runs_last_as_the_reader(deploy):
    verify = deploy["jobs"]["verify"]
    probe = step_index(verify, running("scripts/probe.py"))
    assert probe == len(steps(verify)) - 1 and probe > step_index(verify, running("newman run"))
    step = steps(verify)[probe]
    for option in ("--api-url", "--view"):
        assert option in step["run"]
    # The deployed mode labels the p50/p95/p99 the probe writes to the job summary.
    assert '--mode "$DELIVERY_MODE"' in step["run"]
    assert step["env"]["DELIVERY_MODE"] == "${{ needs.apply.outputs.delivery-mode }}"
    # The API key through the environment, never the command line (/proc/*/cmdline).
    assert "--api-key" not in step["run"] and "export RTSTREAM_API_KEY" in step["run"]
    assert step["env"]["SNOWFLAKE_ROLE"] == "${{ needs.apply.outputs.reader-role }}"
    assert step["env"]["SNOWFLAKE_USER"] == "${{ needs.apply.outputs.probe-user }}"
    assert step["env"]["SNOWFLAKE_WAREHOUSE"] == "${{ needs.apply.outputs.warehouse }}"
    # The account as Terraform evaluated env/prod.tfvars (the plan job's outputs), not a sed of it.
    assert step["env"]["SNOWFLAKE_ORGANIZATION_NAME"] == "${{ needs.plan.outputs.snowflake-organization }}"
    assert step["env"]["SNOWFLAKE_ACCOUNT_NAME"] == "${{ needs.plan.outputs.snowflake-account }}"
    assert "prod.tfvars" not in runs(deploy["jobs"]["verify"])


def test_node_is_a_supported_release_everywhere(workflows):
    # Node 20 reached its end of life in April 2026; newman 6.2.2 runs on 22.
    versions = {(name, job_id): step["with"]["node-version"] for name, job_id, job in all_jobs(workflows)
                for step in steps(job) if uses(step) == "actions/setup-node"}
    assert {("deploy.yml", "verify"), ("ci.yml", "e2e")} <= set(versions)
    assert set(versions.values()) == {"22"}, versions


def test_the_probe_runs_from_packages_pinned_by_hash(ci, deploy):
    # scripts/probe would pip install requirements-dev.txt without hashes (ensure_venv).
    verify = deploy["jobs"]["verify"]
    install = steps(verify)[step_index(verify, running("requirements-probe.txt"))]["run"]
    assert re.search(r'"\$RUNNER_TEMP/probe/bin/pip" install --disable-pip-version-check -q \\\n\s+'
                     r"--require-hashes --only-binary=:all: -r \.github/requirements-probe\.txt\n", install)
    assert re.search(r'PYTHONPATH=scripts "\$RUNNER_TEMP/probe/bin/python" scripts/probe\.py ', runs(verify))
    assert not re.search(r"(^|\s)scripts/probe(\s|$)", runs(verify), re.M)
    # CI installs the same file the same way before a deploy can depend on it.
    checked = runs(ci["jobs"]["probe-packages"])
    assert "--require-hashes --only-binary=:all: -r .github/requirements-probe.txt" in checked
    assert "scripts/probe.py --help" in checked


def requirement_pins(path: Path) -> dict[str, str]:
    return {re.sub(r"[-_.]+", "-", name).lower(): version
            for name, version in re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", path.read_text(), re.M)}


def test_the_probe_requirements_are_hashed_and_agree_with_requirements_dev():
    text = (GITHUB / "requirements-probe.txt").read_text()
    entries = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+) \\\n((?:\s+--hash=sha256:[0-9a-f]{64}(?: \\)?\n)+)", text, re.M)
    probe = requirement_pins(GITHUB / "requirements-probe.txt")
    assert len(entries) == len(probe) >= 20, "every requirement carries its hashes"
    dev = requirement_pins(REPO / "requirements-dev.txt")
    shared = set(probe) & set(dev)
    assert {"snowflake-connector-python", "boto3"} <= shared
    assert {name: probe[name] for name in shared} == {name: dev[name] for name in shared}
    assert not re.search(r"^\s*(-e|--index-url|--extra-index-url|-f|--find-links|git\+)", text, re.M)


def third_party_imports(path: Path, seen: set[Path] | None = None) -> set[str]:
    """Top-level modules that `path` imports at load time (not inside functions), following this
    repository's own modules under scripts/."""
    seen = set() if seen is None else seen
    if path in seen:
        return set()
    seen.add(path)
    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            names = [(alias.name, 0) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [(node.module or "", node.level)]
        else:
            continue
        for name, level in names:
            if level:  # relative: a sibling module of this package
                target = path.parent / f"{name.replace('.', '/')}.py"
                found |= third_party_imports(target, seen)
                continue
            top = name.split(".")[0]
            local = REPO / "scripts" / top
            if (local / "__init__.py").exists() or local.with_suffix(".py").exists():
                module = REPO / "scripts" / f"{name.replace('.', '/')}.py"
                found |= third_party_imports(module if module.exists() else local / "__init__.py", seen)
            elif top not in sys.stdlib_module_names and top != "__future__":
                found.add(top)
    return found


def test_the_probe_requirements_cover_every_import_of_the_probe():
    imports = third_party_imports(REPO / "scripts" / "probe.py")
    assert imports == {"snowflake", "cryptography"}, imports
    probe = requirement_pins(GITHUB / "requirements-probe.txt")
    providers = packages_distributions()
    for module in imports:
        assert {re.sub(r"[-_.]+", "-", d).lower() for d in providers[module]} & set(probe), module


# --- dependabot ---------------------------------------------------------------------------------


def test_dependabot_watches_every_ecosystem_weekly_grouped_with_a_cooldown():
    config = yaml.safe_load((GITHUB / "dependabot.yml").read_text())
    covered: dict[str, set[str]] = {}
    for update in config["updates"]:
        dirs = set(update.get("directories", [])) | ({update["directory"]} if "directory" in update else set())
        covered.setdefault(update["package-ecosystem"], set()).update(dirs)
        assert update["schedule"]["interval"] == "weekly"
        assert update["cooldown"]["default-days"] >= 7
        assert update.get("groups"), update["package-ecosystem"]
    terraform_dirs = {"/" + p.parent.relative_to(REPO).as_posix() for p in TERRAFORM.rglob("versions.tf") if ".terraform" not in p.parts}
    assert terraform_dirs <= covered["terraform"], terraform_dirs - covered["terraform"]
    assert {"/terraform", "/terraform/bootstrap"} <= terraform_dirs
    assert "/" in covered["github-actions"] and "/" in covered["cargo"] and "/" in covered["npm"]
    requirement_dirs = {"/" + p.parent.relative_to(REPO).as_posix() if p.parent != REPO else "/" for p in [*REPO.glob("requirements*.txt"), *GITHUB.glob("requirements*.txt")]}
    assert requirement_dirs <= covered["pip"]


def test_dependabot_bumps_a_provider_in_every_terraform_directory_at_once():
    # Every versions.tf must name the same provider version: one pull request per provider.
    config = yaml.safe_load((GITHUB / "dependabot.yml").read_text())
    (terraform,) = [u for u in config["updates"] if u["package-ecosystem"] == "terraform"]
    assert len(terraform["directories"]) > 1
    assert [group.get("group-by") for group in terraform["groups"].values()] == ["dependency-name"]


# --- CI still runs everything ------------------------------------------------------------------


def test_ci_tests_with_the_terraform_that_deploys(ci, deploy):
    version = deploy["env"]["TERRAFORM_VERSION"]
    assert ci["env"]["TERRAFORM_VERSION"] == version
    # use_lockfile (S3 locking without DynamoDB) needs 1.10; terraform test with prevent_destroy 1.14.
    assert tuple(int(p) for p in version.split(".")) >= (1, 14, 0)
    for wf in (ci, deploy):
        for job in wf["jobs"].values():
            for step in steps(job):
                if uses(step) == "hashicorp/setup-terraform":
                    assert step["with"]["terraform_version"] == "${{ env.TERRAFORM_VERSION }}"
                    assert step["with"]["terraform_wrapper"] is False


def test_ci_runs_rust_terraform_checkov_lint_and_e2e(ci):
    everything = "\n".join(runs(job) for job in ci["jobs"].values() if "steps" in job)
    for needle in [
        "cargo fmt --all --check",
        "cargo clippy",
        "cargo nextest run",
        "terraform fmt -check -recursive terraform",
        "init -backend=false",
        "terraform -chdir=terraform validate",
        "terraform -chdir=terraform test",
        "terraform -chdir=terraform/bootstrap validate",
        "terraform -chdir=terraform/bootstrap test",
        "-r .github/requirements-probe.txt",
        "checkov -d terraform --framework terraform",
        "scripts/test static",
        "tests/terraform/test_workflow_lint.py",
        "scripts/test e2e",
    ]:
        assert needle in everything, needle
