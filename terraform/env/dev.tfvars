# The dev environment. Passed with -var-file=env/dev.tfvars by CI and by hand alike, so
# every apply of dev uses the same settings (docs/deploy.md). Names, prefixes and limits
# come from config/pipeline.json; set a variable here only to change it for dev.

aws_region = "eu-west-1"

# One prefix per environment: every AWS name and every account-level Snowflake object
# (database RTSTREAM_DEV, integrations, warehouse, roles) derives from it, so dev and prod can
# share one AWS and one Snowflake account.
name_prefix = "rtstream-dev"

tags = {
  Environment = "dev"
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
# private key is the GitHub environment secret SNOWFLAKE_PROBE_PRIVATE_KEY.
# snowflake_probe_rsa_public_key = "MIIBIjANBgkqh..."

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
# alarm_thresholds = { api_p99_latency_ms = 5000 }

# API clients: one API key each (output client_api_keys), on a tier or with limits of their own;
# `default` is the key of output api_key (README.md, API clients).
# api_usage_tiers = { bulk = { rate_limit = 200, burst_limit = 400, quota_limit = 5000000, quota_period = "DAY" } }
# api_clients = {
#   default  = { tier = "default" }
#   loadtest = { tier = "bulk" }
# }

# Reserved concurrency: none in dev (README.md, Reserved concurrency); prod reserves both.
validator_reserved_concurrency   = -1
transformer_reserved_concurrency = -1

# No WAF in dev: the API key, the usage plans and the validator's limits are enough here.
waf_enabled = false
