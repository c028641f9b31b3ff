# One customer-managed key for the whole pipeline: buckets, stream, Lambda environments,
# log groups and the error topic. IAM policies grant its use per role.

data "aws_partition" "current" {}

data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_109:Key policy: "*" is the key itself; the account-root statement is the AWS default that keeps the key manageable through IAM.
  #checkov:skip=CKV_AWS_111:Key policy: "*" is the key itself; writes are granted per role through IAM.
  #checkov:skip=CKV_AWS_356:Key policy: the resource of a key policy statement is always "*" (this key).
  # iam-wildcard: AWS's default key policy: the account root holds kms:* so that IAM policies can grant the key's use and it never becomes unmanageable.
  statement {
    sid       = "AccountAdministersThroughIam"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }

  # CloudWatch Logs encrypts log groups with the key only if the key policy says so.
  statement {
    sid = "CloudWatchLogsEncrypt"
    actions = [
      "kms:Encrypt",
      "kms:Decrypt",
      "kms:ReEncryptFrom",
      "kms:ReEncryptTo",
      "kms:GenerateDataKey",
      "kms:GenerateDataKeyWithoutPlaintext",
      "kms:DescribeKey",
    ]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${var.aws_region}.${data.aws_partition.current.dns_suffix}"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${data.aws_partition.current.partition}:logs:${var.aws_region}:${data.aws_caller_identity.current.account_id}:log-group:*"]
    }
  }

  # CloudWatch encrypts an alarm's notification with the alarm topic's key; without this its
  # alarms change state and every notification is dropped. Only this account's alarms of
  # this pipeline (modules/observability names them <prefix>-*).
  statement {
    sid       = "CloudWatchAlarmsNotify"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.${data.aws_partition.current.dns_suffix}"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${data.aws_partition.current.partition}:cloudwatch:${var.aws_region}:${data.aws_caller_identity.current.account_id}:alarm:${local.name_prefix}-*"]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "rtstream ${local.name_prefix}: events at rest (S3, Kinesis, Lambda, logs, SNS)"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_days
  policy                  = data.aws_iam_policy_document.kms.json

  lifecycle {
    # Everything the buckets and the stream hold is encrypted with it: once deleted, kept
    # data is unreadable. docs/deploy.md "Tearing down" removes it on purpose.
    prevent_destroy = true
  }
}

resource "aws_kms_alias" "this" {
  name          = "alias/${local.name_prefix}"
  target_key_id = aws_kms_key.this.key_id
}
