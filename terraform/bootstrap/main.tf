# What GitHub Actions needs before the first deploy: the account's GitHub OIDC provider, a
# plan role for pull requests (the state only), a read-only plan role for main, a scoped apply
# role, the permissions boundary of the stack's roles, and the state bucket with its KMS key.
# Which workflow job uses which role: README.md beside this file and .github/workflows/deploy.yml.

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = merge({ Component = "${var.name_prefix}-github-deploy", ManagedBy = "terraform" }, var.tags)
  }
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  dns_suffix = data.aws_partition.current.dns_suffix

  github_oidc_host = "token.actions.githubusercontent.com"
  oidc_audience    = "sts.amazonaws.com"
  oidc_provider_arn = (
    var.create_oidc_provider
    ? aws_iam_openid_connect_provider.github[0].arn
    : data.aws_iam_openid_connect_provider.github[0].arn
  )

  # The OIDC sub claim. The repository's subject template is customised to the claims repo,
  # context and ref, in that order (README.md, "The OIDC subject"), so that the sub of a job
  # names its environment and the ref of its run:
  #   repo:OWNER/REPO:environment:NAME:ref:refs/heads/main          (push, workflow_dispatch)
  #   repo:OWNER/REPO:environment:NAME:ref:refs/pull/NUMBER/merge   (pull_request)
  # An environment's deployment branch rule is GitHub's check, evaluated by rules GitHub has
  # changed before (pull_request runs were once matched by their head branch, which anyone who
  # may push can name main); the ref in the sub makes the roles check it themselves.
  # Repositories created or renamed from 2026-07-15 on (or opted in) get immutable subject
  # claims: OWNER@OWNER_ID/REPO@REPO_ID in place of OWNER/REPO, custom template or not.
  github_owner_and_repo = split("/", var.github_repository)
  subject_repository = (
    var.github_repository_ids == null
    ? var.github_repository
    : "${local.github_owner_and_repo[0]}@${var.github_repository_ids.owner_id}/${local.github_owner_and_repo[1]}@${var.github_repository_ids.repository_id}"
  )
  # The branch that deploys (deploy.yml plans and applies main only).
  deploy_ref = "refs/heads/main"
  subject = {
    # Any pull request's merge ref: the number is the one part GitHub varies, and the only
    # wildcard of any trust policy here (StringLike). refs/pull/ is GitHub's namespace: nobody
    # can push a branch or tag there, and a ':' in a claim's value becomes %3A in the sub.
    pull_request_plan = "repo:${local.subject_repository}:environment:${var.pull_request_plan_environment}:ref:refs/pull/*/merge"
    main_plan         = "repo:${local.subject_repository}:environment:${var.main_plan_environment}:ref:${local.deploy_ref}"
    apply             = "repo:${local.subject_repository}:environment:${var.apply_environment}:ref:${local.deploy_ref}"
  }

  # One role per environment. read_only: AWS ReadOnlyAccess (for refreshes), minus data reads.
  roles = {
    # terraform plan -refresh=false of a pull request: the state object, nothing else (anyone
    # who can push a branch can change what this job runs).
    pull_request_plan = {
      name         = "${var.name_prefix}-terraform-pull-request-plan"
      description  = "GitHub Actions: terraform plan -refresh=false of ${var.name_prefix} for pull requests of ${var.github_repository}: the state object only"
      subjects     = [local.subject.pull_request_plan]
      subject_test = "StringLike"
      read_only    = false
    }
    plan = {
      name         = "${var.name_prefix}-terraform-plan"
      description  = "GitHub Actions: terraform plan of ${var.name_prefix} (read-only) on main of ${var.github_repository}, environment ${var.main_plan_environment}"
      subjects     = [local.subject.main_plan]
      subject_test = "StringEquals"
      read_only    = true
    }
    apply = {
      name         = "${var.name_prefix}-terraform-apply"
      description  = "GitHub Actions: terraform apply of ${var.name_prefix} from ${var.github_repository}, environment ${var.apply_environment}"
      subjects     = [local.subject.apply]
      subject_test = "StringEquals"
      read_only    = true
    }
  }

  # Outside the path the apply role may change (role/<name_prefix>-*): it can't edit itself.
  role_path = "/github-actions/"

  # One bucket for every environment's state (rtstream/<env>.tfstate), named as in
  # docs/deploy.md and terraform/env/*.backend.hcl.
  state_bucket_name = coalesce(var.state_bucket_name, "${var.deployment_tags["Project"]}-tfstate-${local.account_id}")
  state_bucket_arn  = "arn:${local.partition}:s3:::${local.state_bucket_name}"
  state_object_arn  = "${local.state_bucket_arn}/${var.state_key}"
  lock_object_arn   = "${local.state_object_arn}.tflock"

  # Built from its parts, so the policies that name it are known at plan time.
  workload_boundary_arn = "arn:${local.partition}:iam::${local.account_id}:policy${local.role_path}${var.name_prefix}-workload-boundary"
}

