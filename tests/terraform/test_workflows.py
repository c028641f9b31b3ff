"""The GitHub workflows run what the issue asks, with files that exist."""

import json
import re

import pytest
import yaml

from conftest import REPO

WORKFLOWS = REPO / ".github" / "workflows"


def load(name):
    return yaml.safe_load((WORKFLOWS / name).read_text())


def commands(job):
    return "\n".join(str(step.get("run", "")) + str(step.get("uses", "")) for step in job["steps"])


@pytest.fixture(scope="module")
def ci():
    return {name: commands(job) for name, job in load("ci.yml")["jobs"].items()}


@pytest.fixture(scope="module")
def deploy():
    return load("deploy.yml")


def test_ci_runs_rust_terraform_checkov_and_e2e(ci):
    everything = "\n".join(ci.values())
    for needle in [
        "cargo fmt --all --check",
        "cargo clippy",
        "cargo nextest run",
        "terraform fmt -check -recursive terraform",
        "init -backend=false",
        "terraform -chdir=terraform validate",
        "terraform -chdir=terraform test",
        "checkov -d terraform --framework terraform",
        "scripts/test static",
        "scripts/test e2e",
    ]:
        assert needle in everything, needle


def test_deploy_builds_arm64_zips_with_schemas(deploy):
    build = commands(deploy["jobs"]["build"])
    assert "cargo-lambda" in build and "ziglang" in build
    assert re.search(r"cargo lambda build --release --arm64 --output-format zip --bin validator --include schemas", build)
    assert re.search(r"cargo lambda build --release --arm64 --output-format zip --bin transformer", build)


def test_deploy_plans_pull_requests_and_applies_main_behind_an_environment(deploy):
    plan, apply = deploy["jobs"]["plan"], deploy["jobs"]["apply"]
    assert "pull_request" in plan["if"]
    assert "refs/heads/main" in apply["if"]
    assert apply["environment"] == "production"
    for job in (plan, apply):
        assert job["permissions"]["id-token"] == "write"
        assert "aws-actions/configure-aws-credentials" in commands(job)
    assert "terraform plan" in commands(plan)
    assert "terraform apply" in commands(apply)


def test_deploy_takes_snowflake_credentials_from_secrets(deploy):
    env = deploy["env"]
    assert env["TF_VAR_snowflake_private_key"] == "${{ secrets.SNOWFLAKE_PRIVATE_KEY }}"
    assert "secrets." in env["TF_VAR_snowflake_private_key_passphrase"]


def test_deploy_runs_the_postman_collection_against_the_deployed_url(deploy):
    apply = commands(deploy["jobs"]["apply"])
    match = re.search(r"newman run (\S+)\s+-e (\S+)", apply)
    assert match, "newman must run the collection with an environment"
    collection, environment = (REPO / p for p in match.groups())
    assert collection.is_file() and environment.is_file()
    keys = {v["key"] for v in json.loads(environment.read_text())["values"]}
    passed = set(re.findall(r'--env-var "(\w+)=', apply))
    assert passed == {"api_url", "api_key"} and passed <= keys
