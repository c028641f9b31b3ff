"""The alarms, the dashboard and the Snowflake monitoring views (terraform/modules/observability,
terraform/modules/snowflake, snowflake/*_view.sql), read statically; terraform/tests/
observability.tftest.hcl checks the same with mocked providers in GitHub Actions."""

import re
import string

import pytest
import sqlglot
from sqlglot import exp

import hcl
from conftest import MODULES, REPO, SQL_DIR, TERRAFORM

OBSERVABILITY = MODULES / "observability"
SNOWFLAKE = MODULES / "snowflake"
STAGES = {"api", "validator", "kinesis", "firehose", "s3", "snowpipe"}
STAGE = re.compile(r'"stage":\\?"(\w+)\\?"')
MONITORING_SQL = ["load_errors_view.sql", "rejected_rows_view.sql", "pipe_status_view.sql", "freshness_view.sql"]
SQL_VALUES = {"database": "RTSTREAM", "schema": "RAW", "table": "EVENTS", "pipe": "EVENTS_PIPE"}


def resource(merged, directory, rtype, name):
    for found_type, found_name, body in hcl.typed_blocks(merged(directory), "resource"):
        if (found_type, found_name) == (rtype, name):
            return body
    raise AssertionError(f"no {rtype}.{name} in {directory.name}")


@pytest.fixture(scope="module")
def alarm_locals(merged):
    return hcl.locals_of(merged(OBSERVABILITY))


@pytest.fixture(scope="module")
def alarms(alarm_locals) -> dict[str, str]:
    """Every alarm key of alarms.tf with its stage."""
    found = {}
    for key, body in hcl.as_map(alarm_locals["stage_alarms"]).items():
        (found[key],) = STAGE.findall(hcl.compact(body))
    lambda_stages = {key: STAGE.findall(hcl.compact(body))[0] for key, body in hcl.as_map(alarm_locals["lambdas"]).items()}
    for suffix in re.findall(r'"\$\{key\}-([a-z-]+)"', hcl.compact(alarm_locals["lambda_alarms"])):
        for key, stage in lambda_stages.items():
            found[f"{key}-{suffix}"] = stage
    for optional in ["partitioning_alarms", "snowpipe_alarms"]:
        for key, stage in re.findall(r'"([a-z0-9-]+)"=>merge\(local\.alarm_defaults,\{"stage":"(\w+)"', hcl.compact(alarm_locals[optional])):
            found[key] = stage
    # Firehose's delivery alarms, keyed and staged by its destination (both destinations' keys).
    assert set(hcl.as_map(alarm_locals["delivery_alarms"])) == {
        "${local.delivery.alarm}-delivery-errors",
        "${local.delivery.alarm}-delivery-freshness",
    }
    for destination in re.findall(r'\{"alarm":"(\w+)","stage":"(\w+)"', hcl.compact(alarm_locals["delivery"])):
        alarm, stage = destination
        found[f"{alarm}-delivery-errors"] = found[f"{alarm}-delivery-freshness"] = stage
    return found


def test_every_stage_has_an_alarm_on_the_topic(merged, alarm_locals, alarms):
    alarm = resource(merged, OBSERVABILITY, "aws_cloudwatch_metric_alarm", "this")
    assert alarm["for_each"] == "${local.alarms}"
    assert hcl.compact(alarm_locals["alarms"]) == "${merge(local.lambda_alarms,local.stage_alarms,local.delivery_alarms,local.partitioning_alarms,local.snowpipe_alarms)}"
    assert alarm["alarm_actions"] == ["${aws_sns_topic.alarms.arn}"]
    assert alarm["ok_actions"] == ["${aws_sns_topic.alarms.arn}"]
    assert hcl.as_map(alarm["tags"]) == {"Stage": "${each.value.stage}"}
    assert set(alarms.values()) == STAGES, set(alarms.values()) ^ STAGES


