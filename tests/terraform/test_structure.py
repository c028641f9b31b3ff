"""Module layout, variable and output hygiene, documentation."""

import re

import pytest

import hcl
from conftest import MODULES, TERRAFORM, module_dirs, tf_files

STANDARD_FILES = ["main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"]
EXPECTED_MODULES = {"api", "delivery", "lambda_function", "snowflake", "storage", "stream"}


def test_expected_modules_exist():
    assert EXPECTED_MODULES <= {p.name for p in module_dirs()}


@pytest.mark.parametrize("module", module_dirs(), ids=lambda p: p.name)
def test_module_has_standard_files(module):
    missing = [name for name in STANDARD_FILES if not (module / name).is_file()]
    assert not missing, f"{module.name} lacks {missing}"


ENVIRONMENTS = ["dev", "prod"]


def test_root_has_standard_files():
    for name in STANDARD_FILES:
        assert (TERRAFORM / name).is_file(), name


def test_snowflake_module_has_one_file_per_object():
    for name in ["storage_integration.tf", "file_format.tf", "stage.tf", "table.tf", "pipe.tf", "view.tf", "warehouse.tf"]:
        assert (MODULES / "snowflake" / name).is_file(), name


def test_every_variable_is_typed_and_described(parsed):
    problems = []
    for path, tree in parsed.items():
        for name, body in hcl.blocks(tree, "variable"):
            if "type" not in body:
                problems.append(f"{path.relative_to(TERRAFORM)}: {name} has no type")
            if not str(body.get("description", "")).strip():
                problems.append(f"{path.relative_to(TERRAFORM)}: {name} has no description")
    assert not problems, problems


def test_variables_live_in_variables_tf(parsed):
    stray = [
        f"{path.relative_to(TERRAFORM)}: {name}"
        for path, tree in parsed.items()
        if path.name != "variables.tf"
        for name, _ in hcl.blocks(tree, "variable")
    ]
    assert not stray


def test_every_output_is_described(parsed):
    undocumented = [
        f"{path.relative_to(TERRAFORM)}: {name}"
        for path, tree in parsed.items()
        for name, body in hcl.blocks(tree, "output")
        if not str(body.get("description", "")).strip()
    ]
    assert not undocumented


def test_required_terraform_version_allows_the_lock_file_backend(parsed):
    # use_lockfile (S3 state locking without DynamoDB) exists from Terraform 1.10.
    for directory in [TERRAFORM, *module_dirs()]:
        terraform = hcl.as_map(parsed[directory / "versions.tf"]["terraform"])
        assert terraform["required_version"] == ">= 1.10.0", directory


def test_snowflake_key_never_passes_through_terraform_variables(merged):
    # Saved plans hold every variable's value; the key comes from SNOWFLAKE_PRIVATE_KEY.
    root = merged(TERRAFORM)
    provider = dict(hcl.blocks(root, "provider"))["snowflake"]
    assert provider["authenticator"] == "SNOWFLAKE_JWT"
    assert not {"private_key", "private_key_passphrase", "password", "token"} & set(provider)
    secret_like = [name for name, _ in hcl.blocks(root, "variable") if "private_key" in name or "password" in name]
    assert not secret_like


def test_every_preview_resource_in_use_is_enabled(merged, parsed):
    # The provider refuses a preview resource that preview_features_enabled does not name.
    provider = dict(hcl.blocks(merged(TERRAFORM), "provider"))["snowflake"]
    enabled = set(provider["preview_features_enabled"])
    used = {rtype for tree in parsed.values() for rtype, _, _ in hcl.typed_blocks(tree, "resource") if rtype.startswith("snowflake_")}
    preview = {"snowflake_notification_integration", "snowflake_pipe", "snowflake_stage_external_s3", "snowflake_storage_integration_aws"}
    assert {f"{rtype}_resource" for rtype in used & preview} <= enabled
    assert enabled <= {f"{rtype}_resource" for rtype in used}, "enabled preview features nothing uses"


def test_api_key_output_is_sensitive(merged):
    outputs = dict(hcl.blocks(merged(TERRAFORM), "output"))
    assert outputs["api_key"].get("sensitive") is True
    for name in ["api_url", "data_bucket_name", "error_bucket_name", "stream_arn", "pipe_name", "notification_channel"]:
        assert name in outputs, name


@pytest.mark.parametrize("module", module_dirs(), ids=lambda p: p.name)
def test_module_readme_documents_every_input(module, merged):
    readme = (module / "README.md").read_text()
    undocumented = [name for name, _ in hcl.blocks(merged(module), "variable") if f"`{name}`" not in readme]
    assert not undocumented, f"{module.name}/README.md does not mention {undocumented}"


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_environment_settings_are_committed_and_declared(environment, merged):
    declared = {name for name, _ in hcl.blocks(merged(TERRAFORM), "variable")}
    settings = hcl.load(TERRAFORM / "env" / f"{environment}.tfvars")
    assert set(settings) <= declared, set(settings) - declared
    backend = hcl.load(TERRAFORM / "env" / f"{environment}.backend.hcl")
    assert backend["key"] == f"rtstream/{environment}.tfstate" and backend["use_lockfile"] is True


def test_environments_never_share_names():
    settings = {env: hcl.load(TERRAFORM / "env" / f"{env}.tfvars") for env in ENVIRONMENTS}
    prefixes = [s["name_prefix"] for s in settings.values()]
    assert len(set(prefixes)) == len(prefixes), prefixes


def test_tftest_files_use_mock_providers():
    files = sorted((TERRAFORM / "tests").glob("*.tftest.hcl"))
    assert files
    for path in files:
        assert "mock_provider" in path.read_text(), path.name


def test_readme_says_where_tftests_run():
    readme = (TERRAFORM / "README.md").read_text()
    assert "terraform test" in readme and "GitHub Actions" in readme


def test_every_checkov_skip_has_a_reason():
    skip = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(.*)")
    for path in tf_files():
        for line in path.read_text().splitlines():
            match = skip.search(line)
            if match:
                assert re.fullmatch(r":\S.{9,}", match.group(2)), f"{path.name}: {line.strip()}"
