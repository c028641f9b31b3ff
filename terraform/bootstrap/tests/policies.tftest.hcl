# What the workflow roles may do, read from the policy documents the AWS provider renders (no
# mock: aws_iam_policy_document is computed locally, so these are the JSON policies IAM gets).
# The provider never calls AWS here: fake credentials, no validation, and the two data sources
# that would call it are overridden. ci.yml's terraform job runs it (`terraform test`).

provider "aws" {
  region                      = "eu-west-1"
  access_key                  = "not-used"
  secret_key                  = "not-used"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}

override_data {
  target = data.aws_caller_identity.current
  values = { account_id = "123456789012" }
}

override_data {
  target = data.aws_iam_openid_connect_provider.github
  values = {
    arn            = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    client_id_list = ["sts.amazonaws.com"]
  }
}

variables {
  aws_region        = "eu-west-1"
  github_repository = "acme/rtstream"
  name_prefix       = "rtstream-prod"
  # The provider is read, not created: its ARN, and so every trust policy, is known at plan.
  create_oidc_provider = false
  # The steady state: the key the first deploy created.
  deployment_kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
}

run "first_deploy_creates_a_tagged_key_but_administers_none" {
  command = plan

  variables {
    deployment_kms_key_arn = null
  }

  # The warning that the key is not pinned yet.
  expect_failures = [check.deployment_key_pinned]

  assert {
    condition = length(setintersection(
      flatten([for s in jsondecode(data.aws_iam_policy_document.deploy_identity.json).Statement : flatten([s.Action]) if s.Effect == "Allow"]),
      ["kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:UntagResource", "kms:UpdateKeyDescription", "kms:DisableKey"],
    )) == 0
    error_message = "Without deployment_kms_key_arn the apply role may tag keys, so it must not be able to administer (or delete) any key it could tag."
  }

  assert {
    condition = alltrue([
      for s in jsondecode(data.aws_iam_policy_document.deploy_identity.json).Statement :
      try(s.Condition.StringEquals["aws:RequestTag/Project"] == "rtstream" && s.Condition.StringEquals["aws:RequestTag/Environment"] == "prod", false)
      if s.Effect == "Allow" && length(setintersection(flatten([s.Action]), ["kms:CreateKey", "kms:TagResource"])) > 0
    ])
    error_message = "CreateKey and TagResource only with the deployment's tags in the request."
  }

  assert {
    condition     = contains(flatten([for s in jsondecode(data.aws_iam_policy_document.deploy_identity.json).Statement : flatten([s.Action]) if s.Effect == "Allow"]), "kms:CreateKey")
    error_message = "The first deploy creates the key."
  }
}

run "a_pinned_key_is_the_only_key_the_apply_role_may_touch" {
  command = plan

  assert {
    condition = alltrue(flatten([
      for document in [data.aws_iam_policy_document.deploy_identity.json, data.aws_iam_policy_document.deploy_services.json, data.aws_iam_policy_document.plan.json, data.aws_iam_policy_document.workload_boundary.json] : [
        for s in jsondecode(document).Statement : [
          for resource in try(flatten([s.Resource]), ["NotResource"]) :
          contains([var.deployment_kms_key_arn, "arn:aws:kms:eu-west-1:123456789012:alias/rtstream-prod"], resource)
        ] if s.Effect == "Allow" && anytrue([for action in flatten([s.Action]) : startswith(action, "kms:")])
      ]
    ]))
    error_message = "Every KMS grant (apply, plan, boundary) names the pinned key or its alias, never key/*: tags can't take another key over."
  }

  assert {
    condition = !contains(
      flatten([for s in jsondecode(data.aws_iam_policy_document.deploy_identity.json).Statement : flatten([s.Action]) if s.Effect == "Allow"]),
      "kms:CreateKey",
    )
    error_message = "With the key pinned, the apply role creates no key."
  }

  assert {
    condition     = length(setintersection(flatten([for s in jsondecode(data.aws_iam_policy_document.deploy_identity.json).Statement : flatten([s.Action]) if s.Effect == "Allow"]), ["kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:DisableKey"])) == 0
    error_message = "Deleting or disabling the key of every event is an administrator's act."
  }
}

run "rejects_a_key_of_another_region" {
  command = plan

  variables {
    deployment_kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  }

  expect_failures = [var.deployment_kms_key_arn]
}