def cloudwatch_math(expression: str, **series: float | None) -> float:
    """One period of a CloudWatch metric-math expression of IF, FILL, AND and comparisons; a
    series without a datapoint in the period is None."""
    functions = {"IF": lambda condition, then, otherwise: then if condition else otherwise,
                 "FILL": lambda value, default: default if value is None else value}
    assert set(re.findall(r"[A-Za-z_]+", expression)) <= set(functions) | set(series) | {"AND"}, expression
    return eval(expression.replace(" AND ", " and "), {"__builtins__": {}}, {**functions, **series})  # noqa: S307


def test_kinesis_unread_fires_when_records_arrive_and_firehose_reads_none(merged, alarm_locals):
    """The alarm for a Firehose that stopped reading: the iterator age and Firehose's freshness
    are not emitted then, and no data is never a breach."""
    body = hcl.as_map(alarm_locals["stage_alarms"])["kinesis-unread"]
    queries = re.search(r"'queries': (\{.*?\}\}), 'expression'", body).group(1)
    assert "'incoming': {'namespace': 'AWS/Kinesis', 'metric_name': 'IncomingRecords', 'dimensions': {'StreamName': '${var.stream_name}'}}" in queries
    assert "'firehose_read': {'namespace': 'AWS/Firehose', 'metric_name': 'DataReadFromKinesisStream.Records', 'dimensions': '${local.firehose_dimensions}'}" in queries
    expression = re.search(r"'expression': '([^']+)'", body).group(1)
    assert "'threshold': 0" in body and "'evaluation_periods': '${var.thresholds.kinesis_unread_periods}'" in body
    breaching = lambda incoming, firehose_read: cloudwatch_math(expression, incoming=incoming, firehose_read=firehose_read) > 0  # noqa: E731
    assert breaching(500, None) and breaching(500, 0)
    assert not breaching(500, 480) and not breaching(None, None) and not breaching(0, None) and not breaching(None, 12)
    # The resource turns queries and expression into metric_query blocks, with the period there.
    alarm = resource(merged, OBSERVABILITY, "aws_cloudwatch_metric_alarm", "this")
    assert alarm["period"] == "${each.value.expression == None ? local.period : None}"
    by_source = {block["metric_query"]["for_each"]: block["metric_query"]["content"][0] for block in alarm["dynamic"]}
    metric = by_source["${each.value.queries}"]
    assert metric["id"] == "${metric_query.key}" and hcl.as_map(metric["metric"][0]) == {
        "namespace": "${metric_query.value.namespace}", "metric_name": "${metric_query.value.metric_name}",
        "dimensions": "${metric_query.value.dimensions}", "stat": "Sum", "period": "${local.period}"}
    returned = by_source["${each.value.expression == None ? [] : ['${each.value.expression}']}"]
    assert returned["expression"] == "${metric_query.value}" and returned["return_data"] is True
    defaults = hcl.compact(alarm_locals["alarm_defaults"])
    assert '"queries":{}' in defaults and '"expression":null' in defaults.replace("None", "null")


def test_delivery_errors_are_read_the_way_each_destination_reports_them(alarm_locals):
    """DeliveryToS3.Success is the share of successful puts (below 1: failures); with the Snowflake
    destination Success only counts successful inserts, so failures show as records Firehose
    writes to S3 instead (DeliveryToS3.Records, emitted when delivery to Snowflake fails)."""
    delivery = hcl.compact(alarm_locals["delivery"])
    s3, snowflake = delivery.split('"snowflake":', 1)
    assert '"metric_name":"DeliveryToS3.Success","statistic":"Minimum","comparison":"LessThanThreshold","threshold":1' in s3
    assert '"metric_name":"DeliveryToS3.Records","statistic":"Sum","comparison":"GreaterThanThreshold","threshold":0' in snowflake
    assert "DeliveryToSnowflake.Success" not in delivery
    errors = hcl.compact(alarm_locals["delivery_alarms"])
    assert "local.delivery.errors" in errors


