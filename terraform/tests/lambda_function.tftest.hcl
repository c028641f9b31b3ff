# modules/lambda_function with a mocked provider (runs in GitHub Actions only, see README).

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

variables {
  name                 = "rtstream-test"
  description          = "test"
  zip_path             = "tests/fixtures/bootstrap.zip"
  architecture         = "arm64"
  memory_size          = 256
  timeout              = 20
  reserved_concurrency = -1
  tracing_mode         = "PassThrough"
  kms_key_arn          = "arn:aws:kms:eu-west-1:123456789012:key/test"
  log_retention_days   = 30
  environment          = { RTSTREAM_SCHEMA_DIR = "/var/task/schemas" }
}

run "cargo_lambda_zip_on_al2023" {
  command = plan

  module {
    source = "./modules/lambda_function"
  }

  assert {
    condition     = aws_lambda_function.this.runtime == "provided.al2023" && aws_lambda_function.this.handler == "bootstrap"
    error_message = "cargo-lambda zips run on provided.al2023 with handler bootstrap."
  }

  assert {
    condition     = length(aws_lambda_function.this.architectures) == 1 && aws_lambda_function.this.architectures[0] == "arm64"
    error_message = "The architecture variable must reach the function."
  }

  assert {
    condition     = aws_cloudwatch_log_group.this.name == "/aws/lambda/rtstream-test" && aws_cloudwatch_log_group.this.retention_in_days == 30
    error_message = "The function's log group must exist with a retention."
  }
}

run "rejects_wildcard_actions" {
  command = plan

  module {
    source = "./modules/lambda_function"
  }

  variables {
    policy_statements = [{ sid = "TooBroad", actions = ["s3:*"], resources = ["*"] }]
  }

  expect_failures = [var.policy_statements]
}

run "role_within_the_permissions_boundary" {
  command = plan

  module {
    source = "./modules/lambda_function"
  }

  variables {
    iam_permissions_boundary_arn = "arn:aws:iam::123456789012:policy/github-actions/rtstream-workload-boundary"
  }

  assert {
    condition     = aws_iam_role.this.permissions_boundary == "arn:aws:iam::123456789012:policy/github-actions/rtstream-workload-boundary"
    error_message = "The function's role must carry the boundary the apply role requires (terraform/bootstrap)."
  }
}

run "no_boundary_by_default" {
  command = plan

  module {
    source = "./modules/lambda_function"
  }

  assert {
    condition     = aws_iam_role.this.permissions_boundary == null
    error_message = "Without iam_permissions_boundary_arn (by hand, dev) the role has no boundary."
  }
}
