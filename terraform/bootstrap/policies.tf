# The permissions of the GitHub roles (beyond ReadOnlyAccess for main's plan and the apply),
# and the permissions boundary of the stack's own roles. Each statement names the resources of
# the deployment by its name prefix (every name in config/pipeline.json is "{prefix}-..."), and
# its KMS key by ARN (deployment_kms_key_arn) or, before the first deploy created it, by tags.
# Keep in step with terraform/ (root and modules): a resource type added there needs its
# write actions here, or the apply stops with AccessDenied naming the missing action.

locals {
  arn_prefix = {
    for service in ["cloudwatch", "kms", "kinesis", "firehose", "lambda", "logs", "secretsmanager", "sns", "wafv2"] :
    service => "arn:${local.partition}:${service}:${var.aws_region}:${local.account_id}"
  }
  apigateway_arn = "arn:${local.partition}:apigateway:${var.aws_region}::"
  role_arn       = "arn:${local.partition}:iam::${local.account_id}:role"

  # The deployment's KMS key: the pinned ARN, or (first deploy only) any key, narrowed by the
  # deployment's tags in every statement that uses it. See variables.tf.
  deployment_key_pinned = var.deployment_kms_key_arn != null
  deployment_key        = local.deployment_key_pinned ? var.deployment_kms_key_arn : "${local.arn_prefix.kms}:key/*"

  # Services that create the deployment's encrypted resources with the caller's rights.
  kms_via_services = [for service in ["lambda", "kinesis", "logs", "sns", "firehose", "secretsmanager"] : "${service}.${var.aws_region}.${local.dns_suffix}"]
}

# --- pull request plan role: the state object, nothing else -------------------------
# terraform plan -lock=false -refresh=false reads the state and calls no AWS API beyond
# sts:GetCallerIdentity (which needs no permission): the root's only data sources are
# aws_caller_identity, aws_partition and aws_iam_policy_document. The state is encrypted with
# the bootstrap's key, whose key policy lets this role decrypt that one object through S3.

data "aws_iam_policy_document" "pull_request_plan" {
  statement {
    sid       = "ListStateBucket"
    actions   = ["s3:ListBucket"]
    resources = [local.state_bucket_arn]
  }

  statement {
    sid       = "ReadState"
    actions   = ["s3:GetObject"]
    resources = [local.state_object_arn]
  }
}

# --- main's plan role: state read, Lambda environments readable ---------------------

data "aws_iam_policy_document" "plan" {
  statement {
    sid       = "ListStateBucket"
    actions   = ["s3:ListBucket"]
    resources = [local.state_bucket_arn]
  }

  # Read only: plans run with -lock=false, so this role writes nothing, not even the lock file.
  statement {
    sid       = "ReadState"
    actions   = ["s3:GetObject"]
    resources = [local.state_object_arn]
  }

  # Lambda returns a function's environment only to callers that may decrypt it with the
  # function's key; without this every plan would show the validator's environment as changed.
  statement {
    sid       = "ReadLambdaEnvironments"
    actions   = ["kms:Decrypt"]
    resources = [local.deployment_key]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["lambda.${var.aws_region}.${local.dns_suffix}"]
    }

    dynamic "condition" {
      for_each = var.deployment_tags

      content {
        test     = "StringEquals"
        variable = "aws:ResourceTag/${condition.key}"
        values   = [condition.value]
      }
    }
  }
}

# --- main's plan role and the apply role: ReadOnlyAccess without the data --------------
# ReadOnlyAccess reads data too: objects, parameters, secrets, log events, table items and
# stream records, function code and container images of the whole account. Terraform needs
# none of them for this stack (its state and lock objects, and its own functions, aside), so
# they are denied. Not denied, because refreshing the stack needs
# it: apigateway:GET on /apikeys/<id> (Terraform reads the API key's value, which IAM can't
# tell apart from reading its settings) and the Lambda environments (Lambda decrypts them for
# callers that may use the key). Not exhaustive: ReadOnlyAccess keeps growing; these are the
# data stores an AWS account most often holds secrets in.