run "stack_roles_only_within_the_boundary" {
  command = plan

  assert {
    condition = alltrue([
      for s in concat(jsondecode(data.aws_iam_policy_document.deploy_identity.json).Statement, jsondecode(data.aws_iam_policy_document.deploy_services.json).Statement) :
      try(flatten([s.Condition.StringEquals["iam:PermissionsBoundary"]]) == ["arn:aws:iam::123456789012:policy/github-actions/rtstream-prod-workload-boundary"], false)
      if s.Effect == "Allow" && length(setintersection(flatten([s.Action]), ["iam:CreateRole", "iam:PutRolePolicy", "iam:UpdateAssumeRolePolicy", "iam:PutRolePermissionsBoundary", "iam:AttachRolePolicy"])) > 0
    ])
    error_message = "A role's policies, trust and boundary may be set only with the workload boundary attached."
  }

  assert {
    condition = anytrue([
      for s in jsondecode(data.aws_iam_policy_document.deploy_identity.json).Statement :
      s.Effect == "Deny" && contains(flatten([s.Action]), "iam:DeleteRolePermissionsBoundary") && contains(flatten([s.Resource]), "arn:aws:iam::123456789012:role/*")
    ])
    error_message = "No boundary may ever be removed."
  }

  assert {
    condition = anytrue([
      for s in jsondecode(data.aws_iam_policy_document.deploy_identity.json).Statement :
      s.Effect == "Deny" && contains(flatten([s.Action]), "iam:CreateRole") && try(flatten([s.Condition.StringNotEquals["iam:PermissionsBoundary"]]) == ["arn:aws:iam::123456789012:policy/github-actions/rtstream-prod-workload-boundary"], false)
    ])
    error_message = "Creating a role without the boundary is denied outright, whatever an Allow says."
  }

  assert {
    condition     = aws_iam_policy.workload_boundary.name == "rtstream-prod-workload-boundary" && aws_iam_policy.workload_boundary.path == "/github-actions/"
    error_message = "The boundary lives under the bootstrap's path, where the apply role can't change policies."
  }

  assert {
    condition = alltrue([
      for action in flatten([for s in jsondecode(data.aws_iam_policy_document.workload_boundary.json).Statement : flatten([s.Action])]) :
      !startswith(action, "iam:") && !startswith(action, "sts:") && !strcontains(action, "*")
    ])
    error_message = "The boundary grants no IAM, no STS and no wildcard action."
  }

  assert {
    condition = alltrue(flatten([
      for s in jsondecode(data.aws_iam_policy_document.workload_boundary.json).Statement : [
        for resource in flatten([s.Resource]) :
        strcontains(resource, ":rtstream-prod-") || strcontains(resource, "/rtstream-prod-") || strcontains(resource, ":::rtstream-prod-") || resource == var.deployment_kms_key_arn || (resource == "*" && alltrue([for action in flatten([s.Action]) : startswith(action, "xray:")]))
      ]
    ]))
    error_message = "The boundary reaches only the deployment's own resources (X-Ray aside, which has none)."
  }
}

run "pull_request_plans_read_the_state_object_only" {
  command = plan

  assert {
    condition     = join(",", sort(keys(aws_iam_role_policy_attachment.read_only))) == "apply,plan"
    error_message = "ReadOnlyAccess is for main's plan and the apply, never for the pull-request plan role."
  }

  assert {
    condition = toset(flatten([for s in jsondecode(data.aws_iam_policy_document.pull_request_plan.json).Statement : flatten([s.Action])])) == toset(["s3:GetObject", "s3:ListBucket"]) && alltrue([
      for s in jsondecode(data.aws_iam_policy_document.pull_request_plan.json).Statement :
      flatten([s.Resource]) == ["arn:aws:s3:::rtstream-tfstate-123456789012/rtstream/prod.tfstate"] if contains(flatten([s.Action]), "s3:GetObject")
    ])
    error_message = "The pull-request plan role reads the state object and nothing else."
  }

  assert {
    condition     = flatten([jsondecode(data.aws_iam_policy_document.trust["pull_request_plan"].json).Statement[0].Condition.StringLike["token.actions.githubusercontent.com:sub"]]) == ["repo:acme/rtstream:environment:plan:ref:refs/pull/*/merge"]
    error_message = "Only the environment plan, in a pull request's merge ref, may assume the pull-request plan role."
  }

  assert {
    condition     = !can(jsondecode(data.aws_iam_policy_document.trust["pull_request_plan"].json).Statement[0].Condition.StringEquals["token.actions.githubusercontent.com:sub"])
    error_message = "The pull-request plan role compares sub once, with StringLike."
  }
}

# The sub of the repository's custom template (repo, context, ref): a job in environment
# production-plan or production gets a token for its role only in a run of main, whatever
# GitHub's deployment branch rules let through (a pull request runs in refs/pull/N/merge).
run "main_roles_trust_their_environment_on_main_only" {
  command = plan

  assert {
    condition = alltrue([
      for key, sub in { plan = "repo:acme/rtstream:environment:production-plan:ref:refs/heads/main", apply = "repo:acme/rtstream:environment:production:ref:refs/heads/main" } :
      flatten([jsondecode(data.aws_iam_policy_document.trust[key].json).Statement[0].Condition.StringEquals["token.actions.githubusercontent.com:sub"]]) == [sub]
    ])
    error_message = "Main's plan role and the apply role trust exactly their environment on refs/heads/main."
  }

  assert {
    condition = alltrue([
      for key in ["plan", "apply"] :
      !can(jsondecode(data.aws_iam_policy_document.trust[key].json).Statement[0].Condition.StringLike)
    ])
    error_message = "No wildcard subject for the roles that read the account or apply."
  }

  assert {
    condition = alltrue([
      for key, statements in { for key, document in data.aws_iam_policy_document.trust : key => jsondecode(document.json).Statement } :
      length(statements) == 1 && flatten([statements[0].Condition.StringEquals["token.actions.githubusercontent.com:aud"]]) == ["sts.amazonaws.com"]
    ])
    error_message = "One statement per role, for the audience sts.amazonaws.com."
  }
}

