"""The local warehouse: fakesnow over DuckDB files in .local/warehouse/.

DuckDB lets one process write a database file, so the Snowpipe loader owns it while the stack
runs and also serves it over fakesnow's Snowflake-protocol server on 127.0.0.1; every other
reader (`scripts/local sql`, the tests, the benchmark) connects there with the real
snowflake-connector-python. When the stack is down, readers open the file directly.
"""

from __future__ import annotations

import csv
import io
import socket
import warnings

import snowflake.connector

from .settings import LOCAL, PIPELINE

# The local warehouse's share of the machine (a development stack runs beside builds and tests).
MEMORY_LIMIT = "4GB"


def open_file():
    """A fakesnow connection on the warehouse files, in this process (only one process may)."""
    from fakesnow.instance import FakeSnow

    # fakesnow's own advice to itself, printed on every query: not for our users.
    warnings.filterwarnings("ignore", message="Arrow output on a DB-API result")
    LOCAL.warehouse.mkdir(parents=True, exist_ok=True)
    fake_snow = FakeSnow(db_path=LOCAL.warehouse)
    # DuckDB's defaults are 80 % of the machine's memory and a spill folder in the working
    # directory (the repository): a bounded share, and a spill folder inside .local.
    spill = LOCAL.home / "warehouse-spill"
    spill.mkdir(parents=True, exist_ok=True)
    fake_snow.duck_conn.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    fake_snow.duck_conn.execute(f"SET temp_directory = '{spill}'")
    return fake_snow


def server_is_up() -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", LOCAL.warehouse_port)) == 0


def connect(paramstyle: str = "pyformat"):
    """A DB-API connection to the local warehouse, through the loader's server when it runs
    (`qmark`: values bound on the server, not written into the SQL text)."""
    names = PIPELINE.snowflake
    if server_is_up():
        return snowflake.connector.connect(
            paramstyle=paramstyle,
            user="local",
            password="local",
            account="fakesnow",
            host="127.0.0.1",
            port=LOCAL.warehouse_port,
            protocol="http",
            database=names["database"],
            schema=names["schema"],
            session_parameters={"CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED": False},
            login_timeout=10,
            network_timeout=60,
        )
    return open_file().connect(names["database"], names["schema"], paramstyle=paramstyle)


def query(sql: str, params=None) -> tuple[list[str], list[tuple]]:
    connection = connect()
    try:
        cursor = connection.cursor()
        cursor.execute(sql, params)
        columns = [column[0] for column in cursor.description or []]
        return columns, cursor.fetchall() if columns else []
    finally:
        connection.close()


def to_csv(columns: list[str], rows: list[tuple]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()