data "aws_iam_policy_document" "deny_data_reads" {
  statement {
    sid           = "DenyObjectsButTheState"
    effect        = "Deny"
    actions       = ["s3:GetObject", "s3:GetObjectVersion", "s3-object-lambda:GetObject"]
    not_resources = [local.state_object_arn, local.lock_object_arn]
  }

  statement {
    sid    = "DenyParametersAndSecrets"
    effect = "Deny"
    actions = [
      "ssm:GetParameter*",
      "secretsmanager:GetSecretValue",
      "secretsmanager:BatchGetSecretValue",
    ]
    resources = ["*"]
  }

  statement {
    sid    = "DenyLogEvents"
    effect = "Deny"
    actions = [
      "logs:FilterLogEvents",
      "logs:GetLogEvents",
      "logs:GetLogRecord",
      "logs:GetQueryResults",
      "logs:StartLiveTail",
      "logs:StartQuery",
      "logs:Unmask",
    ]
    resources = ["*"]
  }

  statement {
    sid    = "DenyItemsAndRecords"
    effect = "Deny"
    actions = [
      "dynamodb:BatchGetItem",
      "dynamodb:GetItem",
      "dynamodb:GetRecords",
      "dynamodb:PartiQLSelect",
      "dynamodb:Query",
      "dynamodb:Scan",
      "kinesis:GetRecords",
      "kinesis:SubscribeToShard",
      "sqs:ReceiveMessage",
    ]
    resources = ["*"]
  }

  # GetFunction answers with a presigned URL of the function's code; refreshing the stack's
  # own functions needs it. Layers and container images hold code too (the stack has none).
  statement {
    sid           = "DenyCodeOfOtherFunctions"
    effect        = "Deny"
    actions       = ["lambda:GetFunction"]
    not_resources = ["${local.arn_prefix.lambda}:function:${var.name_prefix}-*"]
  }

  statement {
    sid    = "DenyLayersAndImages"
    effect = "Deny"
    actions = [
      "ecr:BatchGetImage",
      "ecr:GetDownloadUrlForLayer",
      "lambda:GetLayerVersion",
    ]
    resources = ["*"]
  }
}

# --- apply role: what terraform apply of the deployment changes ----------------------
# Two documents, because one managed policy holds at most 6,144 characters: the identity
# side (state, IAM roles, KMS keys) and the services. Both are attached to the apply role.