run "immutable_subject_claims_name_the_ids" {
  command = plan

  variables {
    github_repository_ids = { owner_id = 1234, repository_id = 56789 }
  }

  assert {
    condition = (
      flatten([jsondecode(data.aws_iam_policy_document.trust["apply"].json).Statement[0].Condition.StringEquals["token.actions.githubusercontent.com:sub"]]) == ["repo:acme@1234/rtstream@56789:environment:production:ref:refs/heads/main"]
      && flatten([jsondecode(data.aws_iam_policy_document.trust["plan"].json).Statement[0].Condition.StringEquals["token.actions.githubusercontent.com:sub"]]) == ["repo:acme@1234/rtstream@56789:environment:production-plan:ref:refs/heads/main"]
      && flatten([jsondecode(data.aws_iam_policy_document.trust["pull_request_plan"].json).Statement[0].Condition.StringLike["token.actions.githubusercontent.com:sub"]]) == ["repo:acme@1234/rtstream@56789:environment:plan:ref:refs/pull/*/merge"]
    )
    error_message = "With github_repository_ids the subjects take GitHub's immutable form OWNER@ID/REPO@ID."
  }
}

run "main_plan_and_apply_read_no_data" {
  command = plan

  assert {
    condition     = join(",", sort(keys(aws_iam_role_policy.deny_data_reads))) == "apply,plan"
    error_message = "Both roles with ReadOnlyAccess get the data-read denies."
  }

  assert {
    condition = alltrue([
      for action in ["s3:GetObject", "ssm:GetParameter", "ssm:GetParametersByPath", "secretsmanager:GetSecretValue", "logs:GetLogEvents", "logs:FilterLogEvents", "dynamodb:Scan", "dynamodb:Query", "dynamodb:GetItem", "dynamodb:GetRecords", "dynamodb:PartiQLSelect", "kinesis:GetRecords", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "lambda:GetLayerVersion"] :
      anytrue([
        for s in jsondecode(data.aws_iam_policy_document.deny_data_reads.json).Statement :
        s.Effect == "Deny" && anytrue([for denied in flatten([s.Action]) : denied == action || (endswith(denied, "*") && startswith(action, trimsuffix(denied, "*")))])
      ])
    ])
    error_message = "Every data-plane read the review named is denied."
  }

  assert {
    condition = anytrue([
      for s in jsondecode(data.aws_iam_policy_document.deny_data_reads.json).Statement :
      contains(flatten([s.Action]), "s3:GetObject") && toset(flatten([try(s.NotResource, [])])) == toset(["arn:aws:s3:::rtstream-tfstate-123456789012/rtstream/prod.tfstate", "arn:aws:s3:::rtstream-tfstate-123456789012/rtstream/prod.tfstate.tflock"])
    ])
    error_message = "Objects are denied except the state and its lock."
  }

  assert {
    condition = anytrue([
      for s in jsondecode(data.aws_iam_policy_document.deny_data_reads.json).Statement :
      s.Effect == "Deny" && flatten([s.Action]) == ["lambda:GetFunction"] && flatten([try(s.NotResource, [])]) == ["arn:aws:lambda:eu-west-1:123456789012:function:rtstream-prod-*"]
    ])
    error_message = "GetFunction (a presigned URL of the code) is denied but for the deployment's own functions."
  }
}

# IAM's size limits, whitespace aside: 6,144 characters per managed policy, 10,240 for all the
# inline policies of a role together. Both ways of the deployment key (the first deploy's
# statements are the longer ones).
run "policies_fit_iam_size_limits_with_the_key_pinned" {
  command = plan

  assert {
    condition     = alltrue([for document in [data.aws_iam_policy_document.deploy_identity, data.aws_iam_policy_document.deploy_services, data.aws_iam_policy_document.workload_boundary] : length(document.minified_json) <= 6144])
    error_message = "A managed policy holds at most 6,144 characters."
  }

  assert {
    condition     = length(data.aws_iam_policy_document.deny_data_reads.minified_json) + length(data.aws_iam_policy_document.plan.minified_json) <= 10240 && length(data.aws_iam_policy_document.pull_request_plan.minified_json) <= 10240
    error_message = "A role's inline policies hold at most 10,240 characters together."
  }
}

run "policies_fit_iam_size_limits_before_the_first_deploy" {
  command = plan

  variables {
    deployment_kms_key_arn = null
  }

  expect_failures = [check.deployment_key_pinned]

  assert {
    condition     = alltrue([for document in [data.aws_iam_policy_document.deploy_identity, data.aws_iam_policy_document.deploy_services, data.aws_iam_policy_document.workload_boundary] : length(document.minified_json) <= 6144])
    error_message = "A managed policy holds at most 6,144 characters."
  }
}
