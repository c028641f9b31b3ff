"""EVENTS_DEDUP as a merge-maintained history plus an on-the-fly dedup of the recent rows
(snowflake/dedup_*.sql, terraform/modules/snowflake/dedup_*.tf, snowflake/README.md).

Where each part is verified (docs/decisions.md, "EVENTS_DEDUP scales"):
- the history table, the MERGE, the view and the duplicate check's view run here on fakesnow, as
  the local stack renders them (scripts/localstack/snowflake_shim.py), with rows placed at chosen
  ages: freshness, the seam between history and recent rows, the window, late rows;
- what fakesnow has no notion of (the stream, the tasks) is checked as Terraform renders it:
  the SQL the merge task would run parses as Snowflake's and reads the stream the task waits on,
  with the same columns as EVENTS; the duplicate check's query runs on fakesnow.
"""

from __future__ import annotations

import re
import string
import warnings

import pytest
import sqlglot
from sqlglot import exp

import hcl
from conftest import MODULES, SQL_DIR, TERRAFORM
from localstack import snowflake_shim
from localstack.settings import PIPELINE

SNOWFLAKE = MODULES / "snowflake"
NAMES = PIPELINE.snowflake
TABLE = f"{NAMES['database']}.{NAMES['schema']}.{NAMES['table']}"
VIEW = f"{NAMES['database']}.{NAMES['schema']}.{NAMES['dedup_view']}"
HISTORY = snowflake_shim.dedup_history()
HORIZON = snowflake_shim.DEDUP_SETTINGS["dedup_horizon_minutes"]
WINDOW_MINUTES = snowflake_shim.DEDUP_SETTINGS["dedup_window_hours"] * 60
COLUMNS = ["EVENT_ID", "EVENT_TYPE", "OCCURRED_AT", "RECEIVED_AT", "SOURCE",
           "PAYLOAD", "INGEST", "FILE_NAME", "FILE_ROW_NUMBER", "LOADED_AT"]


# --- the SQL, run on fakesnow -------------------------------------------------------------------


@pytest.fixture
def warehouse():
    """A fresh in-memory fakesnow with the objects the local loader creates."""
    import fakesnow
    import snowflake.connector

    warnings.filterwarnings("ignore", message="Arrow output on a DB-API result")
    with fakesnow.patch():
        connection = snowflake.connector.connect(
            database=NAMES["database"], schema=NAMES["schema"], paramstyle="qmark")
        cursor = connection.cursor()
        for statement in snowflake_shim.setup_statements():
            cursor.execute(statement)
        yield Warehouse(cursor)
        connection.close()


class Warehouse:
    def __init__(self, cursor):
        self.cursor = cursor
        self.merge_sql = snowflake_shim.merge_statement("FILE_NAME = ?")

    def load(self, file_name: str, *rows: tuple[str, float], streamed: bool = False) -> None:
        """Appends rows (event id, minutes since it was received) as one file, the way the pipe
        does: FILE_ROW_NUMBER counts from 1, LOADED_AT is now; `streamed`: the way Firehose's
        Snowflake destination does (snowpipe_streaming), with no LOADED_AT."""
        loaded_at = "NULL" if streamed else "CURRENT_TIMESTAMP()"
        for number, (event_id, minutes_ago) in enumerate(rows, start=1):
            self.cursor.execute(
                f"""INSERT INTO {TABLE} (EVENT_ID, EVENT_TYPE, RECEIVED_AT, PAYLOAD, FILE_NAME, FILE_ROW_NUMBER, LOADED_AT)
                SELECT ?, 'page_view', DATEADD(SECOND, -?, CURRENT_TIMESTAMP()), PARSE_JSON(?), ?, ?, {loaded_at}""",
                [event_id, int(minutes_ago * 60), f'{{"file": "{file_name}"}}', file_name, number],
            )

    def merge(self, file_name: str) -> None:
        """What the task does with the stream's rows; locally, one file's rows."""
        self.cursor.execute(self.merge_sql, [file_name])

    def rows(self, source: str, event_id: str) -> list[str]:
        """FILE_NAME of each row of `source` for the event, oldest first."""
        self.cursor.execute(f"SELECT FILE_NAME FROM {source} WHERE EVENT_ID = ? ORDER BY RECEIVED_AT, FILE_NAME", [event_id])
        return [row[0] for row in self.cursor.fetchall()]

    def view_with_horizon(self, minutes: int) -> str:
        """The view as it would read with another horizon: how today's rows look once older."""
        name = f"{VIEW}_H{minutes}"
        self.cursor.execute(
            f"CREATE OR REPLACE VIEW {name} AS\n" + snowflake_shim.render("dedup_view", dedup_horizon_minutes=minutes))
        return name


