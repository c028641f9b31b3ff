"""terraform/ against the pinned providers' schemas (provider_check.py), and the check itself.

The schemas are extracted once into .cache/provider-schemas/ (provider_schema.py); the
fixture builds them when missing, so this file also runs alone.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

import provider_check
import provider_schema
from conftest import TERRAFORM
from provider_check import Finding, admits_exactly, expression_text, references

RULES = ["type", "argument", "required", "reference", "unset", "mock", "pin"]


@pytest.fixture(scope="session")
def schemas():
    return provider_check.load_schemas()


@pytest.fixture(scope="session")
def findings(schemas) -> list[Finding]:
    return provider_check.check(TERRAFORM, schemas)


# ---------------------------------------------------------------------------------------
# The real configuration
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("rule", RULES)
def test_terraform_matches_the_provider_schemas(findings, rule):
    found = [str(f) for f in findings if f.rule == rule]
    assert not found, "\n".join(found)


# ---------------------------------------------------------------------------------------
# The schemas: what the extraction must have found
# ---------------------------------------------------------------------------------------


def test_cache_matches_the_pins(schemas):
    for name, pin in provider_schema.PINS.items():
        assert schemas[name].pin == pin
        assert pin.cache_file.is_file()
        assert pin.cache_file.name == f"{pin.package}-{pin.package_version}.v{provider_schema.FORMAT}.json"


def test_snowflake_schema_has_the_storage_integration_flags(schemas):
    snowflake = schemas["snowflake"]
    legacy = snowflake.block("resource", "snowflake_storage_integration")
    # Since snowflakedb/snowflake 2.5.0 an optional input, not what Snowflake generated.
    external_id = legacy["storage_aws_external_id"]
    assert (external_id.optional, external_id.computed, external_id.required) == (True, False, False)
    assert legacy["storage_aws_iam_user_arn"].computed and not legacy["storage_aws_iam_user_arn"].argument
    assert legacy["name"].required and legacy["storage_allowed_locations"].required
    assert legacy["timeouts"].block and not legacy["describe_output"].block

    successor = snowflake.block("resource", "snowflake_storage_integration_aws")
    describe = successor["describe_output"]
    assert describe.computed and not describe.argument
    for name in ("external_id", "iam_user_arn"):
        assert describe.nested[name].computed
    assert {a.name for a in successor if a.required} == {
        "enabled", "name", "storage_allowed_locations", "storage_aws_role_arn", "storage_provider"}

    stage = snowflake.block("resource", "snowflake_stage_external_s3")
    assert {a.name for a in stage if a.required} == {"database", "name", "schema", "url"}
    assert stage["file_format"].block and stage["file_format"].nested["csv"].block


def test_aws_schema_has_blocks_required_flags_and_computed_attributes(schemas):
    aws = schemas["aws"]
    policy = aws.block("data", "aws_iam_policy_document")
    statement = policy["statement"]
    assert statement.block and statement.optional
    principals = statement.nested["principals"]
    assert principals.block and principals.nested["identifiers"].required
    assert policy["json"].computed and not policy["json"].argument
    listener = aws.block("resource", "aws_lb_listener")
    assert listener["default_action"].required and listener["default_action"].block
    bucket = aws.block("resource", "aws_s3_bucket")
    assert bucket["bucket"].optional and bucket["bucket"].computed
    assert bucket["force_destroy"].optional and not bucket["force_destroy"].computed
    assert aws.block("ephemeral", "aws_secretsmanager_secret_version") is not None
    assert aws.provider_config["default_tags"].block
    assert aws.block("resource", "aws_no_such_resource") is None


def test_a_recursive_schema_is_cut_not_endless(schemas):
    # The generated code reuses one class for the nested statements of a WAFv2 rule.
    statement = schemas["aws"].block("resource", "aws_wafv2_web_acl_rule")["statement"]
    assert statement.block
    and_statement = statement.nested["and_statement"]
    assert and_statement.block and and_statement.nested["statement"].block
    assert any(attr.opaque for attr in _walk(statement.nested))


def _walk(block):
    for attr in block:
        yield attr
        if attr.nested is not None:
            yield from _walk(attr.nested)


# ---------------------------------------------------------------------------------------
# Expressions, references, constraints
# ---------------------------------------------------------------------------------------


def test_expression_text_keeps_expressions_and_blanks_literals():
    assert "data.aws_partition.current.partition" in expression_text("arn:${data.aws_partition.current.partition}:x")
    assert "aws_sns_topic" not in expression_text("aws_sns_topic.a.arn is plain text")
    assert "aws_x" not in expression_text('${var.a == "aws_x.y.z" ? 1 : 2}')
    assert "aws_x.y.arn" in expression_text('${var.a == "p${aws_x.y.arn}" ? 1 : 2}')
    assert "aws_x" not in expression_text("${toset(['aws_x.y.z'])}")  # bc-python-hcl2's list repr
    assert "aws_x" not in expression_text("$${aws_x.y.z}")  # an escaped interpolation


@pytest.mark.parametrize("text, expected", [
    ("${aws_kms_key.this.arn}", ["aws_kms_key.this.arn"]),
    ("${aws_sns_topic.errors[0].arn}", ["aws_sns_topic.errors.arn"]),
    ('${aws_iam_role.snowflake["storage"].name}', ["aws_iam_role.snowflake.name"]),
    ("${aws_iam_role.r[each.key].id}", ["aws_iam_role.r.id"]),
    ("${snowflake_storage_integration_aws.this.describe_output[0].external_id}",
     ["snowflake_storage_integration_aws.this.describe_output[].external_id"]),
    ('${[for p in data.aws_iam_policy_document.t["s"].statement[0].principals : p.identifiers]}',
     ["data.aws_iam_policy_document.t.statement[].principals"]),
    ("${one(aws_s3_bucket_notification.n.queue).queue_arn}", ["aws_s3_bucket_notification.n.queue"]),
    ("${aws_instance.a[*].id}", ["aws_instance.a.id"]),
    ("${ephemeral.aws_secretsmanager_secret_version.s.secret_string}",
     ["ephemeral.aws_secretsmanager_secret_version.s.secret_string"]),
    ("${module.api.aws_api_gateway_stage.this}", []),
    ("${var.aws_region}-${local.snowflake_names.x}-${each.value.aws_x}", []),
    ("${[for aws_rule in var.rules : aws_rule.name]}", []),
    ("${{for k, aws_v in var.m : k => aws_v.id if aws_x.y.z}}", ["aws_x.y.z"]),
])
def test_references(text, expected):
    assert [str(ref) for ref in references(text)] == expected


@pytest.mark.parametrize("constraint, ok", [
    ("~> 6.69.1", True), ("~>6.69.1", True), ("~> 2.22", False), (">= 6.69.1", False),
    ("~> 6.69.0", False), ("6.69.1", False), ("~> 6", False), ("", False),
])
def test_admits_exactly(constraint, ok):
    assert admits_exactly(constraint, "6.69.1") is ok


def test_admits_exactly_a_minor_constraint_at_its_first_patch():
    assert admits_exactly("~> 2.22", "2.22.0") and admits_exactly("~> 2.22.0", "2.22.0")


# ---------------------------------------------------------------------------------------
# Mutations: every kind of mistake injected into a copy of terraform/ is reported
# ---------------------------------------------------------------------------------------

STORAGE_INTEGRATION = """
resource "snowflake_storage_integration" "m" {
  name                      = "M"
  storage_provider          = "S3"
  storage_aws_role_arn      = "arn:aws:iam::123456789012:role/m"
  storage_allowed_locations = ["s3://m/"]
}
"""
INTEGRATION_AWS = """
resource "snowflake_storage_integration_aws" "m" {
  name                      = "M"
  enabled                   = true
  storage_provider          = "S3"
  storage_aws_role_arn      = "arn:aws:iam::123456789012:role/m"
  storage_allowed_locations = ["s3://m/"]
}
"""
TOPIC = 'resource "aws_sns_topic" "m" {\n  name = "m"\n}\n'

# name -> ({file under terraform/: text appended}, rule, text the finding's `where` contains)
MUTATIONS = {
    "unknown resource type": ({"mutation.tf": 'resource "aws_no_such_resource" "m" {}\n'},
                              "type", "aws_no_such_resource"),
    "unknown data source type": ({"mutation.tf": 'data "snowflake_no_such" "m" {}\n'}, "type", "snowflake_no_such"),
    "unknown provider prefix": ({"mutation.tf": 'resource "random_id" "m" {}\n'}, "type", "random_id"),
    "unknown argument": ({"mutation.tf": 'resource "aws_sns_topic" "m" {\n  no_such_argument = 1\n}\n'},
                         "argument", "aws_sns_topic.m.no_such_argument"),
    "computed-only attribute set": ({"mutation.tf": 'resource "aws_sns_topic" "m" {\n  arn = "x"\n}\n'},
                                    "argument", "aws_sns_topic.m.arn"),
    "unknown nested block": (
        {"mutation.tf": 'data "aws_iam_policy_document" "m" {\n  statement {\n    no_such_block {}\n  }\n}\n'},
        "argument", "aws_iam_policy_document.m.statement.no_such_block"),
    "unknown dynamic block": (
        {"mutation.tf": 'resource "aws_sns_topic" "m" {\n  dynamic "no_such_block" {\n'
                        '    for_each = []\n    content {}\n  }\n}\n'},
        "argument", "aws_sns_topic.m.no_such_block"),
    "unknown argument in a dynamic block's content": (
        {"mutation.tf": 'data "aws_iam_policy_document" "m" {\n  dynamic "statement" {\n'
                        '    for_each = [1]\n    content {\n      no_such_argument = 1\n    }\n  }\n}\n'},
        "argument", "aws_iam_policy_document.m.statement.no_such_argument"),
    "unknown provider argument": ({"mutation.tf": 'provider "aws" {\n  alias   = "m"\n  no_such = 1\n}\n'},
                                  "argument", "provider aws.no_such"),
    "unknown argument in a check block's data source": (
        {"mutation.tf": 'check "m" {\n  data "aws_caller_identity" "m" {\n    no_such = 1\n  }\n'
                        '  assert {\n    condition     = true\n    error_message = "m"\n  }\n}\n'},
        "argument", "aws_caller_identity.m.no_such"),
    "missing required argument": ({"mutation.tf": 'resource "aws_kms_alias" "m" {\n  name = "alias/m"\n}\n'},
                                  "required", "aws_kms_alias.m.target_key_id"),
    "missing required nested argument": (
        {"mutation.tf": 'data "aws_iam_policy_document" "m" {\n  statement {\n'
                        '    principals {\n      type = "AWS"\n    }\n  }\n}\n'},
        "required", "aws_iam_policy_document.m.statement.principals.identifiers"),
    "missing required block": ({"mutation.tf": 'resource "aws_lb_listener" "m" {\n  load_balancer_arn = "x"\n}\n'},
                               "required", "aws_lb_listener.m.default_action"),
    "unknown attribute reference": ({"mutation.tf": TOPIC + 'output "m" {\n  value = aws_sns_topic.m.no_such\n}\n'},
                                    "reference", "aws_sns_topic.m.no_such"),
    "unknown nested attribute reference": (
        {"mutation.tf": INTEGRATION_AWS + 'locals {\n  m = snowflake_storage_integration_aws.m.describe_output[0].no_such\n}\n'},
        "reference", "snowflake_storage_integration_aws.m.describe_output[].no_such"),
    "reference to an undeclared resource": ({"mutation.tf": 'locals {\n  m = aws_sns_topic.undeclared.arn\n}\n'},
                                            "reference", "aws_sns_topic.undeclared"),
    "read of a non-computed unset argument (the storage_aws_external_id defect)": (
        {"mutation.tf": STORAGE_INTEGRATION + 'locals {\n  m = snowflake_storage_integration.m.storage_aws_external_id\n}\n'},
        "unset", "snowflake_storage_integration.m.storage_aws_external_id"),
    "read of a non-computed unset argument in a module argument": (
        {"mutation.tf": TOPIC + 'module "m" {\n  source = "./modules/stream"\n  name = aws_sns_topic.m.display_name\n}\n'},
        "unset", "aws_sns_topic.m.display_name"),
    "unknown attribute in a tftest assert": (
        {"mutation.tf": TOPIC,
         "tests/mutation.tftest.hcl": 'run "m" {\n  assert {\n    condition     = aws_sns_topic.m.no_such == ""\n'
                                      '    error_message = "m"\n  }\n}\n'},
        "reference", "aws_sns_topic.m.no_such"),
    "wrong attribute in a tftest override_resource values": (
        {"mutation.tf": TOPIC,
         "tests/mutation.tftest.hcl": 'override_resource {\n  target = aws_sns_topic.m\n'
                                      '  values = { no_such_attribute = "x" }\n}\n'},
        "mock", "no_such_attribute"),
    "wrong attribute in a run's override_data values": (
        {"mutation.tf": 'data "aws_caller_identity" "m" {}\n',
         "tests/mutation.tftest.hcl": 'run "m" {\n  override_data {\n    target = data.aws_caller_identity.m\n'
                                      '    values = { no_such_attribute = "x" }\n  }\n}\n'},
        "mock", "no_such_attribute"),
    "override target not declared": (
        {"tests/mutation.tftest.hcl": 'run "m" {\n  override_resource {\n    target = aws_sns_topic.undeclared\n'
                                      '    values = {}\n  }\n}\n'},
        "mock", "aws_sns_topic.undeclared"),
    "wrong attribute in a tfmock defaults": (
        {"tests/mocks/aws/aws.tfmock.hcl": '\nmock_resource "aws_sns_topic" {\n  defaults = { no_such_attribute = "x" }\n}\n'},
        "mock", "no_such_attribute"),
    "wrong nested attribute in a tfmock defaults": (
        {"tests/mocks/snowflake/snowflake.tfmock.hcl":
            '\nmock_resource "snowflake_storage_integration_aws" {\n'
            '  defaults = { describe_output = [{ no_such_attribute = "x" }] }\n}\n'},
        "mock", "describe_output.no_such_attribute"),
    "tfmock default for a non-computed attribute": (
        {"tests/mocks/aws/aws.tfmock.hcl": '\nmock_resource "aws_sns_topic" {\n  defaults = { display_name = "x" }\n}\n'},
        "mock", "display_name"),
    "wrong attribute in a mock_provider's mock_data defaults": (
        {"tests/mutation.tftest.hcl": 'mock_provider "aws" {\n  alias = "m"\n  mock_data "aws_caller_identity" {\n'
                                      '    defaults = { no_such_attribute = "x" }\n  }\n}\n'},
        "mock", "no_such_attribute"),
    "unknown type in a mock_provider": (
        {"tests/mutation.tftest.hcl": 'mock_provider "aws" {\n  alias = "m"\n  mock_resource "aws_no_such_resource" {}\n}\n'},
        "type", "aws_no_such_resource"),
    "another directory of .tf files": ({"bootstrap/main.tf": 'resource "aws_no_such_resource" "m" {}\n'},
                                       "type", "aws_no_such_resource"),
    "wrong provider source": (
        {"bootstrap/versions.tf": 'terraform {\n  required_providers {\n    aws = {\n'
                                  '      source  = "someone/aws"\n      version = "~> 6.69.1"\n    }\n  }\n}\n'},
        "pin", "required_providers.aws"),
    # A new root module of its own, with no versions.tf.
    "provider used but not declared": ({"unpinned/main.tf": TOPIC}, "pin", "required_providers.aws"),
}


def _copy(tmp_path: Path) -> Path:
    copy = tmp_path / "terraform"
    shutil.copytree(TERRAFORM, copy, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
    return copy


def _inject(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as handle:
            handle.write(text)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory, schemas, findings) -> set[Finding]:
    """The findings of a clean copy: the same as the real directory's (paths are relative)."""
    clean = provider_check.check(_copy(tmp_path_factory.mktemp("clean")), schemas)
    assert clean == findings
    return set(clean)


