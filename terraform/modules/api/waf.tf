# The optional WAF web ACL (REGIONAL) of the stage, with var.waf.enabled: a per-IP rate limit,
# a Content-Length limit equal to the validator's max_request_bytes, optionally AWS's common
# rule set, and its logs in CloudWatch Logs. Both blocking rules answer in the event contract's
# error shape (docs/event-contract.md), so a client handles the WAF's 413 like the validator's.
# Named after the API: the deploy role manages web ACLs of its name prefix only.

locals {
  waf_enabled = var.waf.enabled

  # WAF compares sizes of request parts, not the numbers in them, and it inspects at most the
  # first 16-64 KB of a body: a body-size rule can't see a 4 MiB body. The Content-Length
  # header can: "greater than max_request_bytes" as a regular expression over its digits, i.e.
  # more digits than the limit, or as many with a larger digit at the first one that differs.
  waf_limit_digits = tostring(coalesce(var.waf.max_request_bytes, 0))
  waf_limit_width  = length(local.waf_limit_digits)
  waf_same_width_greater = [
    for i in range(local.waf_limit_width) : format(
      "%s[%d-9]%s",
      substr(local.waf_limit_digits, 0, i),
      tonumber(substr(local.waf_limit_digits, i, 1)) + 1,
      local.waf_limit_width - i - 1 > 0 ? "[0-9]{${local.waf_limit_width - i - 1}}" : "",
    ) if tonumber(substr(local.waf_limit_digits, i, 1)) < 9
  ]
  waf_content_length_over_limit = format("^\\s*0*(%s)\\s*$", join("|", concat(["[1-9][0-9]{${local.waf_limit_width},}"], local.waf_same_width_greater)))

  # The contract's error body. No Lambda ran, so there is no Lambda request id: "waf" says who
  # answered (API Gateway's x-amzn-RequestId header still names the request).
  waf_responses = {
    body_too_large = {
      status = 413
      body = jsonencode({
        request_id = "waf"
        error = {
          code    = "body.too_large"
          message = "the body is larger than ${coalesce(var.waf.max_request_bytes, 0)} bytes (Content-Length)"
        }
      })
    }
    rate_limited = {
      status = 429
      body = jsonencode({
        request_id = "waf"
        error = {
          code    = "rate.limited"
          message = "more than ${var.waf.rate_limit} requests from this IP address within ${var.waf.rate_window_seconds} s; retry later"
        }
      })
    }
  }

  waf_common_rule_set_enabled = var.waf.common_rule_set != "OFF"
}

resource "aws_wafv2_web_acl" "this" {
  #checkov:skip=CKV_AWS_192:The API's one backend is a Rust Lambda: no Log4j to exploit; add AWSManagedRulesKnownBadInputsRuleSet if a JVM ever sits behind this stage.
  count = local.waf_enabled ? 1 : 0

  name        = var.name
  description = "rtstream ${var.name}: per-IP rate limit, Content-Length limit${local.waf_common_rule_set_enabled ? ", AWS common rule set (${var.waf.common_rule_set})" : ""}"
  scope       = "REGIONAL"

  default_action {
    allow {}
  }

  dynamic "custom_response_body" {
    for_each = local.waf_responses

    content {
      key          = custom_response_body.key
      content      = custom_response_body.value.body
      content_type = "APPLICATION_JSON"
    }
  }

  # Evaluated first, so every request counts toward its client's rate, oversized or not.
  rule {
    name     = "rate-per-ip"
    priority = 0

    action {
      block {
        custom_response {
          response_code            = local.waf_responses.rate_limited.status
          custom_response_body_key = "rate_limited"

          response_header {
            name  = "Retry-After"
            value = tostring(var.waf.rate_window_seconds)
          }
        }
      }
    }

    statement {
      rate_based_statement {
        aggregate_key_type    = "IP"
        limit                 = var.waf.rate_limit
        evaluation_window_sec = var.waf.rate_window_seconds
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name}-rate-per-ip"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "content-length-over-limit"
    priority = 1

    action {
      block {
        custom_response {
          response_code            = local.waf_responses.body_too_large.status
          custom_response_body_key = "body_too_large"
        }
      }
    }

    statement {
      regex_match_statement {
        regex_string = local.waf_content_length_over_limit

        field_to_match {
          single_header {
            name = "content-length"
          }
        }

        text_transformation {
          priority = 0
          type     = "NONE"
        }
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name}-content-length-over-limit"
      sampled_requests_enabled   = true
    }
  }

  dynamic "rule" {
    for_each = local.waf_common_rule_set_enabled ? [var.waf.common_rule_set] : []

    content {
      name     = "aws-common-rule-set"
      priority = 2

      # COUNT: matches are only logged and counted (tune first); BLOCK: the rule set's own
      # actions apply.
      override_action {
        # An iterator of its own: "count" would shadow the resource's count.
        dynamic "count" {
          for_each = rule.value == "COUNT" ? [1] : []
          iterator = count_mode
          content {}
        }

        dynamic "none" {
          for_each = rule.value == "BLOCK" ? [1] : []
          iterator = block_mode
          content {}
        }
      }

      statement {
        managed_rule_group_statement {
          name        = "AWSManagedRulesCommonRuleSet"
          vendor_name = "AWS"

          # Its 8 KB body limit would refuse every batch; the size limit is the rule above.
          rule_action_override {
            name = "SizeRestrictions_BODY"

            action_to_use {
              count {}
            }
          }
        }
      }

      visibility_config {
        cloudwatch_metrics_enabled = true
        metric_name                = "${var.name}-aws-common-rule-set"
        sampled_requests_enabled   = true
      }
    }
  }

  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = var.name
    sampled_requests_enabled   = true
  }
}

resource "aws_wafv2_web_acl_association" "this" {
  count = local.waf_enabled ? 1 : 0

  resource_arn = aws_api_gateway_stage.this.arn
  web_acl_arn  = aws_wafv2_web_acl.this[0].arn
}

# WAF writes only to a log group named aws-waf-logs-*, and adds the log group resource policy
# that lets its log delivery write there (CloudWatch Logs "vended logs"): no role, no policy here.
resource "aws_cloudwatch_log_group" "waf" {
  #checkov:skip=CKV_AWS_338:Operational logs; retention is the log_retention_days variable (default 30 days), raise it where an audit trail is required.
  count = local.waf_enabled ? 1 : 0

  name              = "aws-waf-logs-${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_wafv2_web_acl_logging_configuration" "this" {
  count = local.waf_enabled ? 1 : 0

  resource_arn            = aws_wafv2_web_acl.this[0].arn
  log_destination_configs = [aws_cloudwatch_log_group.waf[0].arn]

  # The client's credential never reaches the logs.
  redacted_fields {
    single_header {
      name = "x-api-key"
    }
  }

  # By default only what a rule blocked or counted: allowed requests are in the stage's
  # access log already.
  dynamic "logging_filter" {
    for_each = var.waf.log_all_requests ? [] : [1]

    content {
      default_behavior = "DROP"

      filter {
        behavior    = "KEEP"
        requirement = "MEETS_ANY"

        condition {
          action_condition {
            action = "BLOCK"
          }
        }

        condition {
          action_condition {
            action = "COUNT"
          }
        }
      }
    }
  }
}
