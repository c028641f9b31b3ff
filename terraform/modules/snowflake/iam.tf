# IAM roles Snowflake assumes. Their ARNs are built as strings from the account and the
# role name, so the integrations can be created first and the roles' trust policies can
# then use the integrations' IAM user and external ID: one apply, no dependency cycle.

locals {
  role_arn_prefix  = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:role/"
  storage_role_arn = "${local.role_arn_prefix}${var.storage_role_name}"
  error_role_arn   = "${local.role_arn_prefix}${var.error_role_name}"

  snowflake_roles = merge(
    var.snowpipe_enabled ? {
      storage = {
        name = var.storage_role_name
        # describe_output is what Snowflake generated; storage_aws_external_id is only an
        # optional input (empty unless set) since provider 2.5.0.
        iam_user_arn = snowflake_storage_integration_aws.this[0].describe_output[0].iam_user_arn
        external_id  = snowflake_storage_integration_aws.this[0].describe_output[0].external_id
        policy       = data.aws_iam_policy_document.read_events.json
      }
    } : {},
    var.enable_error_integration ? {
      errors = {
        name         = var.error_role_name
        iam_user_arn = snowflake_notification_integration.errors[0].aws_sns_iam_user_arn
        external_id  = snowflake_notification_integration.errors[0].aws_sns_external_id
        policy       = data.aws_iam_policy_document.publish_errors[0].json
      }
    } : {}
  )
}

data "aws_iam_policy_document" "read_events" {
  statement {
    sid       = "ReadEvents"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = ["${var.data_bucket_arn}/${var.events_prefix}*"]
  }

  statement {
    sid       = "ListEvents"
    actions   = ["s3:ListBucket"]
    resources = [var.data_bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.events_prefix}*"]
    }
  }

  statement {
    sid       = "LocateBucket"
    actions   = ["s3:GetBucketLocation"]
    resources = [var.data_bucket_arn]
  }

  statement {
    sid       = "DecryptEvents"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
  }
}

data "aws_iam_policy_document" "trust" {
  for_each = local.snowflake_roles

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "AWS"
      identifiers = [each.value.iam_user_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "sts:ExternalId"
      values   = [each.value.external_id]
    }
  }
}

resource "aws_iam_role" "snowflake" {
  for_each = local.snowflake_roles

  name                 = each.value.name
  assume_role_policy   = data.aws_iam_policy_document.trust[each.key].json
  permissions_boundary = var.iam_permissions_boundary_arn
}

resource "aws_iam_role_policy" "snowflake" {
  for_each = local.snowflake_roles

  name   = each.value.name
  role   = aws_iam_role.snowflake[each.key].id
  policy = each.value.policy
}
