"""Copies of a Guaraní database whose columns hold other types, as other deployments do.

Built from the catalog of the database itself (information_schema), not from a list of columns: every
date or time column of schema `negocio` changes type, so a new bronze query is covered without a new test.
"""

from __future__ import annotations

from importlib import resources

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from dwh.devdb import url_for

DATE_TYPES = ("date", "timestamp with time zone", "timestamp without time zone")
# Per deployment kind: the type every date/time column gets, and how other columns change width or kind.
KINDS = {
    "date": {"temporal": "date"},
    "timestamptz": {
        "temporal": "timestamptz",
        "integer": "bigint",
        "smallint": "integer",
        "character varying": "text",
        "character": "varchar({n})",
        "numeric": "numeric({p3},{s1})",
    },
    "timestamp": {
        "temporal": "timestamp",
        "integer": "numeric(12,0)",
        "smallint": "bigint",
        "character varying": "char({n})",
        "numeric": "numeric",
    },
}


def clone_database(admin_url: str, source_url: str, name: str) -> str:
    """CREATE DATABASE name TEMPLATE <source>; returns its URL."""
    template = make_url(source_url).database
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    finally:
        engine.dispose()
    return url_for(admin_url, name)


def _local_day(column: str, data_type: str, zone: str) -> str:
    if data_type == "timestamp with time zone":
        return f"({column} AT TIME ZONE '{zone}')::date"
    return f"{column}::date"


def _late_evening(day_sql: str, column: str) -> str:
    """A wall-clock time between 21:00 and 23:58 on that day, fixed per (day, column)."""
    minutes = f"1260 + abs(hashtext({day_sql}::text || '{column}')) % 179"
    return f"({day_sql})::timestamp + make_interval(mins => {minutes})"


def retype(url: str, kind: str, zone: str) -> list[tuple[str, str, str, str]]:
    """Give every negocio column the types of deployment `kind`; returns (table, column, old, new) changed.

    Dates become the local day; instants and wall-clock times are set to 21:00-23:58 local time of their
    local day, when the UTC day is often the next one. Views are rebuilt over the new types, constraints
    are dropped (a deployment with other types has its own).
    """
    rules = KINDS[kind]
    engine = create_engine(url, poolclass=NullPool)
    changed = []
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP VIEW IF EXISTS negocio.vw_hist_academica_basica, negocio.vw_hist_academica"))
            constraints = conn.execute(
                text(
                    "SELECT conrelid::regclass::text, conname FROM pg_constraint "
                    "WHERE connamespace = 'negocio'::regnamespace ORDER BY contype <> 'f'"
                )
            ).fetchall()
            for table, name in constraints:
                conn.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT IF EXISTS "{name}"'))
            columns = conn.execute(
                text(
                    "SELECT c.table_name, c.column_name, c.data_type, c.character_maximum_length, "
                    "c.numeric_precision, c.numeric_scale FROM information_schema.columns c "
                    "JOIN information_schema.tables t USING (table_schema, table_name) "
                    "WHERE c.table_schema = 'negocio' AND t.table_type = 'BASE TABLE' "
                    "ORDER BY c.table_name, c.ordinal_position"
                )
            ).fetchall()
            for table, column, data_type, length, precision, scale in columns:
                target, using = None, column
                if data_type in DATE_TYPES:
                    day = _local_day(column, data_type, zone)
                    target = rules["temporal"]
                    if target == "date":
                        using = day
                    elif target == "timestamp":
                        using = _late_evening(day, column)
                    else:
                        using = f"({_late_evening(day, column)}) AT TIME ZONE '{zone}'"
                elif data_type in rules:
                    if data_type == "numeric" and precision is None:
                        continue
                    target = rules[data_type].format(n=length or 1, p3=(precision or 10) + 3, s1=(scale or 0) + 1)
                if target is None:
                    continue
                conn.execute(text(f'ALTER TABLE negocio.{table} ALTER COLUMN "{column}" TYPE {target} USING {using}'))
                changed.append((table, column, data_type, target))
            views = resources.files("dwh.synthetic").joinpath("views.sql").read_text(encoding="utf-8")
            conn.exec_driver_sql(views.replace("{fecha_type}", rules["temporal"]).replace("%", "%%"))
    finally:
        engine.dispose()
    return changed