def test_a_loaded_row_is_in_the_view_before_any_merge(warehouse):
    warehouse.load("f1", ("fresh", 0.1))
    assert warehouse.rows(HISTORY, "fresh") == []
    assert warehouse.rows(VIEW, "fresh") == ["f1"]


def test_recent_copies_show_once_the_earliest_received(warehouse):
    warehouse.load("f1", ("retry", 5))
    warehouse.load("f2", ("retry", 2), ("retry", 2))
    assert warehouse.rows(VIEW, "retry") == ["f1"]
    warehouse.merge("f2")  # merges may run in any order: the stream holds whatever loaded since
    warehouse.merge("f1")
    assert warehouse.rows(HISTORY, "retry") == ["f1"]
    assert warehouse.rows(VIEW, "retry") == ["f1"]


def test_an_earlier_copy_merged_later_replaces_the_kept_row(warehouse):
    warehouse.load("b-later", ("reordered", 10))
    warehouse.merge("b-later")
    warehouse.load("a-earlier", ("reordered", 20))
    warehouse.merge("a-earlier")
    assert warehouse.rows(HISTORY, "reordered") == ["a-earlier"]
    warehouse.cursor.execute(f"SELECT COUNT(*) FROM {HISTORY} WHERE MERGED_AT IS NULL")
    assert warehouse.cursor.fetchone()[0] == 0


def test_merging_the_same_rows_again_changes_nothing(warehouse):
    warehouse.load("f1", ("same", 3), ("other", 3))
    warehouse.merge("f1")
    warehouse.cursor.execute(f"SELECT * FROM {HISTORY} ORDER BY EVENT_ID")
    before = warehouse.cursor.fetchall()
    warehouse.merge("f1")
    warehouse.cursor.execute(f"SELECT * FROM {HISTORY} ORDER BY EVENT_ID")
    assert warehouse.cursor.fetchall() == before


def test_rows_older_than_the_horizon_come_from_the_history_once_merged(warehouse):
    """Old RECEIVED_AT, loaded now (a re-loaded file): visible after the next merge, once."""
    warehouse.load("late", ("late", HORIZON + 30), ("late", HORIZON + 30))
    assert warehouse.rows(VIEW, "late") == []
    warehouse.merge("late")
    assert warehouse.rows(VIEW, "late") == ["late"]


def test_a_copy_across_the_horizon_is_hidden_by_the_kept_row(warehouse):
    """The kept copy is read from the history, the later one from EVENTS: one row."""
    warehouse.load("kept", ("seam", HORIZON + 20))
    warehouse.merge("kept")
    warehouse.load("copy", ("seam", HORIZON - 20))
    assert warehouse.rows(VIEW, "seam") == ["kept"]
    warehouse.merge("copy")
    assert warehouse.rows(HISTORY, "seam") == ["kept"]
    assert warehouse.rows(VIEW, "seam") == ["kept"]


def test_a_copy_more_than_the_horizon_apart_shows_until_it_leaves_the_horizon(warehouse):
    """Documented: the view compares recent rows with the last two horizons of the history only."""
    warehouse.load("kept", ("resent", 3 * HORIZON))
    warehouse.merge("kept")
    warehouse.load("copy", ("resent", 1))
    warehouse.merge("copy")
    assert warehouse.rows(HISTORY, "resent") == ["kept"]
    assert warehouse.rows(VIEW, "resent") == ["kept", "copy"]
    # Two minutes later than the copy's age, the copy is history's, which dropped it.
    assert warehouse.rows(warehouse.view_with_horizon(1), "resent") == ["kept"]


