# Everything between the data bucket and the EVENTS_DEDUP view, one file per Snowflake
# object (README.md). Here: the AWS account facts and the values the other files share.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  database = var.create_database ? snowflake_database.this[0].name : var.names.database
  schema   = var.create_database ? snowflake_schema.this[0].name : var.names.schema

  # Values for the ${...} placeholders of the files in sql_dir (see snowflake/README.md).
  sql_vars = {
    database    = local.database
    schema      = local.schema
    table       = var.names.table
    stage       = var.names.stage
    file_format = var.names.file_format
    pipe        = var.names.pipe
    view        = var.names.dedup_view
  }
  qualified_schema = "${local.database}.${local.schema}"

  # Snowflake names the S3 flavour of each AWS partition, and URLs use it as their scheme.
  storage_provider = {
    aws        = "S3"
    aws-us-gov = "S3GOV"
    aws-cn     = "S3CHINA"
  }[data.aws_partition.current.partition]
  s3_scheme = lower(local.storage_provider)
}
