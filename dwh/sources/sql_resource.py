"""A hand-written SQL file as a typed dlt resource: one resource per (table, source database)."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import dlt
import pyarrow as pa
import sqlalchemy as sa

from dwh.settings import SourceDatabase, time_zone
from dwh.sources.catalog import BronzeTable
from dwh.sources.coerce import TypeMismatch, coerce
from dwh.sources.declared import UndeclaredColumn, declared_columns
from dwh.sources.pg_copy import ColumnSpec, arrow_schema, copy_query, stream_batches

# Named parameters of the bronze SQL files: the cursor's lower bound and the run's as-of date (DWH_AS_OF),
# the only "today" a query may use, so a rerun as of the same date reads the same rows.
_PARAM = re.compile(r"(?<![:\w]):(start_value|as_of)\b")


class SchemaVariant(Exception):
    """The source lacks a table, view or column the query needs (a known deployment difference)."""


def session_options(zone: str | None = None) -> str:
    """Read-only sessions on the warehouse's clock (DWH_TIMEZONE), with ISO date output.

    The time zone makes a date cast of a TIMESTAMPTZ in a query give the local day; DateStyle fixes how
    dates are written into the COPY stream and into hashed keys, whatever the server's default.
    """
    zone = zone or time_zone()
    return f"-c default_transaction_read_only=on -c TimeZone={zone} -c DateStyle=ISO,YMD -c IntervalStyle=postgres"


def source_engine(source: SourceDatabase) -> sa.Engine:
    options = session_options()
    return sa.create_engine(
        source.conn_string,
        poolclass=sa.pool.NullPool,
        connect_args={"options": options, "application_name": "dwh_bronze"},
    )


def read_sql(path: Path) -> str:
    return path.read_text(encoding="utf-8").strip().rstrip(";")


def psycopg_sql(sql: str) -> str:
    """The file's `:start_value` and `:as_of` as psycopg2 parameters; literal % signs escaped."""
    return _PARAM.sub(r"%(\1)s", sql.replace("%", "%%"))


def describe(engine: sa.Engine, sql: str, table: str) -> list[ColumnSpec]:
    """How to read the query's columns as bronze.<table> declares them, from a LIMIT 0 run (nothing is read).

    The deployment's own types come from the probe; each column is converted to its declared type in the
    COPY (see dwh.sources.coerce), so every deployment loads the same bronze types.
    """
    conn = engine.raw_connection()
    try:
        return read_as_declared(conn, sql, table)
    finally:
        conn.close()


def read_as_declared(conn: Any, sql: str, table: str) -> list[ColumnSpec]:
    """describe() on an open DBAPI connection."""
    probe = f"SELECT * FROM ({psycopg_sql(sql)}) AS probe LIMIT 0"
    try:
        cursor = conn.cursor()
        cursor.execute(probe, {"start_value": None, "as_of": None})
        description = cursor.description
    except Exception as exc:
        code = getattr(exc, "pgcode", None)
        if code in {"42P01", "42703", "3F000", "42883"}:  # undefined table / column / schema / function
            raise SchemaVariant(str(exc).splitlines()[0]) from exc
        raise
    declared = dict(declared_columns().get(table, ()))
    returned = [c.name for c in description]
    extra = [name for name in returned if name not in declared]
    missing = [name for name in declared if name not in returned]
    if extra or missing:
        problems = [f"not declared: {', '.join(extra)}"] * bool(extra) + [f"not returned: {', '.join(missing)}"] * bool(
            missing
        )
        raise UndeclaredColumn(
            f"table {table}: the query and dwh/schema/bronze.sql disagree ({'; '.join(problems)}); "
            "declare every bronze column once in dwh/schema/bronze.sql"
        )
    zone = time_zone()
    by_name = {c.name: c for c in description}
    specs = []
    for name, data_type in declared.items():
        c = by_name[name]
        try:
            specs.append(coerce(name, data_type, c.type_code, c.precision, c.scale, zone))
        except TypeMismatch as exc:
            raise TypeMismatch(f"table {table}, {exc}") from None
    return specs


def initial_cursor(table: BronzeTable, start: dt.date) -> Any:
    """The cursor's first value, typed like the column (a date, or midnight local time)."""
    if table.cursor_kind == "date":
        return start
    return dt.datetime.combine(start, dt.time(), tzinfo=zoneinfo.ZoneInfo(time_zone()))


def lag_value(table: BronzeTable, days: int) -> float:
    """dlt's lag unit follows the cursor type: days for DATE, seconds for timestamps."""
    return float(days) if table.cursor_kind == "date" else float(days * 86400)


def table_resource(
    table: BronzeTable,
    sql: str,
    columns: list[ColumnSpec],
    engine: sa.Engine,
    source_name: str,
    *,
    start: dt.date,
    as_of: dt.date,
    lag_days: int,
    first_load: bool,
) -> dlt.sources.DltResource:
    """The query streamed through COPY as Arrow batches; incremental tables merge on (source_db, key)."""
    specs = [ColumnSpec("source_db", pa.string(), "q.source_db"), *columns]
    schema = arrow_schema(specs)
    inner = f"SELECT %(source_db)s::text AS source_db, src.* FROM ({psycopg_sql(sql)}) AS src"
    copy_sql = copy_query(inner, specs)

    def batches(start_value: Any) -> Iterator[pa.Table]:
        conn = engine.raw_connection()
        try:
            cursor = conn.cursor()
            params = {"source_db": source_name, "start_value": start_value, "as_of": as_of}
            statement = cursor.mogrify(copy_sql, params).decode()
            produced = False
            for batch in stream_batches(conn.driver_connection, statement, schema):
                produced = True
                yield pa.Table.from_batches([batch], schema)
            if not produced:
                yield schema.empty_table()  # the table exists, fully typed, even before its first row
        finally:
            conn.close()

    if table.incremental:
        incremental = dlt.sources.incremental(
            cast(str, table.cursor),  # an incremental table always names its cursor
            initial_value=initial_cursor(table, start),
            lag=lag_value(table, lag_days) if lag_days else None,
        )

        def rows(cursor: dlt.sources.incremental[Any] = incremental) -> Iterator[pa.Table]:
            low, _high = cursor.get_current_range()
            if table.cursor_kind == "date" and isinstance(low, dt.datetime):
                low = low.date()
            yield from batches(low)
    else:

        def rows() -> Iterator[pa.Table]:  # type: ignore[misc]  # dlt reads the incremental off the signature
            yield from batches(None)

    # Any: dlt accepts None for "no key" but its hints do not say so.
    primary_key: Any = ["source_db", *table.key]
    merge_key: Any = None
    if not table.incremental:
        # Replace this source's partition. No primary key here: with both keys dlt deletes on
        # "pk match OR merge-key match", which DuckDB can only run as a nested loop.
        disposition: Any = {"disposition": "merge", "strategy": "delete-insert"}
        primary_key, merge_key = None, ["source_db"]
    elif first_load:
        disposition = "append"
    else:
        disposition = {"disposition": "merge", "strategy": "delete-insert"}
    return dlt.resource(
        rows,
        name=f"{table.name}__{source_name}",
        table_name=table.name,
        write_disposition=disposition,
        primary_key=primary_key,
        merge_key=merge_key,
        schema_contract={"data_type": "freeze"},
    )