def test_a_copy_outside_the_window_is_kept_too_and_the_check_lists_it(warehouse):
    warehouse.load("kept", ("slipped", WINDOW_MINUTES + 60), ("fine", WINDOW_MINUTES - 60))
    warehouse.merge("kept")
    warehouse.load("copy", ("slipped", 30), ("fine", 30))
    warehouse.merge("copy")
    assert warehouse.rows(HISTORY, "fine") == ["kept"]
    assert warehouse.rows(HISTORY, "slipped") == ["kept", "copy"]
    check = f"{VIEW}_SLIPPED"
    warehouse.cursor.execute(f"CREATE VIEW {check} AS\n" + snowflake_shim.render("dedup_slipped_view"))
    warehouse.cursor.execute(f"SELECT EVENT_ID, COPIES FROM {check}")
    assert warehouse.cursor.fetchall() == [("slipped", 2)]
    # The check task's query (dedup_check.tf), as Terraform fills it in: one merged in the last day.
    query = check_task("dedup_slipped_check")["query"].replace("${local.dedup_slipped_view}", check)
    warehouse.cursor.execute(query)
    assert warehouse.cursor.fetchall() == [(1,)]
    # The documented repair (snowflake/README.md) keeps the earliest copy; EVENTS keeps both.
    warehouse.cursor.execute(snowflake_shim.render("dedup_repair"))
    assert warehouse.rows(HISTORY, "slipped") == ["kept"]
    assert warehouse.rows(HISTORY, "fine") == ["kept"]
    assert warehouse.rows(TABLE, "slipped") == ["kept", "copy"]
    warehouse.cursor.execute(f"SELECT COUNT(*) FROM {check}")
    assert warehouse.cursor.fetchone()[0] == 0


def test_the_check_counts_a_copy_arriving_after_check_days(warehouse):
    """The kept row merged long before the check's days, the copy yesterday: still listed, both
    copies counted (the view groups every history row of the recently merged events)."""
    check_days = snowflake_shim.DEDUP_SETTINGS["dedup_check_days"]
    warehouse.load("kept", ("late-resend", (check_days + 1) * 24 * 60))
    warehouse.merge("kept")
    warehouse.cursor.execute(
        f"UPDATE {HISTORY} SET MERGED_AT = DATEADD(DAY, -?, CURRENT_TIMESTAMP()) WHERE EVENT_ID = 'late-resend'", [check_days + 1])
    warehouse.load("copy", ("late-resend", 1))
    warehouse.merge("copy")
    assert warehouse.rows(HISTORY, "late-resend") == ["kept", "copy"]
    check = f"{VIEW}_SLIPPED"
    warehouse.cursor.execute(f"CREATE VIEW {check} AS\n" + snowflake_shim.render("dedup_slipped_view"))
    warehouse.cursor.execute(f"SELECT EVENT_ID, COPIES FROM {check}")
    assert warehouse.cursor.fetchall() == [("late-resend", 2)]
    warehouse.cursor.execute(snowflake_shim.render("dedup_repair"))
    assert warehouse.rows(HISTORY, "late-resend") == ["kept"]


def test_copies_without_received_at_are_one_row(warehouse):
    """The transformer always sets RECEIVED_AT; a row loaded without one (by hand, another
    writer) is matched by when it was merged instead, so its copies are not kept twice, and a
    copy that has one replaces it (NULLs sort last, as in the view)."""
    for file_name in ["n1", "n2"]:
        warehouse.cursor.execute(
            f"""INSERT INTO {TABLE} (EVENT_ID, EVENT_TYPE, RECEIVED_AT, FILE_NAME, FILE_ROW_NUMBER, LOADED_AT)
            SELECT 'undated', 'page_view', NULL, ?, 1, CURRENT_TIMESTAMP()""", [file_name])
        warehouse.merge(file_name)
    assert warehouse.rows(HISTORY, "undated") == ["n1"]
    assert warehouse.rows(VIEW, "undated") == ["n1"]
    warehouse.load("dated", ("undated", 5))
    warehouse.merge("dated")
    assert warehouse.rows(HISTORY, "undated") == ["dated"]
    assert warehouse.rows(VIEW, "undated") == ["dated"]