# --- GitHub OIDC provider: one per account ------------------------------------------

resource "aws_iam_openid_connect_provider" "github" {
  count = var.create_oidc_provider ? 1 : 0

  url            = "https://${local.github_oidc_host}"
  client_id_list = [local.oidc_audience]
  # No thumbprint_list: IAM trusts GitHub's OIDC endpoint through its own CA library.
}

data "aws_iam_openid_connect_provider" "github" {
  count = var.create_oidc_provider ? 0 : 1

  url = "https://${local.github_oidc_host}"

  lifecycle {
    postcondition {
      condition     = contains(self.client_id_list, local.oidc_audience)
      error_message = "The account's GitHub OIDC provider must list the audience sts.amazonaws.com (aws iam add-client-id-to-open-id-connect-provider)."
    }
  }
}

# --- Roles -----------------------------------------------------------------------------

data "aws_iam_policy_document" "trust" {
  for_each = local.roles

  statement {
    sid     = "GitHubActionsEnvironment"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.github_oidc_host}:aud"
      values   = [local.oidc_audience]
    }

    # This repository, this environment, this ref: exact (StringEquals) for main's plan and
    # the apply, any pull request's merge ref (StringLike) for the pull-request plan.
    condition {
      test     = each.value.subject_test
      variable = "${local.github_oidc_host}:sub"
      values   = each.value.subjects
    }
  }
}

resource "aws_iam_role" "github" {
  for_each = local.roles

  name                 = each.value.name
  path                 = local.role_path
  description          = each.value.description
  assume_role_policy   = data.aws_iam_policy_document.trust[each.key].json
  max_session_duration = 3600
}

# Reads of every service for refresh and plan (main's plan and the apply; never the pull
# request plan). AWS maintains the list as services gain read actions. The data behind them
# stays out of reach: deny_data_reads (policies.tf) takes the data-plane reads back, and what
# the deployment encrypts needs its KMS key, which these roles may use only through Lambda
# (plan) or the deploying services (apply).
resource "aws_iam_role_policy_attachment" "read_only" {
  for_each = { for key, role in local.roles : key => role if role.read_only }

  role       = aws_iam_role.github[each.key].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/ReadOnlyAccess"
}

resource "aws_iam_role_policy" "deny_data_reads" {
  for_each = aws_iam_role_policy_attachment.read_only

  name   = "deny-data-reads"
  role   = aws_iam_role.github[each.key].id
  policy = data.aws_iam_policy_document.deny_data_reads.json
}

resource "aws_iam_role_policy" "plan" {
  name   = "terraform-plan"
  role   = aws_iam_role.github["plan"].id
  policy = data.aws_iam_policy_document.plan.json
}

resource "aws_iam_role_policy" "pull_request_plan" {
  name   = "terraform-plan-pull-request"
  role   = aws_iam_role.github["pull_request_plan"].id
  policy = data.aws_iam_policy_document.pull_request_plan.json
}

# policies.tf, in two documents (a managed policy holds at most 6,144 characters).
resource "aws_iam_policy" "deploy" {
  for_each = {
    identity = data.aws_iam_policy_document.deploy_identity.json
    services = data.aws_iam_policy_document.deploy_services.json
  }

  name        = "${var.name_prefix}-terraform-deploy-${each.key}"
  path        = local.role_path
  description = "What terraform apply of ${var.name_prefix} may change (${each.key}): the deployment's resources, by name prefix and tag."
  policy      = each.value
}

resource "aws_iam_role_policy_attachment" "deploy" {
  for_each = aws_iam_policy.deploy

  role       = aws_iam_role.github["apply"].name
  policy_arn = each.value.arn
}

# The permissions boundary the deploy policy requires on every role the apply role creates
# or changes (iam_permissions_boundary_arn of the root module, env/prod.tfvars): whatever
# inline policy the stack writes, its roles can do no more than this. Under the bootstrap's
# path, where the apply role can't change a policy.
resource "aws_iam_policy" "workload_boundary" {
  name        = "${var.name_prefix}-workload-boundary"
  path        = local.role_path
  description = "Permissions boundary of every IAM role of ${var.name_prefix}: the most its Lambdas, Firehose and Snowflake roles may do."
  policy      = data.aws_iam_policy_document.workload_boundary.json

  lifecycle {
    postcondition {
      condition     = self.arn == local.workload_boundary_arn
      error_message = "The boundary's ARN must be the one the deploy policy's iam:PermissionsBoundary conditions name."
    }
  }
}
