"""A hand-written SQL file as a typed dlt resource: one resource per (table, source database)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import dlt
import pyarrow as pa
import sqlalchemy as sa
from dlt.sources.sql_database import sql_table
from sqlalchemy.dialects import postgresql as pg

from dwh.settings import SourceDatabase
from dwh.sources.catalog import BronzeTable

SOURCE_TIME_ZONE = "America/Argentina/Buenos_Aires"
CHUNK_ROWS = 20_000

# PostgreSQL type OIDs of a result column -> the SQLAlchemy type dlt maps to its column schema.
_TYPES = {
    16: lambda p, s: sa.Boolean(),
    20: lambda p, s: sa.BigInteger(),
    21: lambda p, s: sa.SmallInteger(),
    23: lambda p, s: sa.Integer(),
    700: lambda p, s: sa.Float(),
    701: lambda p, s: sa.Float(),
    # Unconstrained numeric (precision 65535 from psycopg2) would be cut to dlt's decimal(38,9).
    1700: lambda p, s: sa.Numeric(p, s) if p and p <= 38 else sa.Numeric(38, 10),
    18: lambda p, s: sa.String(),
    19: lambda p, s: sa.String(),
    25: lambda p, s: sa.Text(),
    1042: lambda p, s: sa.String(),
    1043: lambda p, s: sa.String(),
    1082: lambda p, s: sa.Date(),
    1083: lambda p, s: sa.Time(),
    1114: lambda p, s: sa.DateTime(timezone=False),
    1184: lambda p, s: sa.DateTime(timezone=True),
    2950: lambda p, s: pg.UUID(as_uuid=False),
}


class SchemaVariant(Exception):
    """The source lacks a table, view or column the query needs (a known deployment difference)."""


def source_engine(source: SourceDatabase) -> sa.Engine:
    """Read-only sessions with the time zone pinned, so date casts of TIMESTAMPTZ give the local day."""
    options = f"-c default_transaction_read_only=on -c TimeZone={SOURCE_TIME_ZONE}"
    return sa.create_engine(
        source.conn_string,
        poolclass=sa.pool.NullPool,
        connect_args={"options": options, "application_name": "dwh_bronze"},
    )


def read_sql(path) -> str:
    return path.read_text(encoding="utf-8").strip().rstrip(";")


def describe(engine: sa.Engine, sql: str) -> list[sa.Column]:
    """Result columns and types of the query, from a LIMIT 0 run (nothing is read)."""
    probe = sa.text(f"SELECT * FROM ({sql}) AS probe LIMIT 0")
    params = {"start_value": None} if ":start_value" in sql else {}
    try:
        with engine.connect() as conn:
            description = conn.execute(probe, params).cursor.description
    except sa.exc.ProgrammingError as exc:
        code = getattr(exc.orig, "pgcode", None)
        if code in {"42P01", "42703", "3F000", "42883"}:  # undefined table / column / schema / function
            raise SchemaVariant(str(exc.orig).splitlines()[0]) from exc
        raise
    columns = []
    for col in description:
        factory = _TYPES.get(col.type_code)
        if factory is None:
            raise TypeError(f"column {col.name}: PostgreSQL type oid {col.type_code} has no declared mapping")
        columns.append(sa.Column(col.name, factory(col.precision, col.scale)))
    return columns


def initial_cursor(table: BronzeTable, start: dt.date) -> Any:
    """The cursor's first value, typed like the column (a date, or midnight local time)."""
    if table.cursor_kind == "date":
        return start
    return dt.datetime.combine(start, dt.time(), tzinfo=dt.timezone(dt.timedelta(hours=-3)))


def lag_value(table: BronzeTable, days: int) -> float:
    """dlt's lag unit follows the cursor type: days for DATE, seconds for timestamps."""
    return float(days) if table.cursor_kind == "date" else float(days * 86400)


def _arrow_type(sa_type) -> pa.DataType:
    if isinstance(sa_type, sa.Boolean):
        return pa.bool_()
    if isinstance(sa_type, (sa.Integer, sa.BigInteger, sa.SmallInteger)):
        return pa.int64()
    if isinstance(sa_type, sa.Float):
        return pa.float64()
    if isinstance(sa_type, sa.Numeric):
        return pa.decimal128(sa_type.precision or 38, sa_type.scale or 0)
    if isinstance(sa_type, sa.Date):
        return pa.date32()
    if isinstance(sa_type, sa.DateTime):
        return pa.timestamp("us", tz="UTC" if sa_type.timezone else None)
    if isinstance(sa_type, sa.Time):
        return pa.time64("us")
    return pa.string()


def empty_resource(table: BronzeTable, columns: list[sa.Column], source_name: str) -> dlt.sources.DltResource:
    """An empty, fully typed batch: creates the bronze table when a source has no rows for it yet."""
    schema = pa.schema([pa.field("source_db", pa.string())] + [pa.field(c.name, _arrow_type(c.type)) for c in columns])
    empty = schema.empty_table()

    def rows():
        yield empty

    return dlt.resource(
        rows,
        name=f"{table.name}__{source_name}__empty",
        table_name=table.name,
        primary_key=["source_db", *table.key],
        write_disposition="append",
    )


def table_resource(
    table: BronzeTable,
    sql: str,
    columns: list[sa.Column],
    engine: sa.Engine,
    source_name: str,
    *,
    start: dt.date,
    lag_days: int,
    first_load: bool,
) -> dlt.sources.DltResource:
    """sql_table over the SQL as a typed subquery; incremental tables merge on (source_db, key)."""
    resource_name = f"{table.name}__{source_name}"
    metadata = sa.MetaData()
    sa.Table(
        resource_name, metadata, sa.Column("source_db", sa.String()), *[sa.Column(c.name, c.type) for c in columns]
    )

    def as_subquery(_table: sa.Table):
        text = sa.text(sql)
        if ":start_value" in sql:
            text = text.bindparams(sa.bindparam("start_value", value=None))
        inner = text.columns(*[sa.column(c.name, c.type) for c in columns]).subquery("src")
        return sa.select(sa.literal(source_name, sa.String()).label("source_db"), *inner.c).subquery(resource_name)

    primary_key = ["source_db", *table.key]
    incremental = None
    query_adapter = None
    if table.incremental:
        incremental = dlt.sources.incremental(
            table.cursor,
            initial_value=initial_cursor(table, start),
            lag=lag_value(table, lag_days) if lag_days else None,
            range_start="closed",
        )

        def query_adapter(query, _table, incremental=None, engine=None):
            low, _high = incremental.get_current_range()
            value = low.date() if table.cursor_kind == "date" and isinstance(low, dt.datetime) else low
            return query.params(start_value=value)

    if not table.incremental:
        disposition: Any = {"disposition": "merge", "strategy": "delete-insert"}
        merge_key = ["source_db"]
    elif first_load:
        disposition, merge_key = "append", None
    else:
        disposition, merge_key = {"disposition": "merge", "strategy": "delete-insert"}, None
    resource = sql_table(
        credentials=engine,
        table=resource_name,
        metadata=metadata,
        table_adapter_callback=as_subquery,
        query_adapter_callback=query_adapter,
        incremental=incremental,
        backend="pyarrow",
        chunk_size=CHUNK_ROWS,
        reflection_level="full",
        write_disposition=disposition,
        primary_key=primary_key,
        merge_key=merge_key,
    )
    resource.apply_hints(table_name=table.name, schema_contract={"data_type": "freeze"})
    return resource