def test_partition_count_alarm_only_with_dynamic_partitioning(merged, alarm_locals):
    partitioning = hcl.compact(alarm_locals["partitioning_alarms"])
    assert partitioning.startswith("${{forenabledinvar.delivery.dynamic_partitioning?[True]:[]:")
    assert '"metric_name":"PartitionCountExceeded"' in partitioning and '"statistic":"Maximum"' in partitioning
    assert '"comparison":"GreaterThanOrEqualToThreshold","threshold":1' in partitioning
    delivery = dict(hcl.blocks(merged(OBSERVABILITY), "variable"))["delivery"]
    assert '"dynamic_partitioning":"${optional(bool,false)}"' in hcl.compact(delivery["type"]).replace("False", "false")


def test_alarm_topic_is_kms_encrypted(merged):
    topic = resource(merged, OBSERVABILITY, "aws_sns_topic", "alarms")
    assert topic["kms_master_key_id"] == "${var.kms_key_arn}"
    root_call = dict(hcl.blocks(merged(TERRAFORM), "module"))["observability"]
    assert root_call["kms_key_arn"] == "${aws_kms_key.this.arn}"


def test_snowpipe_alarm_watches_the_topic_snowflake_publishes_to(merged, alarm_locals):
    snowpipe = hcl.compact(alarm_locals["snowpipe_alarms"])
    assert '"namespace":"AWS/SNS"' in snowpipe and '"metric_name":"NumberOfMessagesPublished"' in snowpipe
    assert '{"TopicName":"${topic.name}"}' in snowpipe
    root_call = dict(hcl.blocks(merged(TERRAFORM), "module"))["observability"]
    assert hcl.as_map(root_call["snowflake"])["notification_topic"] == "${module.snowflake.error_topic}"
    integration = resource(merged, SNOWFLAKE, "snowflake_notification_integration", "errors")
    assert integration["aws_sns_topic_arn"] == "${aws_sns_topic.errors[0].arn}"
    assert integration["direction"] == "OUTBOUND"


def test_error_integration_is_on_by_default(merged):
    for directory, name in [(TERRAFORM, "snowflake_enable_error_integration"), (SNOWFLAKE, "enable_error_integration")]:
        assert dict(hcl.blocks(merged(directory), "variable"))[name]["default"] is True, directory.name
    for environment in ["dev", "prod"]:
        settings = hcl.load(TERRAFORM / "env" / f"{environment}.tfvars")
        assert settings.get("snowflake_enable_error_integration", True) is True, environment


def test_emf_metric_names_come_from_the_config(merged, config):
    names = {name for section in ["validator", "transformer"] for name in config["metrics"][section].values()}
    for path in sorted(OBSERVABILITY.glob("*.tf")):
        code = "\n".join(line.split("#", 1)[0] for line in path.read_text().splitlines())
        typed = [name for name in names if re.search(rf'"{re.escape(name)}"', code)]
        assert not typed, f"{path.name} types the EMF metric names {typed}"
    root_locals = hcl.locals_of(merged(TERRAFORM))
    metrics = hcl.compact(root_locals["metrics"])
    assert 'replace(local.config.metrics.namespace,"{prefix}",local.name_prefix)' in metrics
    assert '"validator":"${local.config.metrics.validator}"' in metrics
    assert '"transformer":"${local.config.metrics.transformer}"' in metrics
    root_call = dict(hcl.blocks(merged(TERRAFORM), "module"))["observability"]
    assert root_call["metrics"] == "${local.metrics}"


def test_emf_alarms_read_the_metrics_variable(alarm_locals):
    stage_alarms = hcl.as_map(alarm_locals["stage_alarms"])
    emf = {key: hcl.compact(body) for key, body in stage_alarms.items() if "var.metrics.namespace" in hcl.compact(body)}
    assert set(emf) == {"validator-events-failed", "transformer-processing-failed"}
    assert "var.metrics.validator.events_failed" in emf["validator-events-failed"]
    assert "var.metrics.transformer.records_processing_failed" in emf["transformer-processing-failed"]
    for body in emf.values():
        # Published without dimensions: the series the alarms watch.
        assert '"dimensions":{}' in body.replace("\\", "")


def test_operations_doc_explains_every_alarm(alarms):
    doc = (REPO / "docs" / "operations.md").read_text()
    headings = set(re.findall(r"^#{2,4} `([a-z0-9-]+)`", doc, re.MULTILINE))
    assert set(alarms) <= headings, set(alarms) - headings


