"""A hand-written SQL file as a typed dlt resource: one resource per (table, source database)."""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import dlt
import pyarrow as pa
import sqlalchemy as sa

from dwh.settings import SourceDatabase, time_zone
from dwh.sources.catalog import BronzeTable
from dwh.sources.changes import STATE_KEY, SourceSnapshot, VersionRange, render
from dwh.sources.coerce import TypeMismatch, coerce
from dwh.sources.declared import UndeclaredColumn, declared_columns
from dwh.sources.pg_copy import ColumnSpec, arrow_schema, copy_query, stream_batches

# Named parameters of the bronze SQL files: the cursor's lower bound and the run's as-of date (DWH_AS_OF),
# the only "today" a query may use, so a rerun as of the same date reads the same rows.
log = logging.getLogger("dwh.bronze")
_NAMES = "start_value|as_of|cursor_cap|scope_ids|scope_whole|scope_pair_groups|scope_pair_members|xid_low32|xid_span"
_PARAM = re.compile(rf"(?<![:\w]):({_NAMES})\b")
# A query's scope parameters when it reads no scope (dwh.sources.changes).
NO_SCOPE: dict[str, list[int]] = {"scope_ids": [], "scope_whole": [], "scope_pair_groups": [], "scope_pair_members": []}
# The frontier of a table read by row versions when the as-of date has not moved: nothing is that new.
FAR_FUTURE = dt.date(9999, 12, 31)


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


def psycopg_sql(sql: str, versions: VersionRange | None = None) -> str:
    """The file's version tests written out (dwh.sources.changes), then its named parameters as psycopg2
    ones; literal % signs escaped."""
    return _PARAM.sub(r"%(\1)s", render(sql, versions).replace("%", "%%"))


def describe(engine: sa.Engine, sql: str, table: str, versions: VersionRange | None = None) -> list[ColumnSpec]:
    """How to read the query's columns as bronze.<table> declares them, from a LIMIT 0 run (nothing is read).

    The deployment's own types come from the probe; each column is converted to its declared type in the
    COPY (see dwh.sources.coerce), so every deployment loads the same bronze types.
    """
    conn = engine.raw_connection()
    try:
        return read_as_declared(conn, sql, table, versions)
    finally:
        conn.close()


def read_as_declared(conn: Any, sql: str, table: str, versions: VersionRange | None = None) -> list[ColumnSpec]:
    """describe() on an open DBAPI connection; `versions`: probe the query as a read by row versions."""
    probe = f"SELECT * FROM ({psycopg_sql(sql, versions)}) AS probe LIMIT 0"
    try:
        cursor = conn.cursor()
        params: dict[str, Any] = {
            "start_value": None,
            "as_of": None,
            "cursor_cap": None,
            **NO_SCOPE,
            **(versions.params if versions else {}),
        }
        cursor.execute(probe, params)
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


@dataclass(frozen=True)
class VersionRead:
    """A table read by row versions (dwh.sources.changes): the snapshot this load records, what it reads.

    versions None: a full read (first load or reload). previous_as_of: the as-of date of the last committed
    load, whose frontier (rows that only now fall on or before the as-of date) is read too.
    """

    snapshot: SourceSnapshot
    versions: VersionRange | None = None
    previous_as_of: dt.date | None = None
    full_read_seconds: float | None = None
    scope: Scope | None = None  # what a table with a scope (BronzeTable.scope) reads again


@dataclass(frozen=True)
class Scope:
    """The groups (whole) and (group, member) pairs of a table with a scope that were written since the last load."""

    whole: tuple[int, ...] = ()
    pairs: tuple[tuple[int, int], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.whole or self.pairs)

    @property
    def params(self) -> dict[str, list[int]]:
        return {
            "scope_ids": sorted(set(self.whole) | {g for g, _ in self.pairs}),
            "scope_whole": list(self.whole),
            "scope_pair_groups": [g for g, _ in self.pairs],
            "scope_pair_members": [m for _, m in self.pairs],
        }


def read_scope(engine: sa.Engine, table: BronzeTable, versions: VersionRange) -> Scope:
    """What of a table with a scope (BronzeTable.scope) was written since the last load."""
    path = table.scope_path
    if path is None:
        return Scope()
    conn = engine.raw_connection()
    try:
        cursor = conn.cursor()
        cursor.execute(psycopg_sql(read_sql(path), versions), versions.params)
        rows = [(r[0], r[1]) for r in cursor.fetchall() if r[0] is not None]
    finally:
        conn.close()
    whole = {int(g) for g, m in rows if m is None}
    pairs = sorted({(int(g), int(m)) for g, m in rows if m is not None and g not in whole})
    return Scope(tuple(sorted(whole)), tuple(pairs))