@pytest.mark.parametrize("streamed", [False, True], ids=["pipe", "snowpipe_streaming"])
def test_the_stale_stream_backfill_merges_what_the_stream_lost_and_nothing_twice(warehouse, streamed):
    """snowflake/README.md, "A stale stream": the merge over dedup_backfill_changes.sql takes the
    rows loaded since the last merge whose event the history lacks; an event kept long ago (out of
    the window, where the merge would insert a second row) is left alone. In every mode: rows
    Snowpipe Streaming inserted have no LOADED_AT."""
    warehouse.load("kept", ("old", WINDOW_MINUTES * 20), ("merged", 60), streamed=streamed)
    warehouse.merge("kept")
    # The stream went stale: these loaded, no merge took them; the recent part no longer shows them.
    warehouse.load("lost", ("missed", HORIZON * 3), ("missed", HORIZON * 3), ("old", HORIZON * 3), ("merged", HORIZON * 3),
                   streamed=streamed)
    assert warehouse.rows(VIEW, "missed") == []
    backfill = snowflake_shim.render("dedup_merge", changes="(" + snowflake_shim.render("dedup_backfill_changes") + ")")
    warehouse.cursor.execute(backfill)
    assert warehouse.rows(HISTORY, "missed") == ["lost"]
    assert warehouse.rows(VIEW, "missed") == ["lost"]
    assert warehouse.rows(HISTORY, "old") == ["kept"]
    assert warehouse.rows(HISTORY, "merged") == ["kept"]
    warehouse.cursor.execute(f"SELECT * FROM {HISTORY} ORDER BY EVENT_ID")
    before = warehouse.cursor.fetchall()
    warehouse.cursor.execute(backfill)  # run twice: nothing changes
    warehouse.cursor.execute(f"SELECT * FROM {HISTORY} ORDER BY EVENT_ID")
    assert warehouse.cursor.fetchall() == before


def test_a_new_history_takes_the_rows_already_loaded(warehouse):
    """The stream's SHOW_INITIAL_ROWS, and the local loader's first start on an old warehouse."""
    warehouse.load("old", ("before", 3 * HORIZON), ("before", 3 * HORIZON), ("also", 2 * HORIZON))
    warehouse.cursor.execute(snowflake_shim.merge_statement())
    warehouse.cursor.execute(f"SELECT EVENT_ID, FILE_ROW_NUMBER FROM {VIEW} ORDER BY EVENT_ID")
    assert warehouse.cursor.fetchall() == [("also", 3), ("before", 1)]


# --- the SQL as Terraform renders it, for what fakesnow cannot run ------------------------------


def resource(rtype: str, name: str) -> dict:
    tree = {}
    for path in sorted(SNOWFLAKE.glob("*.tf")):
        for kind, entries in hcl.load(path).items():
            tree.setdefault(kind, []).extend(entries)
    return next(body for t, n, body in hcl.typed_blocks(tree, "resource") if (t, n) == (rtype, name))


def check_task(name: str) -> dict[str, str]:
    """A check task of the module and its statement's parts: format(local.notify_if_found, query,
    message, integration), and the statement with placeholders for the message and integration."""
    task = resource("snowflake_task", name)
    found = re.fullmatch(r'\$\{trimspace\(format\(local\.notify_if_found,\s*"(.*)",\s*([\w.\[\]]+),\s*([\w.\[\]]+),?\s*\)\)\}',
                         task["sql_statement"], re.DOTALL)
    assert found, task["sql_statement"]
    query, message, integration = found.groups()
    template = hcl.locals_of(hcl.load(SNOWFLAKE / "error_integration.tf"))["notify_if_found"]
    return {**task, "query": query, "message": message, "integration": integration,
            "statement": template % (query, "<message>", "<integration>")}


def terraform_render(name: str) -> str:
    """As templatefile() fills it (local.dedup_sql_vars) with config/pipeline.json dedup, what the
    root passes (test_the_dedup_settings_come_from_the_config)."""
    defaults = PIPELINE.raw["dedup"]
    values = {
        **{key: value for key, value in NAMES.items()},
        "view": NAMES["dedup_view"],
        "changes": f"{NAMES['database']}.{NAMES['schema']}.{NAMES['dedup_view']}_CHANGES",
        "dedup_horizon_minutes": defaults["recent_horizon_minutes"],
        "dedup_window_hours": defaults["window_hours"],
        "dedup_check_days": defaults["check_days"],
    }
    text = string.Template((SQL_DIR / name).read_text()).safe_substitute(values)
    assert "${" not in text
    return text


