"""The one place where the project's Snowflake SQL (snowflake/*.sql, shared with Terraform) is
adapted to fakesnow. Everything else runs as written.

fakesnow runs `table.sql`, `file_format.sql`, `dedup_history_table.sql`, `dedup_view.sql` and
`dedup_merge.sql` unchanged; the merge reads the rows of the file just loaded where Snowflake's task
reads its stream (`${changes}`, see `merge_statement`). It cannot run the
pipe's COPY (`pipe_copy.sql`): its COPY lists only the top level of a stage (not the
`event_type=…/dt=…/` folders), reads JSON into a single column that the `$1:field` projections
cannot reach, and has no `METADATA$` columns. So the COPY is translated here, by rewriting its
syntax tree, into the INSERT … SELECT that Snowflake itself runs for each staged file:

    COPY INTO <table> (<columns>) FROM (SELECT <projections> FROM @<stage>) FILE_FORMAT = (...)
 -> INSERT INTO <table> (<columns>) SELECT <projections> FROM (<the files' lines>) STAGED

with `$1` -> each line parsed as a VARIANT (FLATTEN over each file's lines, UNION ALL of the files),
`METADATA$FILENAME` -> the file's path relative to the stage, `METADATA$FILE_ROW_NUMBER` -> its
1-based line, `METADATA$START_SCAN_TIME` -> when the loader started reading the files. One
statement loads one file or several (fakesnow's cost is per statement, not per row). The projections, column
list, casts and target are the file's own. The file format is looked up by the name the COPY
gives and honoured for what this pipeline uses (TYPE = JSON, COMPRESSION, STRIP_OUTER_ARRAY).
"""

from __future__ import annotations

import gzip
import zlib
import json
import string
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

from .settings import PIPELINE, SNOWFLAKE_SQL_DIR

# The row source that replaces `@<stage>`: one row per line of one staged file; a load of several
# files is the UNION ALL of one such SELECT per file. (One FLATTEN over all the files, then a
# LATERAL FLATTEN over each one's lines, would carry a whole file on each of its rows: quadratic.)
_STAGED = "STAGED"
_STAGED_FILE = """SELECT F.VALUE AS DOC, ? AS FILE_NAME, F.INDEX + 1 AS FILE_ROW_NUMBER,
           CAST(? AS TIMESTAMP_LTZ) AS START_SCAN_TIME
    FROM TABLE(FLATTEN(INPUT => PARSE_JSON(?))) F"""
# Stands for the files' SELECTs in the translated statement until FileLoad.sql puts them in.
_FILES_MARKER = "RTSTREAM_STAGED_FILES"
_METADATA_COLUMNS = {
    "METADATA$FILENAME": "FILE_NAME",
    "METADATA$FILE_ROW_NUMBER": "FILE_ROW_NUMBER",
    "METADATA$START_SCAN_TIME": "START_SCAN_TIME",
}


# How often the local stand-ins for Snowflake's merge task (the loader's and the streaming
# destination's) merge new rows into the dedup history: off the rows' way to EVENTS_DEDUP, whose
# recent part reads EVENTS, so only the history's freshness depends on it.
MERGE_EVERY_SECONDS = 5.0
# SQLSTATE classes of errors a row's values cause: 22 data exception, 23 integrity constraint.
_DATA_ERROR_CLASSES = ("22", "23")


def is_data_error(error: Exception) -> bool:
    """An error the data causes (a cast, a constraint), as its SQLSTATE class says."""
    return str(getattr(error, "sqlstate", "") or "").startswith(_DATA_ERROR_CLASSES)


# The dedup placeholders of the SQL, from config/pipeline.json dedup as Terraform fills them
# (terraform/modules/snowflake/dedup_history.tf, local.dedup_sql_vars).
DEDUP_SETTINGS = {
    "dedup_horizon_minutes": PIPELINE.raw["dedup"]["recent_horizon_minutes"],
    "dedup_window_hours": PIPELINE.raw["dedup"]["window_hours"],
    "dedup_check_days": PIPELINE.raw["dedup"]["check_days"],
}


def render(name: str, **values: str) -> str:
    """snowflake/<name>.sql with the object names of config/pipeline.json and the dedup settings
    filled in, the way snowflake/README.md prescribes (safe_substitute: `$1` and `METADATA$…` stay
    as they are); `values` fills the placeholders that differ locally (`changes`)."""
    names = PIPELINE.snowflake
    values = {**names, "view": names["dedup_view"], **DEDUP_SETTINGS, **values}
    text = string.Template((SNOWFLAKE_SQL_DIR / f"{name}.sql").read_text()).safe_substitute(values)
    if "${" in text:
        raise ValueError(f"snowflake/{name}.sql has a placeholder neither config/pipeline.json nor the dedup settings fill")
    return text.strip()


def setup_statements() -> list[str]:
    """Creates the landing objects as Terraform does (terraform/modules/snowflake): the database
    and schema, then the shared SQL files; the view wraps dedup_view.sql's SELECT, which reads the
    dedup history, so the history comes first."""
    names = PIPELINE.snowflake
    schema = f"{names['database']}.{names['schema']}"
    return [
        f"CREATE DATABASE IF NOT EXISTS {names['database']}",
        f"CREATE SCHEMA IF NOT EXISTS {schema}",
        render("table"),
        render("file_format"),
        render("dedup_history_table"),
        f"CREATE OR REPLACE VIEW {schema}.{names['dedup_view']} AS\n{render('dedup_view')}",
    ]