def test_module_readme_lists_every_alarm_and_threshold(merged, alarms):
    readme = (OBSERVABILITY / "README.md").read_text()
    missing = [key for key in alarms if f"`{key}`" not in readme]
    assert not missing, missing
    thresholds = dict(hcl.blocks(merged(OBSERVABILITY), "variable"))["thresholds"]
    names = re.findall(r'"?(\w+)"?[:=]"?\$\{optional', hcl.compact(thresholds["type"]))
    assert names and all(f"`{name}`" in readme for name in names if name != "period_seconds")


def render(name: str) -> str:
    return string.Template((SQL_DIR / name).read_text()).safe_substitute(SQL_VALUES)


@pytest.mark.parametrize("name", MONITORING_SQL)
def test_monitoring_view_sql_is_one_select_snowflake_can_store(name, merged):
    text = (SQL_DIR / name).read_text()
    assert "--" not in text and "/*" not in text and ";" not in text
    sql_vars = set(re.findall(r'[{,]"?(\w+)"?[:=]', hcl.compact(hcl.locals_of(merged(SNOWFLAKE))["sql_vars"])))
    assert set(re.findall(r"\$\{(\w+)\}", text)) <= sql_vars
    rendered = render(name)
    assert "${" not in rendered
    (statement,) = sqlglot.parse(rendered, read="snowflake")
    assert isinstance(statement, exp.Select)


def test_monitoring_views_are_terraform_views_of_the_sql_files(merged):
    views = hcl.as_map(hcl.locals_of(merged(SNOWFLAKE))["monitoring_views"])
    monitoring = resource(merged, SNOWFLAKE, "snowflake_view", "monitoring")
    freshness = resource(merged, SNOWFLAKE, "snowflake_view", "freshness")
    # The pipe's views only with the pipe (snowpipe_enabled: the S3 delivery modes).
    assert hcl.compact(monitoring["for_each"]) == "${{forkey,viewinlocal.monitoring_views:key=>viewifvar.snowpipe_enabled||!view.pipe}}"
    assert hcl.compact(freshness["count"]) == "${var.snowpipe_enabled?1:0}"
    assert [key for key, view in views.items() if hcl.as_map(view)["pipe"]] == ["pipe_status"]
    assert 'templatefile("${var.sql_dir}/${each.value.file}",local.sql_vars)' in hcl.compact(monitoring["statement"])
    assert 'templatefile("${var.sql_dir}/freshness_view.sql",local.sql_vars)' in hcl.compact(freshness["statement"])
    files = sorted([hcl.as_map(view)["file"] for view in views.values()] + ["freshness_view.sql"])
    assert files == sorted(MONITORING_SQL)
    assert monitoring["copy_grants"] is True and freshness["copy_grants"] is True
    # The freshness view reads the pipe status view by the name Terraform gives it.
    assert hcl.as_map(views["pipe_status"])["name"] == "${var.names.pipe}_STATUS"
    assert "${database}.${schema}.${pipe}_STATUS" in (SQL_DIR / "freshness_view.sql").read_text()


def test_reader_role_reads_every_monitoring_view_and_monitors_the_pipe(merged):
    objects = hcl.compact(hcl.locals_of(merged(SNOWFLAKE))["reader_schema_objects"])
    assert "forviewinsnowflake_view.freshness" in objects
    assert "forkey,viewinsnowflake_view.monitoring" in objects
    monitor = resource(merged, SNOWFLAKE, "snowflake_grant_privileges_to_account_role", "reader_monitor_pipe")
    assert hcl.compact(monitor["count"]) == "${var.snowpipe_enabled?1:0}"
    assert monitor["privileges"] == ["MONITOR"]
    assert hcl.as_map(monitor["on_schema_object"])["object_type"] == "PIPE"


