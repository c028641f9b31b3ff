variable "aws_region" {
  description = "Region of the state bucket and of the deployment the roles may change (the root module's aws_region)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "aws_region must look like eu-west-1."
  }
}

variable "github_repository" {
  description = "The repository whose workflows may assume the roles, as OWNER/REPO, spelt exactly as GitHub does (the OIDC sub claim is compared case-sensitively)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$", var.github_repository))
    error_message = "github_repository must be OWNER/REPO, for example my-org/rtstream."
  }
}

variable "github_repository_ids" {
  description = "The numeric ids of the owner and the repository when the repository uses immutable OIDC subject claims (repo:OWNER@OWNER_ID/REPO@REPO_ID:..., the default for repositories created or renamed from 2026-07-15 on): `gh api repos/OWNER/REPO --jq '{owner_id: .owner.id, repository_id: .id}'`. null for the name-only form."
  type = object({
    owner_id      = number
    repository_id = number
  })
  default = null

  validation {
    condition     = var.github_repository_ids == null || try(var.github_repository_ids.owner_id > 0 && var.github_repository_ids.repository_id > 0, false)
    error_message = "github_repository_ids must hold positive owner_id and repository_id."
  }
}

variable "name_prefix" {
  description = "name_prefix of the environment the apply role deploys (terraform/env/prod.tfvars). Every resource the apply role may create, change or delete is named <name_prefix>-*."
  type        = string
  default     = "rtstream-prod"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.name_prefix))
    error_message = "name_prefix must be 2-31 lower-case letters, digits or hyphens, starting with a letter, like the root module's."
  }
}

variable "deployment_tags" {
  description = "Tags the root module puts on the environment's KMS key (provider default_tags Project plus the Environment of env/prod.tfvars). The apply role may create, manage and use only KMS keys that carry all of them: keys have no name to scope by."
  type        = map(string)
  default = {
    Project     = "rtstream"
    Environment = "prod"
  }

  validation {
    condition     = length(var.deployment_tags) == 2 && alltrue([for k in ["Project", "Environment"] : length(trimspace(lookup(var.deployment_tags, k, ""))) > 0])
    error_message = "deployment_tags must set exactly Project and Environment, both non-empty."
  }
}

variable "deployment_kms_key_arn" {
  description = "ARN of the environment's KMS key once the first deploy created it (terraform -chdir=terraform output kms_key_arn). Set, the apply role may administer that one key and no other, and may create none. null (the first deploy only): it may create a key tagged with deployment_tags and use keys so tagged, but never change a key policy, untag or delete a key. KMS lets a caller that may tag keys at CreateKey tag any existing key too, so tags alone can't tell the deployment's key from another team's."
  type        = string
  default     = null

  validation {
    condition     = var.deployment_kms_key_arn == null ? true : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.deployment_kms_key_arn)) && split(":", var.deployment_kms_key_arn)[3] == var.aws_region
    error_message = "deployment_kms_key_arn must be the ARN of a KMS key in aws_region (arn:aws:kms:REGION:ACCOUNT:key/KEY-ID), not an alias."
  }
}

variable "create_oidc_provider" {
  description = "Create the account's GitHub Actions OIDC provider (token.actions.githubusercontent.com). An account has at most one: set false where it exists already, and the module reads it instead."
  type        = bool
  default     = true

  validation {
    condition     = var.create_oidc_provider != null
    error_message = "create_oidc_provider must be true or false."
  }
}

variable "pull_request_plan_environment" {
  description = "GitHub environment of the pull-request plan job: the pull-request plan role (it reads the state object and nothing else), a Snowflake user without privileges. Any branch of the repository may use it; forks and Dependabot never reach it."
  type        = string
  default     = "plan"

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{1,100}$", var.pull_request_plan_environment))
    error_message = "pull_request_plan_environment must be 1-100 letters, digits, '.', '_' or '-'."
  }
}

variable "main_plan_environment" {
  description = "GitHub environment of the plan that main saves for the apply: the plan role (ReadOnlyAccess without data reads) trusts it on refs/heads/main only. Give it the deployment branch rule main and required reviewers: it holds the deployer's Snowflake key (README.md)."
  type        = string
  default     = "production-plan"

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{1,100}$", var.main_plan_environment))
    error_message = "main_plan_environment must be 1-100 letters, digits, '.', '_' or '-'."
  }
}

variable "apply_environment" {
  description = "GitHub environment of the apply job: the apply role trusts it on refs/heads/main only. Give it required reviewers and the deployment branch rule main."
  type        = string
  default     = "production"

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{1,100}$", var.apply_environment))
    error_message = "apply_environment must be 1-100 letters, digits, '.', '_' or '-'."
  }

  validation {
    condition     = length(distinct([var.pull_request_plan_environment, var.main_plan_environment, var.apply_environment])) == 3
    error_message = "The three GitHub environments must have different names, or a role would trust another job's environment."
  }
}

variable "create_state_bucket" {
  description = "Create the Terraform state bucket (versioned, KMS-encrypted, private, TLS only). false uses an existing bucket named state_bucket_name."
  type        = bool
  default     = true

  validation {
    condition     = var.create_state_bucket != null
    error_message = "create_state_bucket must be true or false."
  }
}

variable "state_bucket_name" {
  description = "Name of the state bucket shared by every environment (bucket of terraform/env/*.backend.hcl); null means <Project tag>-tfstate-<account id>, as in docs/deploy.md."
  type        = string
  default     = null

  validation {
    condition     = var.state_bucket_name == null ? true : can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.state_bucket_name))
    error_message = "state_bucket_name must be a valid S3 bucket name (3-63 lower-case letters, digits, dots and hyphens)."
  }
}

variable "state_key" {
  description = "State object of the deployed environment (key of terraform/env/prod.backend.hcl). The roles may read it; only the apply role may write it and its .tflock."
  type        = string
  default     = "rtstream/prod.tfstate"

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9/_.-]*\\.tfstate$", var.state_key))
    error_message = "state_key must be an S3 key ending in .tfstate, like rtstream/prod.tfstate."
  }
}

variable "state_version_retention_days" {
  description = "Days an overwritten state version is kept before the bucket deletes it (the undo history of the state)."
  type        = number
  default     = 365

  validation {
    condition     = var.state_version_retention_days >= 30 && var.state_version_retention_days <= 3650
    error_message = "state_version_retention_days must be between 30 and 3650."
  }
}

variable "kms_deletion_window_days" {
  description = "Waiting period before the state and plan KMS key is deleted after a destroy, in days."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30
    error_message = "kms_deletion_window_days must be between 7 and 30."
  }
}

variable "tags" {
  description = "Extra tags on the bootstrap's own resources. They must not repeat deployment_tags, or the state key would look like a deployment key (its key policy denies the roles its administration anyway)."
  type        = map(string)
  default     = {}

  validation {
    condition     = length(var.tags) <= 40 && !alltrue([for k, v in var.deployment_tags : lookup(var.tags, k, null) == v])
    error_message = "tags must hold at most 40 tags and must not repeat all of deployment_tags."
  }
}

variable "manage_api_gateway_account_role" {
  description = "Set the API Gateway CloudWatch Logs role of this account and region, which the stacks' API logging needs. An account-wide setting with one owner: true unless another stack already sets it (`aws apigateway get-account` shows a cloudwatchRoleArn)."
  type        = bool
  default     = false
}