def test_the_dedup_settings_come_from_the_config(config):
    """One source: config/pipeline.json dedup is what the root passes (overrides aside), what the
    module takes without defaults of its own, and what the local stack fills the SQL with."""
    root = hcl.load(TERRAFORM / "locals.tf")
    passed = hcl.compact(hcl.locals_of(root)["snowflake_dedup"])
    assert "forkey,valueinlocal.config.dedup:key=>valueifkey!=\"_comment\"" in passed
    assert re.search(r"forkey,valueinvar\.snowflake_dedup:key=>valueifvalue!=(null|None)\}", passed)  # python-hcl2 may print None
    call = dict(hcl.blocks(hcl.load(TERRAFORM / "main.tf"), "module"))["snowflake"]
    assert call["dedup"] == "${local.snowflake_dedup}"
    variable = dict(hcl.blocks(hcl.load(SNOWFLAKE / "variables.tf"), "variable"))["dedup"]
    declared = re.findall(r'"?(\w+)"?[:=]"?\$?\{?(\w+)', hcl.compact(variable["type"]).removeprefix("${object({"))
    assert "default" not in variable and "optional" not in hcl.compact(variable["type"])
    settings = {key: value for key, value in config["dedup"].items() if key != "_comment"}
    assert {key for key, _ in declared} == set(settings)
    # The module fills the SQL from var.dedup; the local stack from the config, key for key.
    filled = dict(re.findall(r'"?(dedup_\w+)"?[:=]"?\$\{var\.dedup\.(\w+)\}',
                             hcl.compact(hcl.locals_of(hcl.load(SNOWFLAKE / "dedup_history.tf"))["dedup_sql_vars"])))
    assert filled == {"dedup_horizon_minutes": "recent_horizon_minutes", "dedup_window_hours": "window_hours", "dedup_check_days": "check_days"}
    assert snowflake_shim.DEDUP_SETTINGS == {placeholder: settings[key] for placeholder, key in filled.items()}


def test_the_terraform_values_fill_every_dedup_placeholder():
    code = hcl.compact(hcl.locals_of(hcl.load(SNOWFLAKE / "dedup_history.tf"))["dedup_sql_vars"])
    filled = set(re.findall(r'[{,]"?(\w+)"?[:=]', code))
    for name in ["dedup_merge.sql", "dedup_view.sql", "dedup_slipped_view.sql", "dedup_history_table.sql", "dedup_repair.sql",
                 "dedup_backfill_changes.sql"]:
        used = set(re.findall(r"\$\{(\w+)\}", (SQL_DIR / name).read_text()))
        assert used <= filled | {"database", "schema", "table", "view"}, (name, used - filled)
        assert "local.sql_vars" in code  # the object names are the ones every other file gets


def test_the_task_merges_the_stream_it_waits_on():
    task = resource("snowflake_task", "dedup_merge")
    stream = resource("snowflake_stream_on_table", "dedup_changes")
    merge = sqlglot.parse_one(terraform_render("dedup_merge.sql"), read="snowflake")
    assert isinstance(merge, exp.Merge)
    source = merge.args["using"].this.args["from_"].this
    assert source.sql(dialect="snowflake") == f"{NAMES['database']}.{NAMES['schema']}.{stream['name'].replace('${var.names.dedup_view}', NAMES['dedup_view'])}"
    assert merge.this.sql(dialect="snowflake") == f"{HISTORY} AS KEPT"
    assert task["when"] == "SYSTEM$STREAM_HAS_DATA('${local.dedup_stream}')"
    assert hcl.compact(task["sql_statement"]) == '${trimspace(templatefile("${var.sql_dir}/dedup_merge.sql",local.dedup_sql_vars))}'
    local = hcl.locals_of(hcl.load(SNOWFLAKE / "dedup_history.tf"))
    assert local["dedup_stream"] == "${local.qualified_schema}.${var.names.dedup_view}_CHANGES"
    assert "${local.dedup_stream}" in hcl.compact(local["dedup_sql_vars"])


def test_the_task_is_serverless_scheduled_and_reports_failures():
    task = resource("snowflake_task", "dedup_merge")
    assert "warehouse" not in task
    assert task["user_task_managed_initial_warehouse_size"] == "${var.dedup.task_size}"
    assert hcl.as_map(task["schedule"]) == {"minutes": "${var.dedup.merge_interval_minutes}"}
    assert task["started"] is True
    assert "snowflake_notification_integration.errors[0].name" in task["error_integration"]


