"""The Snowflake SQL under snowflake/, shared by Terraform and the local loader."""

import re
import string

import pytest
import sqlglot
from sqlglot import exp

import hcl
from conftest import MODULES, SQL_DIR

PLACEHOLDER = re.compile(r"\$\{(\w+)\}")
TERRAFORM_READ = [
    "table.sql", "file_format.sql", "pipe_copy.sql", "dedup_view.sql",
    "dedup_history_table.sql", "dedup_merge.sql", "dedup_slipped_view.sql",
]
VALUES = {
    "database": "RTSTREAM",
    "schema": "RAW",
    "table": "EVENTS",
    "stage": "EVENTS_STAGE",
    "file_format": "EVENTS_NDJSON",
    "pipe": "EVENTS_PIPE",
    "view": "EVENTS_DEDUP",
    "changes": "RTSTREAM.RAW.EVENTS_DEDUP_CHANGES",
    "dedup_horizon_minutes": "90",
    "dedup_window_hours": "24",
    "dedup_check_days": "7",
}


def render(name: str) -> str:
    return string.Template((SQL_DIR / name).read_text()).safe_substitute(VALUES)


def column_list(sql: str, after: str) -> list[str]:
    block = sql.split(after, 1)[1].split(")", 1)[0]
    return re.findall(r"^\s*([A-Z_]+)", block, re.MULTILINE)


@pytest.fixture(scope="module")
def sql_vars(merged):
    """The placeholders Terraform fills: local.sql_vars, and the dedup files' additions."""
    found = hcl.locals_of(merged(MODULES / "snowflake"))
    code = hcl.compact(found["sql_vars"]) + hcl.compact(found["dedup_sql_vars"])
    return set(re.findall(r'[{,]"?(\w+)"?[:=]', code))


@pytest.mark.parametrize("name", TERRAFORM_READ + ["monitoring.sql"])
def test_placeholders_are_ones_terraform_fills(name, sql_vars):
    used = set(PLACEHOLDER.findall((SQL_DIR / name).read_text()))
    assert used and used <= sql_vars, used - sql_vars
    assert "${" not in render(name)


@pytest.mark.parametrize("name", ["pipe_copy.sql", "dedup_view.sql", "dedup_merge.sql", "dedup_slipped_view.sql"])
def test_statements_stored_by_snowflake_carry_no_comments(name):
    text = (SQL_DIR / name).read_text()
    assert "--" not in text and "/*" not in text and ";" not in text


def test_copy_is_a_single_copy_into_that_parses():
    sql = render("pipe_copy.sql")
    statements = sqlglot.parse(sql, read="snowflake")
    assert len(statements) == 1
    assert isinstance(statements[0], exp.Copy)
    assert sql.lstrip().startswith("COPY INTO RTSTREAM.RAW.EVENTS")


def test_copy_records_load_metadata_without_current_timestamp():
    sql = render("pipe_copy.sql").upper()
    for token in ["METADATA$FILENAME", "METADATA$FILE_ROW_NUMBER", "METADATA$START_SCAN_TIME", "$1:_INGEST"]:
        assert token in sql, token
    assert not re.search(r"CURRENT_TIMESTAMP|SYSDATE|GETDATE|LOCALTIMESTAMP", sql)


def test_table_copy_and_view_agree_on_columns():
    table = column_list(render("table.sql"), "EVENTS (")
    copy = column_list(render("pipe_copy.sql"), "EVENTS (")
    view = [column.alias_or_name for column in sqlglot.parse_one(render("dedup_view.sql"), read="snowflake").selects]
    assert table == copy == view
    assert table == [
        "EVENT_ID", "EVENT_TYPE", "OCCURRED_AT", "RECEIVED_AT", "SOURCE",
        "PAYLOAD", "INGEST", "FILE_NAME", "FILE_ROW_NUMBER", "LOADED_AT",
    ]


def test_table_types():
    sql = render("table.sql")
    for column, kind in [("OCCURRED_AT", "TIMESTAMP_TZ"), ("RECEIVED_AT", "TIMESTAMP_TZ"), ("PAYLOAD", "VARIANT"), ("INGEST", "VARIANT")]:
        assert re.search(rf"^\s*{column}\s+{kind}\b", sql, re.MULTILINE), column
    assert isinstance(sqlglot.parse_one(sql, read="snowflake"), exp.Create)


def test_dedup_view_keeps_the_earliest_row_per_event_id():
    sql = render("dedup_view.sql")
    parsed = sqlglot.parse_one(sql, read="snowflake")
    assert isinstance(parsed, exp.Union)  # the history UNION ALL the recent rows, tests/terraform/test_dedup.py
    compact = re.sub(r"\s+", " ", sql)
    assert "QUALIFY ROW_NUMBER() OVER ( PARTITION BY EVENT_ID ORDER BY RECEIVED_AT, FILE_NAME, FILE_ROW_NUMBER ) = 1" in compact


def test_file_format_is_json():
    sql = render("file_format.sql")
    assert re.search(r"TYPE\s*=\s*JSON", sql)


def test_monitoring_covers_pipe_status_and_copy_history():
    sql = render("monitoring.sql")
    for token in ["SYSTEM$PIPE_STATUS", "COPY_HISTORY", "VALIDATE_PIPE_LOAD"]:
        assert token in sql


def test_copy_skips_a_file_with_a_bad_row_explicitly():
    """ON_ERROR = SKIP_FILE (Snowpipe's default, written out): a bad row fails its file, which
    the pipe's error notifications report and the skipped-files view lists (docs/decisions.md)."""
    copy = sqlglot.parse_one(render("pipe_copy.sql"), read="snowflake")
    options = {param.this.name.upper(): param for param in copy.args["params"]}
    assert options["ON_ERROR"].args["expression"].name.upper() == "SKIP_FILE"


def test_the_documented_reload_is_the_pipes_copy_with_files():
    """snowflake/README.md: the pipe's own COPY with FILES = (…) between FROM (…) and FILE_FORMAT."""
    text = render("pipe_copy.sql")
    head, tail = text.split("\nFILE_FORMAT", 1)
    reload = f"{head}\nFILES = ('event_type=page_view/dt=2026-01-01/a', 'b')\nFILE_FORMAT{tail}"
    copy = sqlglot.parse_one(reload, read="snowflake")
    assert isinstance(copy, exp.Copy)
    options = {param.this.name.upper() for param in copy.args["params"]}
    assert {"FILES", "FILE_FORMAT", "ON_ERROR"} <= options


def test_monitoring_has_an_alarmable_view_of_skipped_files():
    sql = render("monitoring.sql")
    create = next(s for s in sqlglot.parse(sql, read="snowflake") if isinstance(s, exp.Create))
    assert create.this.sql() == "RTSTREAM.RAW.EVENTS_SKIPPED_FILES"
    compact = re.sub(r"\s+", " ", create.sql(dialect="snowflake"))
    assert "COPY_HISTORY" in compact
    assert "PARTITION BY FILE_NAME ORDER BY LAST_LOAD_TIME DESC" in compact
    assert "'LOAD FAILED', 'PARTIALLY LOADED'" in compact