def frontier_start(table: BronzeTable, read: VersionRead, as_of: dt.date) -> Any:
    """The window predicate's lower bound on a read by versions: the day after the last load's as-of date.

    In a table that reads nothing dated after the as-of date, rows dated after the last load's as-of date and
    on or before tonight's are newly in scope. Other tables, and any table when the as-of date has not moved,
    have no frontier.
    """
    previous = read.previous_as_of
    moved = table.frontier and previous is not None and as_of > previous
    day = previous + dt.timedelta(days=1) if moved and previous is not None else FAR_FUTURE
    return initial_cursor(table, day)


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
    by_version: VersionRead | None = None,
) -> dlt.sources.DltResource:
    """The query streamed through COPY as Arrow batches; incremental tables merge on (source_db, key).

    An incremental table is read either by row versions (`by_version`, the default where the source allows
    it) or from dlt's cursor minus the table's look-back window.
    """
    specs = [ColumnSpec("source_db", pa.string(), "q.source_db"), *columns]
    schema = arrow_schema(specs)
    merges = table.incremental or by_version is not None  # merged on the key, else the partition is replaced
    versions = by_version.versions if by_version is not None and not first_load else None
    inner = f"SELECT %(source_db)s::text AS source_db, src.* FROM ({psycopg_sql(sql, versions)}) AS src"
    copy_sql = copy_query(inner, specs)

    def batches(start_value: Any) -> Iterator[pa.Table]:
        conn = engine.raw_connection()
        try:
            cursor = conn.cursor()
            # A cursor column is capped at the as-of date only for dlt's cursor (reads by window): read by
            # versions it is left as the source has it, so it never depends on the night it was read.
            cap = None if by_version is not None else as_of
            scope = by_version.scope if by_version is not None and versions is not None else None
            params = {
                "source_db": source_name,
                "start_value": start_value,
                "as_of": as_of,
                "cursor_cap": cap,
                **(scope.params if scope is not None else NO_SCOPE),
            }
            if versions is not None:
                params.update(versions.params)
            statement = cursor.mogrify(copy_sql, params).decode()
            produced, rows, started = False, 0, time.perf_counter()
            for batch in stream_batches(conn.driver_connection, statement, schema):
                produced = True
                rows += batch.num_rows
                yield pa.Table.from_batches([batch], schema)
            if not produced and (first_load or not merges):
                yield schema.empty_table()  # the table exists, fully typed, even before its first row
            how = "by row versions" if versions else ("in full" if first_load or start_value is None else "by window")
            log.info(
                "%s.%s: %s rows read %s in %.1fs",
                source_name,
                table.name,
                f"{rows:,}",
                how,
                time.perf_counter() - started,
            )
        finally:
            conn.close()

    if by_version is not None:
        read = by_version

        def rows() -> Iterator[pa.Table]:
            started = time.perf_counter()
            if table.cursor is None:  # a table without a cursor: its query has no window predicate
                low = None
            else:
                low = initial_cursor(table, start) if first_load else frontier_start(table, read, as_of)
            yield from batches(low)
            state = dlt.current.resource_state()
            # Recorded with the load and rolled back with it: the next load reads from this snapshot.
            state[STATE_KEY] = {
                "xid": read.snapshot.xmin,
                "as_of": as_of.isoformat(),
                "full_read_seconds": time.perf_counter() - started if first_load else read.full_read_seconds,
            }
            state.pop("incremental", None)  # a cursor left from reads by window would be stale if used again

    elif table.incremental:
        incremental = dlt.sources.incremental(
            cast(str, table.cursor),  # an incremental table always names its cursor
            initial_value=initial_cursor(table, start),
            lag=lag_value(table, lag_days) if lag_days else None,
        )

        # dlt reads the incremental off the signature
        def rows(cursor: dlt.sources.incremental[Any] = incremental) -> Iterator[pa.Table]:  # type: ignore[misc]
            low, _high = cursor.get_current_range()
            if table.cursor_kind == "date" and isinstance(low, dt.datetime):
                low = low.date()
            yield from batches(low)
            dlt.current.resource_state().pop(STATE_KEY, None)  # versions recorded before tonight are stale

    else:

        def rows() -> Iterator[pa.Table]:
            yield from batches(None)

    # Any: dlt accepts None for "no key" but its hints do not say so.
    primary_key: Any = ["source_db", *table.key]
    merge_key: Any = None
    if not merges:
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
