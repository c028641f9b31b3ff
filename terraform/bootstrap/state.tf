# The state bucket of terraform/env/*.backend.hcl and one KMS key for what the workflow
# must keep secret at rest: the state (it holds the API key) and the saved plan between the
# plan and the apply job (it holds the prior state). The key policy, not IAM, says who may
# use it, and for what.

# A key policy: "*" as a statement's resource is the key itself.
data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_109:Key policy: "*" is this key; the account-root statement is the AWS default that keeps the key manageable through IAM.
  #checkov:skip=CKV_AWS_111:Key policy: "*" is this key; the workflow roles get named actions under conditions, and a Deny on administration.
  #checkov:skip=CKV_AWS_356:Key policy: the resource of a key policy statement is always "*" (this key).
  # iam-wildcard: the AWS default key policy statement; the account administers the key through IAM.
  statement {
    sid       = "AccountAdministersThroughIam"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid    = "WorkflowRolesNeverAdministerTheKey"
    effect = "Deny"
    actions = [
      "kms:CreateAlias",
      "kms:CreateGrant",
      "kms:DeleteAlias",
      "kms:DisableKey",
      "kms:DisableKeyRotation",
      "kms:PutKeyPolicy",
      "kms:ScheduleKeyDeletion",
      "kms:TagResource",
      "kms:UntagResource",
      "kms:UpdateAlias",
      "kms:UpdateKeyDescription",
    ]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [for role in aws_iam_role.github : role.arn]
    }
  }

  # State: through S3 only, and only the object of var.state_key (the bucket key is off, so
  # S3's encryption context names the object). Both plan roles read it.
  statement {
    sid       = "PlanRolesReadTheState"
    actions   = ["kms:Decrypt"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.github["plan"].arn, aws_iam_role.github["pull_request_plan"].arn]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${var.aws_region}.${local.dns_suffix}"]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:aws:s3:arn"
      values   = [local.state_object_arn]
    }
  }

  statement {
    sid       = "ApplyRoleReadsAndWritesTheState"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.github["apply"].arn]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${var.aws_region}.${local.dns_suffix}"]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:aws:s3:arn"
      values   = [local.state_object_arn, local.lock_object_arn]
    }
  }

  # Saved plans (envelope encryption in deploy.yml): main's plan job gets a data key bound to
  # this repository; only the apply role can decrypt it again. A plan job can't read a plan.
  statement {
    sid       = "PlanJobsEncryptSavedPlans"
    actions   = ["kms:GenerateDataKey"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.github["plan"].arn]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:purpose"
      values   = [local.plan_encryption_purpose]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:repository"
      values   = [var.github_repository]
    }
  }

  statement {
    sid       = "ApplyJobDecryptsSavedPlans"
    actions   = ["kms:Decrypt"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.github["apply"].arn]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:purpose"
      values   = [local.plan_encryption_purpose]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:repository"
      values   = [var.github_repository]
    }
  }

  # A failed apply that could not save the state leaves errored.tfstate: the apply job encrypts
  # it for an administrator (who decrypts through the account statement above) before uploading
  # it. The apply role can't decrypt it again.
  statement {
    sid       = "ApplyJobEncryptsErroredState"
    actions   = ["kms:GenerateDataKey"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.github["apply"].arn]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:purpose"
      values   = [local.errored_state_encryption_purpose]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:repository"
      values   = [var.github_repository]
    }
  }
}

locals {
  # The encryption context deploy.yml passes with every saved plan's data key, and with the
  # data key of an errored.tfstate a failed apply leaves behind.
  plan_encryption_purpose          = "terraform-plan"
  errored_state_encryption_purpose = "terraform-errored-state"

  # for_each rather than count, keyed like the root's storage module, so that checkov links
  # the bucket's settings to it.
  state_buckets = var.create_state_bucket ? toset(["state"]) : toset([])
}

resource "aws_kms_key" "terraform" {
  description             = "${var.name_prefix}: Terraform state and saved plans of the GitHub deploy"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_days
  policy                  = data.aws_iam_policy_document.kms.json
}

# Outside alias/<name_prefix>, the one alias the apply role may change.
resource "aws_kms_alias" "terraform" {
  name          = "alias${local.role_path}${var.name_prefix}-terraform"
  target_key_id = aws_kms_key.terraform.key_id
}

resource "aws_s3_bucket" "state" {
  #checkov:skip=CKV_AWS_18:Access logs would need a second bucket; enable CloudTrail S3 data events for the state bucket instead.
  #checkov:skip=CKV_AWS_144:Cross-region replication of the state is a disaster-recovery choice; versioning keeps every state.
  #checkov:skip=CKV2_AWS_62:Nothing consumes state bucket events; Terraform is its only writer.
  for_each = local.state_buckets

  bucket = local.state_bucket_name

  # The state is the only record of what the deployment owns.
  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_s3_bucket_public_access_block" "state" {
  for_each = local.state_buckets

  bucket                  = aws_s3_bucket.state[each.key].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "state" {
  for_each = local.state_buckets

  bucket = aws_s3_bucket.state[each.key].id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "state" {
  for_each = local.state_buckets

  bucket = aws_s3_bucket.state[each.key].id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "state" {
  for_each = local.state_buckets

  bucket = aws_s3_bucket.state[each.key].id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.terraform.arn
    }
    # Off: with a bucket key S3's encryption context would name the bucket, not the object,
    # and the key policy could not tell the state apart from other objects. Few requests.
    bucket_key_enabled = false
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "state" {
  for_each = local.state_buckets

  bucket = aws_s3_bucket.state[each.key].id

  rule {
    id     = "expire-old-state-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.state_version_retention_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.state]
}

data "aws_iam_policy_document" "state_bucket" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      local.state_bucket_arn,
      "${local.state_bucket_arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "state" {
  for_each = local.state_buckets

  bucket = aws_s3_bucket.state[each.key].id
  policy = data.aws_iam_policy_document.state_bucket.json

  # S3 rejects a bucket policy while the public access block is being applied.
  depends_on = [aws_s3_bucket_public_access_block.state]
}