def test_the_stream_is_append_only_on_events_with_its_rows_so_far():
    stream = resource("snowflake_stream_on_table", "dedup_changes")
    assert stream["table"] == "${local.qualified_schema}.${var.names.table}"
    assert stream["append_only"] is True and stream["show_initial_rows"] is True


def test_merge_history_and_view_keep_the_columns_of_events():
    table = sqlglot.parse_one(terraform_render("table.sql"), read="snowflake")
    history = sqlglot.parse_one(terraform_render("dedup_history_table.sql"), read="snowflake")
    names = lambda create: [column.name for column in create.this.expressions]  # noqa: E731
    assert names(table) == COLUMNS
    assert names(history) == COLUMNS + ["MERGED_AT"]
    merge = sqlglot.parse_one(terraform_render("dedup_merge.sql"), read="snowflake")
    inserted = next(when for when in merge.args["whens"].expressions if not when.args.get("matched"))
    assert [column.name for column in inserted.args["then"].this.expressions] == COLUMNS + ["MERGED_AT"]
    assert [column.alias_or_name for column in merge.args["using"].this.selects] == COLUMNS
    view = sqlglot.parse_one(terraform_render("dedup_view.sql"), read="snowflake")
    assert isinstance(view, exp.Union) and view.args.get("distinct") is False  # UNION ALL
    assert [c.alias_or_name for c in view.left.selects] == [c.alias_or_name for c in view.right.selects] == COLUMNS


def test_the_slipped_check_is_a_daily_serverless_task_notifying_the_error_topic():
    assert isinstance(sqlglot.parse_one(terraform_render("dedup_slipped_view.sql"), read="snowflake"), exp.Select)
    task = check_task("dedup_slipped_check")
    assert task["count"] == "${var.enable_error_integration && var.dedup.check_enabled ? 1 : 0}"
    assert task["name"] == "${var.names.dedup_view}_SLIPPED_CHECK"
    # Serverless (no warehouse to resume), at the smallest size, started, once a day in UTC.
    assert "warehouse" not in task and task["started"] is True
    assert task["user_task_managed_initial_warehouse_size"] == task["serverless_task_max_statement_size"] == "${local.check_task_size}"
    assert hcl.as_map(task["schedule"]) == {"using_cron": "0 ${var.dedup.check_hour_utc} * * * UTC"}
    # Notifies through the error integration, which also hears of the check failing.
    assert task["message"] == "local.dedup_slipped_message"
    assert task["integration"] == "snowflake_notification_integration.errors[0].name"
    assert task["error_integration"] == "${snowflake_notification_integration.errors[0].name}"
    query = sqlglot.parse_one(task["query"].replace("${local.dedup_slipped_view}", f"{VIEW}_SLIPPED"), read="snowflake")
    assert isinstance(query, exp.Select) and query.args["from_"].this.sql(dialect="snowflake") == f"{VIEW}_SLIPPED"
    assert task["statement"].startswith(f"BEGIN\n  IF (EXISTS({task['query']})) THEN\n    CALL SYSTEM$SEND_SNOWFLAKE_NOTIFICATION(")
    assert "SNOWFLAKE.NOTIFICATION.APPLICATION_JSON('<message>')" in task["statement"]
    assert "SNOWFLAKE.NOTIFICATION.INTEGRATION('<integration>')" in task["statement"]
    assert task["statement"].endswith("END IF;\nEND")
    message = hcl.compact(hcl.locals_of(hcl.load(SNOWFLAKE / "dedup_check.tf"))["dedup_slipped_message"])
    assert '"check":"${local.qualified_schema}.${var.names.dedup_view}_SLIPPED_CHECK"' in message
    assert "snowflake/dedup_repair.sql" in message


def test_the_view_waits_for_the_history_and_the_reader_reads_the_check():
    view = resource("snowflake_view", "dedup")
    assert "${snowflake_execute.dedup_history}" in view["depends_on"]
    assert view["copy_grants"] is True
    reader = hcl.compact(hcl.locals_of(hcl.load(SNOWFLAKE / "reader.tf"))["reader_schema_objects"])
    assert '"dedup_slipped":{"type":"VIEW","name":"${local.dedup_slipped_view}"}' in reader
