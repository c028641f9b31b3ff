output "oidc_provider_arn" {
  description = "ARN of the account's GitHub Actions OIDC provider (created here or found)."
  value       = local.oidc_provider_arn
}

output "pull_request_plan_role_arn" {
  description = "Role of the pull-request plan job, which may read the state object and nothing else: GitHub variable AWS_PULL_REQUEST_PLAN_ROLE_ARN."
  value       = aws_iam_role.github["pull_request_plan"].arn
}

output "plan_role_arn" {
  description = "Read-only role of main's plan job: GitHub variable AWS_PLAN_ROLE_ARN."
  value       = aws_iam_role.github["plan"].arn
}

output "apply_role_arn" {
  description = "Role of the apply job: GitHub variable AWS_APPLY_ROLE_ARN."
  value       = aws_iam_role.github["apply"].arn
}

output "deploy_policy_arns" {
  description = "ARNs of the apply role's customer managed deploy policies (policies.tf), identity and services."
  value       = { for key, policy in aws_iam_policy.deploy : key => policy.arn }
}

output "workload_boundary_arn" {
  description = "Permissions boundary every role of the stack must carry: iam_permissions_boundary_arn of terraform/env/prod.tfvars."
  value       = aws_iam_policy.workload_boundary.arn
}

output "deployment_key_pinned" {
  description = "Whether the apply role is limited to the KMS key of deployment_kms_key_arn (false until it is set after the first deploy)."
  value       = local.deployment_key_pinned
}

output "trusted_subjects" {
  description = "OIDC sub claims each role trusts (repo:OWNER/REPO:environment:NAME:ref:REF), and how it compares them (StringEquals, or StringLike for the pull-request plan's refs/pull/*/merge)."
  value       = { for key, role in local.roles : key => { subjects = role.subjects, test = role.subject_test } }
}

output "oidc_subject_template_command" {
  description = "The trust policies expect the sub claim of the repository's custom template repo, context, ref (in that order). Run this once as a repository administrator (README.md, \"The OIDC subject\"); `gh api repos/OWNER/REPO/actions/oidc/customization/sub` shows the template in force."
  value       = "gh api -X PUT repos/${var.github_repository}/actions/oidc/customization/sub -F use_default=false -f 'include_claim_keys[]=repo' -f 'include_claim_keys[]=context' -f 'include_claim_keys[]=ref'"
}

output "state_bucket_name" {
  description = "The state bucket: bucket of terraform/env/*.backend.hcl."
  value       = local.state_bucket_name
}

output "terraform_kms_key_arn" {
  description = "KMS key of the state (kms_key_id of the backend config) and of saved plans: GitHub variable TF_PLAN_KMS_KEY_ARN."
  value       = aws_kms_key.terraform.arn
}

output "github_variables" {
  description = "The repository variables deploy.yml reads, with their values (VERIFY_PUBLIC_KEY aside: README.md)."
  value = {
    AWS_REGION                     = var.aws_region
    AWS_PULL_REQUEST_PLAN_ROLE_ARN = aws_iam_role.github["pull_request_plan"].arn
    AWS_PLAN_ROLE_ARN              = aws_iam_role.github["plan"].arn
    AWS_APPLY_ROLE_ARN             = aws_iam_role.github["apply"].arn
    TF_PLAN_KMS_KEY_ARN            = aws_kms_key.terraform.arn
  }
}