data "aws_iam_policy_document" "deploy_identity" {
  # The state: read, write, and the lock file of use_lockfile (created, then deleted).
  statement {
    sid       = "ListStateBucket"
    actions   = ["s3:ListBucket"]
    resources = [local.state_bucket_arn]
  }

  statement {
    sid       = "ReadWriteState"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = [local.state_object_arn, local.lock_object_arn]
  }

  statement {
    sid       = "ReleaseStateLock"
    actions   = ["s3:DeleteObject"]
    resources = [local.lock_object_arn]
  }

  # IAM roles of the Lambdas, Firehose and the Snowflake integrations. What a role may do is
  # set only with the workload boundary attached (the boundary in the request for CreateRole
  # and PutRolePermissionsBoundary, the role's for the others), so no inline policy or trust
  # the stack writes can reach past it. No managed policy attachments at all.
  statement {
    sid = "ChangeDeploymentRolesWithinTheBoundary"
    actions = [
      "iam:CreateRole",
      "iam:PutRolePermissionsBoundary",
      "iam:PutRolePolicy",
      "iam:UpdateAssumeRolePolicy",
    ]
    resources = ["${local.role_arn}/${var.name_prefix}-*"]

    condition {
      test     = "StringEquals"
      variable = "iam:PermissionsBoundary"
      values   = [local.workload_boundary_arn]
    }
  }

  statement {
    sid = "ManageDeploymentRoles"
    actions = [
      "iam:DeleteRole",
      "iam:DeleteRolePolicy",
      "iam:DetachRolePolicy",
      "iam:TagRole",
      "iam:UntagRole",
      "iam:UpdateRole",
      "iam:UpdateRoleDescription",
    ]
    resources = ["${local.role_arn}/${var.name_prefix}-*"]
  }

  # Guard rails, whatever an Allow may match in future: no role of the account gets a policy or
  # trust without the boundary, and no boundary is ever removed.
  statement {
    sid    = "DenyRolePermissionsWithoutTheBoundary"
    effect = "Deny"
    actions = [
      "iam:AttachRolePolicy",
      "iam:CreateRole",
      "iam:PutRolePermissionsBoundary",
      "iam:PutRolePolicy",
      "iam:UpdateAssumeRolePolicy",
    ]
    resources = ["${local.role_arn}/*"]

    condition {
      test     = "StringNotEquals"
      variable = "iam:PermissionsBoundary"
      values   = [local.workload_boundary_arn]
    }
  }

  statement {
    sid       = "DenyRemovingBoundaries"
    effect    = "Deny"
    actions   = ["iam:DeleteRolePermissionsBoundary"]
    resources = ["${local.role_arn}/*"]
  }

  statement {
    sid       = "PassDeploymentRolesToTheirServices"
    actions   = ["iam:PassRole"]
    resources = ["${local.role_arn}/${var.name_prefix}-*"]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = [for service in ["lambda", "firehose", "apigateway"] : "${service}.${local.dns_suffix}"]
    }
  }

  # KMS keys have no name. KMS lets a caller tag keys at CreateKey only with kms:TagResource
  # on every key of the account, so a role that may create tagged keys may also tag anyone's
  # key with the deployment's tags: tags can't say which key is the deployment's. Hence the
  # ARN: once deployment_kms_key_arn is set, the role administers that key and no other and
  # creates none. Before (the first deploy creates the key), it may create a key with the
  # deployment's tags and set it up, but never change a key policy or a key's tags afterwards,
  # so a key it tagged stays its owner's. Deleting a key (it encrypts every event) is an
  # administrator's act, never the workflow's.
  dynamic "statement" {
    for_each = local.deployment_key_pinned ? [1] : []

    content {
      sid = "ManageTheDeploymentKey"
      actions = [
        "kms:CreateAlias",
        "kms:DeleteAlias",
        "kms:EnableKeyRotation",
        "kms:PutKeyPolicy",
        "kms:TagResource",
        "kms:UntagResource",
        "kms:UpdateAlias",
        "kms:UpdateKeyDescription",
      ]
      resources = [var.deployment_kms_key_arn]
    }
  }

  dynamic "statement" {
    for_each = local.deployment_key_pinned ? [] : [1]

    content {
      sid       = "CreateTheDeploymentKey"
      actions   = ["kms:CreateKey"]
      resources = ["*"]

      dynamic "condition" {
        for_each = var.deployment_tags

        content {
          test     = "StringEquals"
          variable = "aws:RequestTag/${condition.key}"
          values   = [condition.value]
        }
      }
    }
  }

  # The tags passed to CreateKey need TagResource on every key (the new key has no ARN yet).
  dynamic "statement" {
    for_each = local.deployment_key_pinned ? [] : [1]

    content {
      sid       = "TagTheNewDeploymentKey"
      actions   = ["kms:TagResource"]
      resources = [local.deployment_key]

      dynamic "condition" {
        for_each = var.deployment_tags

        content {
          test     = "StringEquals"
          variable = "aws:RequestTag/${condition.key}"
          values   = [condition.value]
        }
      }
    }
  }

  dynamic "statement" {
    for_each = local.deployment_key_pinned ? [] : [1]

    content {
      sid       = "SetUpTheNewDeploymentKey"
      actions   = ["kms:CreateAlias", "kms:EnableKeyRotation"]
      resources = [local.deployment_key]

      dynamic "condition" {
        for_each = var.deployment_tags

        content {
          test     = "StringEquals"
          variable = "aws:ResourceTag/${condition.key}"
          values   = [condition.value]
        }
      }
    }
  }

  # The alias half of CreateAlias/DeleteAlias/UpdateAlias (the key half is above).
  statement {
    sid       = "ManageDeploymentKeyAlias"
    actions   = ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"]
    resources = ["${local.arn_prefix.kms}:alias/${var.name_prefix}"]
  }

  # Lambda (environment encryption, with a grant), Kinesis, CloudWatch Logs, SNS, Firehose and
  # Secrets Manager (the Snowflake secret's key) check that the caller may use the key they are
  # given; only through those services.
  statement {
    sid       = "UseDeploymentKeysThroughTheirServices"
    actions   = ["kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [local.deployment_key]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = local.kms_via_services
    }

    dynamic "condition" {
      for_each = var.deployment_tags

      content {
        test     = "StringEquals"
        variable = "aws:ResourceTag/${condition.key}"
        values   = [condition.value]
      }
    }
  }

  # Guard rail: never the roles, policies (the boundary among them) and OIDC provider of this
  # module, whatever an Allow may match in future.
  statement {
    sid    = "DenyChangingTheDeployIdentity"
    effect = "Deny"
    actions = [
      "iam:AttachRolePolicy",
      "iam:CreatePolicyVersion",
      "iam:DeleteOpenIDConnectProvider",
      "iam:DeletePolicy",
      "iam:DeletePolicyVersion",
      "iam:DeleteRole",
      "iam:DeleteRolePermissionsBoundary",
      "iam:DeleteRolePolicy",
      "iam:DetachRolePolicy",
      "iam:PutRolePermissionsBoundary",
      "iam:PutRolePolicy",
      "iam:SetDefaultPolicyVersion",
      "iam:UpdateAssumeRolePolicy",
      "iam:UpdateOpenIDConnectProviderThumbprint",
      "iam:UpdateRole",
      "iam:AddClientIDToOpenIDConnectProvider",
      "iam:RemoveClientIDFromOpenIDConnectProvider",
    ]
    resources = [
      "${local.role_arn}${local.role_path}*",
      "arn:${local.partition}:iam::${local.account_id}:policy${local.role_path}*",
      "arn:${local.partition}:iam::${local.account_id}:oidc-provider/${local.github_oidc_host}",
    ]
  }
}