def dedup_history() -> str:
    names = PIPELINE.snowflake
    return f"{names['database']}.{names['schema']}.{names['dedup_view']}_HISTORY"


def merge_statement(rows: str | None = None) -> str:
    """dedup_merge.sql over the rows of EVENTS a load appended, the local stand-in for the
    append-only stream Snowflake's task reads: those matching the condition `rows` (for example
    the files loaded since the last merge), or all of EVENTS when the history is new (the
    stream's SHOW_INITIAL_ROWS)."""
    names = PIPELINE.snowflake
    table = f"{names['database']}.{names['schema']}.{names['table']}"
    return render("dedup_merge", changes=f"(SELECT * FROM {table} WHERE {rows})" if rows else table)


@dataclass(frozen=True)
class FileLoad:
    """The pipe's COPY, translated to load staged files: run `sql(len(files))` with
    `params(start_scan_time, files)`."""

    template: str
    file_format: str

    def sql(self, file_count: int) -> str:
        return self.template.replace(f"SELECT * FROM {_FILES_MARKER}", "\nUNION ALL\n".join([_STAGED_FILE] * file_count))

    @staticmethod
    def params(start_scan_time: str, files: dict[str, list[str]]) -> list[str]:
        """`files`: each file's name and its lines, spliced in as they are (not re-serialised), so
        PARSE_JSON reads exactly the staged text."""
        return [value for name, lines in files.items() for value in (name, start_scan_time, "[" + ",".join(lines) + "]")]


def translate_copy(copy_sql: str) -> FileLoad:
    copy = sqlglot.parse_one(copy_sql, read="snowflake")
    if not isinstance(copy, exp.Copy) or not isinstance(copy.args["files"][0], exp.Subquery):
        raise ValueError("expected COPY INTO <table> (<columns>) FROM (SELECT … FROM @<stage>) …")
    select = copy.args["files"][0].this.copy()
    stage = select.args["from_"].this.this
    if not (isinstance(stage, exp.Var) and stage.name.startswith("@")):
        raise ValueError("the COPY must read a named stage")

    def to_staged(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Parameter) and node.this.name == "1":
            return exp.column("DOC", table=_STAGED)
        if isinstance(node, exp.Column) and node.name.upper() in _METADATA_COLUMNS:
            return exp.column(_METADATA_COLUMNS[node.name.upper()], table=_STAGED)
        return node

    projections = [projection.transform(to_staged) for projection in select.expressions]
    rows = sqlglot.parse_one(f"SELECT * FROM (SELECT * FROM {_FILES_MARKER}) {_STAGED}", read="snowflake").args["from_"]
    insert = exp.Insert(this=copy.this, expression=exp.Select(expressions=projections, from_=rows))
    template = insert.sql(dialect="snowflake")
    if template.count(f"SELECT * FROM {_FILES_MARKER}") != 1:
        raise ValueError(f"the translated COPY must read the staged files once: {template}")
    return FileLoad(template=template, file_format=_format_name(copy))


def _format_name(copy: exp.Copy) -> str:
    for param in copy.args.get("params") or []:
        if param.this.name.upper() == "FILE_FORMAT":
            for prop in param.expressions:
                if prop.this.name.upper() == "FORMAT_NAME":
                    return prop.args["value"].name
    raise ValueError("the COPY must name its FILE_FORMAT (FORMAT_NAME = …)")


def file_format_options(cursor, qualified_name: str) -> dict:
    """The options of a named file format, as fakesnow stored them from file_format.sql."""
    database, schema, name = qualified_name.split(".")
    cursor.execute(f"SHOW FILE FORMATS LIKE '{name}' IN SCHEMA {database}.{schema}")
    columns = [column[0] for column in cursor.description]
    row = cursor.fetchone()
    if row is None:
        raise LookupError(f"file format {qualified_name} does not exist")
    return json.loads(dict(zip(columns, row))["format_options"])


def staged_lines(data: bytes, options: dict) -> list[str]:
    """A staged file's JSON values, one per line, read as the file format says."""
    if options.get("TYPE", "CSV").upper() != "JSON" or options.get("STRIP_OUTER_ARRAY"):
        raise NotImplementedError(f"file format {options}: only newline-delimited JSON is supported locally")
    compression = str(options.get("COMPRESSION", "AUTO")).upper()
    if compression == "GZIP" or (compression == "AUTO" and data[:2] == b"\x1f\x8b"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as error:  # the file's fault: it fails, alone
            raise ValueError(f"the file is not valid gzip: {error}") from None
    elif compression not in ("AUTO", "NONE"):
        raise NotImplementedError(f"COMPRESSION = {compression}")
    # Records end at "\n" only: str.splitlines() would also cut at U+0085, U+2028 and U+2029,
    # which JSON strings may hold unescaped.
    lines = [line for line in data.decode("utf-8").split("\n") if line.strip()]
    for number, line in enumerate(lines, start=1):
        try:
            json.loads(line)
        except ValueError as error:
            raise ValueError(f"line {number} is not JSON: {error}") from None
    return lines
