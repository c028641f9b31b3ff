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


def test_root_has_standard_files():
    for name in STANDARD_FILES + ["terraform.tfvars.example"]:
        assert (TERRAFORM / name).is_file(), name


def test_snowflake_module_has_one_file_per_object():
    for name in ["integration.tf", "file_format.tf", "stage.tf", "table.tf", "pipe.tf", "view.tf"]:
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


def test_providers_are_pinned_with_lower_bounds(parsed):
    for directory in [TERRAFORM, *module_dirs()]:
        tree = parsed[directory / "versions.tf"]
        terraform = hcl.as_map(tree["terraform"])
        assert str(terraform["required_version"]).startswith(">="), directory
        providers = hcl.as_map(terraform["required_providers"])
        for name, spec in providers.items():
            spec = hcl.as_map(spec)
            assert spec["version"].startswith(">="), (directory, name)
            assert spec["source"] in {"hashicorp/aws", "snowflakedb/snowflake"}, (directory, name)


def test_snowflake_uses_key_pair_auth_from_sensitive_variables(merged):
    root = merged(TERRAFORM)
    provider = dict(hcl.blocks(root, "provider"))["snowflake"]
    assert provider["authenticator"] == "SNOWFLAKE_JWT"
    assert provider["private_key"] == "${var.snowflake_private_key}"
    assert provider["private_key_passphrase"] == "${var.snowflake_private_key_passphrase}"
    assert "password" not in provider
    variables = dict(hcl.blocks(root, "variable"))
    for name in ["snowflake_private_key", "snowflake_private_key_passphrase"]:
        assert variables[name].get("sensitive") is True, name


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


def test_tfvars_example_only_sets_declared_variables(merged):
    declared = {name for name, _ in hcl.blocks(merged(TERRAFORM), "variable")}
    example = hcl.load(TERRAFORM / "terraform.tfvars.example")
    assert set(example) <= declared, set(example) - declared


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