data "aws_iam_policy_document" "deploy_services" {
  # The data and error buckets (not the state bucket: denied below).
  statement {
    sid = "ManageDeploymentBuckets"
    actions = [
      "s3:CreateBucket",
      "s3:DeleteBucket",
      "s3:DeleteBucketPolicy",
      "s3:PutBucketNotification",
      "s3:PutBucketOwnershipControls",
      "s3:PutBucketPolicy",
      "s3:PutBucketPublicAccessBlock",
      "s3:PutBucketTagging",
      "s3:PutBucketVersioning",
      "s3:PutEncryptionConfiguration",
      "s3:PutLifecycleConfiguration",
      "s3:TagResource",
      "s3:UntagResource",
    ]
    resources = ["arn:${local.partition}:s3:::${var.name_prefix}-*"]
  }

  statement {
    sid = "ManageDeploymentStream"
    actions = [
      "kinesis:AddTagsToStream",
      "kinesis:CreateStream",
      "kinesis:DecreaseStreamRetentionPeriod",
      "kinesis:DeleteStream",
      "kinesis:IncreaseStreamRetentionPeriod",
      "kinesis:RemoveTagsFromStream",
      "kinesis:StartStreamEncryption",
      "kinesis:StopStreamEncryption",
      "kinesis:TagResource",
      "kinesis:UntagResource",
      "kinesis:UpdateShardCount",
      "kinesis:UpdateStreamMode",
    ]
    resources = ["${local.arn_prefix.kinesis}:stream/${var.name_prefix}-*"]
  }

  statement {
    sid = "ManageDeploymentDeliveryStream"
    actions = [
      "firehose:CreateDeliveryStream",
      "firehose:DeleteDeliveryStream",
      "firehose:StartDeliveryStreamEncryption",
      "firehose:StopDeliveryStreamEncryption",
      "firehose:TagDeliveryStream",
      "firehose:UntagDeliveryStream",
      "firehose:UpdateDestination",
    ]
    resources = ["${local.arn_prefix.firehose}:deliverystream/${var.name_prefix}-*"]
  }

  statement {
    sid = "ManageDeploymentFunctions"
    actions = [
      "lambda:AddPermission",
      "lambda:CreateFunction",
      "lambda:DeleteFunction",
      "lambda:DeleteFunctionConcurrency",
      "lambda:PutFunctionConcurrency",
      "lambda:RemovePermission",
      "lambda:TagResource",
      "lambda:UntagResource",
      "lambda:UpdateFunctionCode",
      "lambda:UpdateFunctionConfiguration",
    ]
    resources = ["${local.arn_prefix.lambda}:function:${var.name_prefix}-*"]
  }

  # The log groups the stack creates before their services would (encrypted, with retention).
  # API Gateway names the execution log group after the API's id, which AWS assigns: it can
  # only be matched as API-Gateway-Execution-Logs_* in this account and region.
  statement {
    sid = "ManageDeploymentLogGroups"
    actions = [
      "logs:AssociateKmsKey",
      "logs:CreateLogGroup",
      "logs:CreateLogStream",
      "logs:DeleteLogGroup",
      "logs:DeleteLogStream",
      "logs:DeleteRetentionPolicy",
      "logs:DisassociateKmsKey",
      "logs:PutRetentionPolicy",
      "logs:TagLogGroup",
      "logs:TagResource",
      "logs:UntagLogGroup",
      "logs:UntagResource",
    ]
    resources = [
      "${local.arn_prefix.logs}:log-group:/aws/lambda/${var.name_prefix}-*",
      "${local.arn_prefix.logs}:log-group:/aws/kinesisfirehose/${var.name_prefix}-*",
      "${local.arn_prefix.logs}:log-group:/aws/apigateway/${var.name_prefix}-*",
      "${local.arn_prefix.logs}:log-group:API-Gateway-Execution-Logs_*",
      "${local.arn_prefix.logs}:log-group:aws-waf-logs-${var.name_prefix}-*",
    ]
  }

  # snowpipe_streaming: the empty secret of Firehose's Snowflake key pair. Its value is put by
  # hand (docs/deploy.md); reading it stays denied (deny_data_reads). Secrets Manager appends
  # six random characters to a secret's ARN.
  statement {
    sid = "ManageDeploymentSecrets"
    actions = [
      "secretsmanager:CreateSecret",
      "secretsmanager:DeleteResourcePolicy",
      "secretsmanager:DeleteSecret",
      "secretsmanager:DescribeSecret",
      "secretsmanager:GetResourcePolicy",
      "secretsmanager:PutResourcePolicy",
      "secretsmanager:TagResource",
      "secretsmanager:UntagResource",
      "secretsmanager:UpdateSecret",
    ]
    resources = ["${local.arn_prefix.secretsmanager}:secret:${var.name_prefix}-*"]
  }

  statement {
    sid       = "ManageDeploymentTopics"
    actions   = ["sns:CreateTopic", "sns:DeleteTopic", "sns:SetTopicAttributes", "sns:TagResource", "sns:UntagResource"]
    resources = ["${local.arn_prefix.sns}:${var.name_prefix}-*"]
  }

  # The observability module's e-mail and HTTPS subscriptions of the alarm and Snowflake
  # topics; a subscription's ARN is its topic's ARN plus an id.
  statement {
    sid       = "ManageDeploymentTopicSubscriptions"
    actions   = ["sns:Subscribe", "sns:Unsubscribe", "sns:GetSubscriptionAttributes", "sns:SetSubscriptionAttributes"]
    resources = ["${local.arn_prefix.sns}:${var.name_prefix}-*"]
  }

  statement {
    sid       = "ManageDeploymentAlarms"
    actions   = ["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:TagResource", "cloudwatch:UntagResource"]
    resources = ["${local.arn_prefix.cloudwatch}:alarm:${var.name_prefix}-*"]
  }

  # Dashboards are global: their ARNs have neither region nor account id.
  statement {
    sid       = "ManageDeploymentDashboards"
    actions   = ["cloudwatch:PutDashboard", "cloudwatch:DeleteDashboards"]
    resources = ["arn:${local.partition}:cloudwatch::${local.account_id}:dashboard/${var.name_prefix}-*"]
  }

  # API Gateway authorises its REST management API by HTTP verb on resource paths. REST API,
  # API key and usage plan ids are assigned by AWS, so they can't be matched by name: this is
  # every REST API, key and usage plan of the account in this region. The account-wide
  # logging setting (/account) is this module's, not the stack's. Reads come from ReadOnlyAccess.
  statement {
    sid     = "ManageRestApis"
    actions = ["apigateway:DELETE", "apigateway:PATCH", "apigateway:POST", "apigateway:PUT"]
    resources = [
      "${local.apigateway_arn}/restapis",
      "${local.apigateway_arn}/restapis/*",
      "${local.apigateway_arn}/apikeys",
      "${local.apigateway_arn}/apikeys/*",
      "${local.apigateway_arn}/usageplans",
      "${local.apigateway_arn}/usageplans/*",
      "${local.apigateway_arn}/tags/*",
    ]
  }

  # The optional WAF web ACL of the API stage (modules/waf, named <name_prefix>-api). Web ACL
  # ARNs end in an id AWS assigns, hence the trailing /*. CreateWebACL and UpdateWebACL also
  # authorise the AWS managed rule groups a web ACL names (AWS's, in no account of ours).
  statement {
    sid = "ManageDeploymentWebAcls"
    actions = [
      "wafv2:CreateWebACL",
      "wafv2:DeleteLoggingConfiguration",
      "wafv2:DeleteWebACL",
      "wafv2:PutLoggingConfiguration",
      "wafv2:TagResource",
      "wafv2:UntagResource",
      "wafv2:UpdateWebACL",
    ]
    resources = [
      "${local.arn_prefix.wafv2}:regional/webacl/${var.name_prefix}-*/*",
      "arn:${local.partition}:wafv2:${var.aws_region}:*:regional/managedruleset/*/*",
    ]
  }

  # Associating a web ACL with a stage is authorised on both, and by API Gateway too
  # (apigateway:SetWebACL). Stage ARNs carry the API id AWS assigns: any stage of the region.
  statement {
    sid     = "AssociateDeploymentWebAcls"
    actions = ["apigateway:SetWebACL", "wafv2:AssociateWebACL", "wafv2:DisassociateWebACL"]
    resources = [
      "${local.arn_prefix.wafv2}:regional/webacl/${var.name_prefix}-*/*",
      "${local.apigateway_arn}/restapis/*/stages/*",
    ]
  }

  # WAF delivers its logs to CloudWatch Logs as "vended logs": PutLoggingConfiguration creates a
  # log delivery and, where none allows it yet, the account's log resource policy that lets the
  # delivery service write aws-waf-logs-* groups, both with the caller's rights. None of these
  # actions takes a resource; the region is the only scope IAM offers.
  statement {
    sid       = "DeliverWafLogs"
    actions   = ["logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:PutResourcePolicy", "logs:UpdateLogDelivery"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestedRegion"
      values   = [var.aws_region]
    }
  }

  # Guard rail: never the state bucket's settings or the state's history (its name may match
  # <name_prefix>-* when state_bucket_name is set so).
  statement {
    sid    = "DenyChangingTheStateBucket"
    effect = "Deny"
    actions = [
      "s3:DeleteBucket",
      "s3:DeleteBucketPolicy",
      "s3:DeleteObjectVersion",
      "s3:PutBucketNotification",
      "s3:PutBucketOwnershipControls",
      "s3:PutBucketPolicy",
      "s3:PutBucketPublicAccessBlock",
      "s3:PutBucketTagging",
      "s3:PutBucketVersioning",
      "s3:PutEncryptionConfiguration",
      "s3:PutLifecycleConfiguration",
      "s3:TagResource",
      "s3:UntagResource",
    ]
    resources = [local.state_bucket_arn, "${local.state_bucket_arn}/*"]
  }
}

