# The prod environment. Passed with -var-file=env/prod.tfvars by CI and by hand alike, so
# every apply of prod uses the same settings (docs/deploy.md). Names, prefixes and limits
# come from config/pipeline.json; set a variable here only to change it for prod.

aws_region = "eu-west-1"

# One prefix per environment: every AWS name and every account-level Snowflake object
# (database RTSTREAM_PROD, integrations, warehouse, roles) derives from it, so dev and prod can
# share one AWS and one Snowflake account.
name_prefix = "rtstream-prod"

tags = {
  Environment = "prod"
  Owner       = "data-platform"
}

# Snowflake account identifier ORG-ACCOUNT and the key-pair service user and role of
# docs/deploy.md step 2. The private key is never here: Terraform reads it from the
# SNOWFLAKE_PRIVATE_KEY environment variable.
snowflake_organization_name = "MYORG"
snowflake_account_name      = "MYACCOUNT"
snowflake_user              = "RTSTREAM_TERRAFORM"
snowflake_role              = "RTSTREAM_DEPLOYER"

# Public key body of the post-deploy probe's service user (docs/deploy.md step 2); the
# private key is the GitHub environment secret SNOWFLAKE_PROBE_PRIVATE_KEY. The deploy's plan
# fails while it is not set.
snowflake_probe_rsa_public_key = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAreplaceWithYourProbePublicKey"

# Permissions boundary of the stack's roles, created by terraform/bootstrap:
# terraform -chdir=terraform/bootstrap output -raw workload_boundary_arn
iam_permissions_boundary_arn = "arn:aws:iam::123456789012:policy/github-actions/rtstream-prod-workload-boundary"

# Lambdas: arm64 zips from build_lambdas --arm64 (docs/deploy.md step 5).
lambda_architecture = "arm64"

stream_mode            = "ON_DEMAND"
stream_retention_hours = 24
log_retention_days     = 30
error_expiration_days  = 30

# How Firehose delivers to Snowflake (docs/latency.md): snowpipe, snowpipe_fresh or
# snowpipe_streaming. Switching replaces the Firehose stream: follow docs/deploy.md, "Switching
# the delivery mode". snowpipe_streaming also needs the public key of Firehose's Snowflake user
# (its private key goes into the Secrets Manager secret by hand, never here).
delivery_mode = "snowpipe"
# snowflake_streaming_rsa_public_key = "MIIBIjANBgkqh..."

# Snowpipe load errors and the Snowflake freshness check reach the snowpipe-notifications alarm
# (docs/operations.md); false would leave Snowpipe without any alarm.
snowflake_enable_error_integration = true

# Alarms (docs/operations.md): who is told, and thresholds other than the defaults listed there.
# Each address or URL must confirm its subscription once.
# alarm_email_addresses = ["data-platform-oncall@example.com"]
# alarm_https_endpoints = ["https://events.example.com/sns"]
# Once prod traffic is known never to pause for an hour, make 60 minutes without a row an alarm too.
# alarm_thresholds = { snowflake_max_minutes_without_rows = 60 }

# API clients: one API key each (output client_api_keys). `default` is the key of output api_key,
# which the deploy's probe and Postman run use; add a client per integrating system, on the
# default tier (api_usage_plan of config/pipeline.json), on a tier of api_usage_tiers, or with
# limits of its own (README.md, API clients).
# api_usage_tiers = { partner = { rate_limit = 100, burst_limit = 200, quota_limit = 2000000, quota_period = "DAY" } }
api_clients = {
  default = { tier = "default" }
  # shop_backend = { tier = "partner" }
  # analytics    = { rate_limit = 20, burst_limit = 40, quota_limit = 100000, quota_period = "DAY" }
}

# Reserved concurrency (README.md, Reserved concurrency): the validator may run at most 200 at
# once, so a flood can't take the account's concurrency; the transformer keeps 50 that nothing
# else can take. lambda_account_concurrency is the account's quota in the region
# (aws lambda get-account-settings --query AccountLimit.ConcurrentExecutions): the plan checks
# that 200 + 50 leave Lambda's 100 unreserved executions.
lambda_account_concurrency       = 1000
validator_reserved_concurrency   = 200
transformer_reserved_concurrency = 50

# WAF in front of the stage (modules/waf): 429 rate.limited past 30,000 requests per IP in 5
# minutes, 413 body.too_large past limits.max_request_bytes of Content-Length, blocked and
# counted requests logged to aws-waf-logs-rtstream-prod-api.
waf_enabled             = true
waf_rate_limit          = 30000
waf_rate_window_seconds = 300
waf_common_rule_set     = "OFF"