def test_freshness_check_is_a_serverless_task_notifying_through_the_error_integration(merged):
    task = resource(merged, SNOWFLAKE, "snowflake_task", "freshness_check")
    assert hcl.compact(task["count"]) == "${var.enable_error_integration&&var.freshness_check.enabled&&var.snowpipe_enabled?1:0}"
    assert task["name"] == "${var.names.table}_FRESHNESS_CHECK"
    # Serverless: no warehouse resumed (and billed a minute) every interval.
    assert "warehouse" not in task and task["started"] is True
    assert task["user_task_managed_initial_warehouse_size"] == task["serverless_task_max_statement_size"] == "${local.check_task_size}"
    assert hcl.as_map(task["schedule"]) == {"minutes": "${var.freshness_check.check_interval_minutes}"}
    statement = hcl.compact(task["sql_statement"])
    assert statement == (
        '${trimspace(format(local.notify_if_found,"SELECT1FROM${local.freshness_view}WHERE${join("OR",local.freshness_conditions)}",'
        "local.freshness_message,snowflake_notification_integration.errors[0].name))}"
    )
    # A failing check reaches the same topic as a firing one.
    assert task["error_integration"] == "${snowflake_notification_integration.errors[0].name}"
    body = hcl.locals_of(merged(SNOWFLAKE))["notify_if_found"]
    assert body.startswith("BEGIN\n  IF (EXISTS(%s)) THEN\n") and body.endswith("END IF;\nEND")
    assert "CALL SYSTEM$SEND_SNOWFLAKE_NOTIFICATION(" in body
    assert "SNOWFLAKE.NOTIFICATION.APPLICATION_JSON('%s')" in body and "SNOWFLAKE.NOTIFICATION.INTEGRATION('%s')" in body
    conditions = hcl.compact(hcl.locals_of(merged(SNOWFLAKE))["freshness_conditions"])
    for column in ["EXECUTION_STATE", "OLDEST_PENDING_FILE_MINUTES", "MINUTES_SINCE_LAST_LOAD"]:
        assert column in conditions
        assert column in render("freshness_view.sql")


def test_no_snowflake_alert_and_no_warehouse_for_the_checks(merged):
    """ALERTs need a warehouse, resumed (60 s minimum) at every run: the checks are tasks."""
    types = {rtype for rtype, _, _ in hcl.typed_blocks(merged(SNOWFLAKE), "resource")}
    assert "snowflake_alert" not in types
    tasks = {name: body for rtype, name, body in hcl.typed_blocks(merged(SNOWFLAKE), "resource") if rtype == "snowflake_task"}
    assert set(tasks) == {"dedup_merge", "freshness_check", "dedup_slipped_check"}
    assert not [name for name, body in tasks.items() if "warehouse" in body]


def test_freshness_view_columns_are_what_the_check_reads():
    select = sqlglot.parse_one(render("freshness_view.sql"), read="snowflake")
    columns = {projection.alias_or_name for projection in select.expressions}
    assert {"EXECUTION_STATE", "OLDEST_PENDING_FILE_MINUTES", "MINUTES_SINCE_LAST_LOAD", "LAST_LOADED_AT"} <= columns
    status = sqlglot.parse_one(render("pipe_status_view.sql"), read="snowflake")
    status_columns = {projection.alias_or_name for projection in status.expressions}
    # Every column the freshness view takes from the status view exists there.
    taken = {column.name for column in select.find_all(exp.Column) if column.table == "PIPE"}
    assert taken and taken <= status_columns, taken - status_columns
    assert "SYSTEM$PIPE_STATUS('RTSTREAM.RAW.EVENTS_PIPE')" in render("pipe_status_view.sql")


def test_worksheet_queries_read_the_views_terraform_creates(merged):
    created = {hcl.as_map(view)["name"] for view in hcl.as_map(hcl.locals_of(merged(SNOWFLAKE))["monitoring_views"]).values()}
    created.add(resource(merged, SNOWFLAKE, "snowflake_view", "freshness")["name"])
    read = set(re.findall(r"\$\{database\}\.\$\{schema\}\.(\$\{\w+\}_[A-Z_]+)", (SQL_DIR / "monitoring.sql").read_text()))
    read.discard("${table}_SKIPPED_FILES")  # monitoring.sql creates that one itself
    assert read and {name.replace("${", "${var.names.") for name in read} <= created, read