# --- workload boundary: the most any role of the stack may do -------------------------
# The union of what the stack's roles need (modules/lambda_function, delivery, api and
# snowflake/iam.tf), on the deployment's resources only: the Lambdas write their logs, traces,
# events (Kinesis) and rejections (S3); Firehose reads the stream, invokes the transformer,
# writes the data bucket and its logs; Snowflake reads the data bucket and publishes load
# errors to SNS; all of them use the deployment's key. No IAM, no STS, nothing else: a role
# whose inline policy grants more still can't use it. A new permission of a stack role needs
# it here too (the role then gets AccessDenied naming it).

data "aws_iam_policy_document" "workload_boundary" {
  statement {
    sid     = "WriteOwnLogs"
    actions = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [
      "${local.arn_prefix.logs}:log-group:/aws/lambda/${var.name_prefix}-*",
      "${local.arn_prefix.logs}:log-group:/aws/kinesisfirehose/${var.name_prefix}-*",
    ]
  }

  statement {
    sid = "ReadAndWriteTheStream"
    actions = [
      "kinesis:DescribeStream",
      "kinesis:DescribeStreamSummary",
      "kinesis:GetRecords",
      "kinesis:GetShardIterator",
      "kinesis:ListShards",
      "kinesis:PutRecord",
      "kinesis:PutRecords",
    ]
    resources = ["${local.arn_prefix.kinesis}:stream/${var.name_prefix}-*"]
  }

  statement {
    sid = "ReadAndWriteTheBuckets"
    actions = [
      "s3:AbortMultipartUpload",
      "s3:GetBucketLocation",
      "s3:GetObject",
      "s3:GetObjectVersion",
      "s3:ListBucket",
      "s3:ListBucketMultipartUploads",
      "s3:PutObject",
    ]
    resources = [
      "arn:${local.partition}:s3:::${var.name_prefix}-*",
      "arn:${local.partition}:s3:::${var.name_prefix}-*/*",
    ]
  }

  statement {
    sid       = "InvokeTheTransformer"
    actions   = ["lambda:GetFunctionConfiguration", "lambda:InvokeFunction"]
    resources = ["${local.arn_prefix.lambda}:function:${var.name_prefix}-*"]
  }

  # snowpipe_streaming: Firehose reads its Snowflake key pair (decrypted with UseTheDeploymentKey).
  statement {
    sid       = "ReadTheSnowflakeSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = ["${local.arn_prefix.secretsmanager}:secret:${var.name_prefix}-*"]
  }

  statement {
    sid       = "PublishLoadErrors"
    actions   = ["sns:Publish"]
    resources = ["${local.arn_prefix.sns}:${var.name_prefix}-*"]
  }

  statement {
    sid       = "UseTheDeploymentKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [local.deployment_key]

    dynamic "condition" {
      for_each = var.deployment_tags

      content {
        test     = "StringEquals"
        variable = "aws:ResourceTag/${condition.key}"
        values   = [condition.value]
      }
    }
  }

  # X-Ray trace segments can't be scoped to a resource.
  statement {
    sid       = "WriteTraces"
    actions   = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    resources = ["*"]
  }
}

# A warning on every plan until the apply role is tied to the deployment's key.
check "deployment_key_pinned" {
  assert {
    condition     = local.deployment_key_pinned
    error_message = "deployment_kms_key_arn is not set, so the apply role may still tag (though not administer) any KMS key of the account. Once the first deploy has created the key, set it to `terraform -chdir=terraform output -raw kms_key_arn` and apply this module again (README.md)."
  }
}