@pytest.mark.parametrize("mutation", MUTATIONS)
def test_an_injected_mistake_is_reported(mutation, tmp_path, schemas, baseline):
    files, rule, where = MUTATIONS[mutation]
    root = _copy(tmp_path)
    _inject(root, files)
    new = set(provider_check.check(root, schemas)) - baseline
    assert any(f.rule == rule and where in f.where for f in new), (
        f"{mutation}: expected [{rule}] {where}; new findings: {sorted(map(str, new))}")


def test_the_exact_pins_are_accepted(tmp_path, schemas, baseline):
    """versions.tf written as the check asks: no pin finding left, nothing else new."""
    root = _copy(tmp_path)
    for versions in root.rglob("versions.tf"):
        text = versions.read_text()
        for pin in provider_schema.PINS.values():
            text = _replace_constraint(text, pin)
        versions.write_text(text)
    after = set(provider_check.check(root, schemas))
    assert not [f for f in after if f.rule == "pin"], sorted(map(str, after))
    assert after <= baseline


def _replace_constraint(text: str, pin: provider_schema.Pin) -> str:
    """The `version` of the provider's `required_providers` entry set to `~> <schema version>`."""
    entry = re.compile(rf'(\b{pin.name}\s*=\s*\{{[^}}]*?\bversion\s*=\s*)"[^"]*"')
    return entry.sub(rf'\1"~> {pin.version}"', text)
