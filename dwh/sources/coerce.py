"""Read each source column as its declared bronze type, whatever type the deployment holds it in."""

from __future__ import annotations

import pyarrow as pa

from dwh.sources.declared import decimal_parts
from dwh.sources.pg_copy import ColumnSpec

# PostgreSQL type OIDs that bronze queries can return.
BOOL, INT8, INT2, INT4, TEXT, FLOAT4, FLOAT8 = 16, 20, 21, 23, 25, 700, 701
CHAR, NAME, BPCHAR, VARCHAR, UUID = 18, 19, 1042, 1043, 2950
DATE, TIMESTAMP, TIMESTAMPTZ, NUMERIC = 1082, 1114, 1184, 1700
INTEGERS = frozenset({INT2, INT4, INT8})
STRINGS = frozenset({CHAR, NAME, TEXT, BPCHAR, VARCHAR})
FLOATS = frozenset({FLOAT4, FLOAT8})
TYPE_NAMES = {
    BOOL: "boolean",
    INT8: "bigint",
    INT2: "smallint",
    INT4: "integer",
    TEXT: "text",
    FLOAT4: "real",
    FLOAT8: "double precision",
    CHAR: '"char"',
    NAME: "name",
    BPCHAR: "character",
    VARCHAR: "character varying",
    UUID: "uuid",
    DATE: "date",
    TIMESTAMP: "timestamp without time zone",
    TIMESTAMPTZ: "timestamp with time zone",
    NUMERIC: "numeric",
    114: "json",
    3802: "jsonb",
    1083: "time without time zone",
    1186: "interval",
    17: "bytea",
}
# Instants travel as UTC ISO text so they never depend on the session time zone.
_UTC_TEXT = """to_char({expr} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""


class TypeMismatch(Exception):
    """A source column's type cannot be read as the column's declared bronze type."""


def source_type_name(type_code: int, precision: int | None = None, scale: int | None = None) -> str:
    name = TYPE_NAMES.get(type_code, f"type oid {type_code}")
    if type_code == NUMERIC and precision:
        return f"numeric({precision},{scale or 0})"
    return name


def _quote(literal: str) -> str:
    return "'" + literal.replace("'", "''") + "'"


def coerce(
    name: str,
    declared: str,
    type_code: int,
    precision: int | None,
    scale: int | None,
    time_zone: str,
) -> ColumnSpec:
    """How the column `name`, of PostgreSQL type `type_code` in this deployment, becomes `declared`.

    Days and instants follow one rule: an instant (TIMESTAMPTZ) is taken on `time_zone`'s clock, and a
    wall-clock TIMESTAMP is read as local time there. A column that cannot be converted without guessing
    (text where a date is declared, a date where a number is) raises TypeMismatch.

    The spec's `output` renders the value for the CSV reader (instants as UTC ISO text); its `typed` is the
    same value as a typed expression (an instant as TIMESTAMPTZ) for a binary reader.
    """
    col = f'q."{name}"'
    zone = _quote(time_zone)
    expr: str | None = None
    typed = ""  # for a binary reader, when expr is not already of the declared type's PostgreSQL type
    arrow: pa.DataType
    if declared == "BIGINT":
        arrow = pa.int64()
        if type_code in INTEGERS:
            expr, typed = col, f"{col}::bigint"
        elif type_code == NUMERIC and not scale:
            expr = f"{col}::bigint"
    elif declared in ("DOUBLE", "FLOAT"):
        arrow = pa.float64()
        if type_code in INTEGERS | FLOATS | {NUMERIC}:
            expr = f"{col}::float8"
    elif (parts := decimal_parts(declared)) is not None:
        arrow = pa.decimal128(*parts)
        if type_code in INTEGERS | FLOATS | {NUMERIC}:
            expr = f"{col}::numeric({parts[0]},{parts[1]})"
    elif declared == "VARCHAR":
        arrow = pa.string()
        if type_code in STRINGS | INTEGERS | {NUMERIC, UUID}:
            # ::text also drops the blank padding of character(n).
            expr = f"{col}::text"
    elif declared == "BOOLEAN":
        arrow = pa.bool_()
        if type_code == BOOL:
            expr = col
    elif declared == "DATE":
        arrow = pa.date32()
        if type_code == DATE:
            expr = col
        elif type_code == TIMESTAMPTZ:
            expr = f"({col} AT TIME ZONE {zone})::date"
        elif type_code == TIMESTAMP:
            expr = f"{col}::date"
    elif declared == "TIMESTAMP WITH TIME ZONE":
        arrow = pa.timestamp("us", tz="UTC")
        if type_code == TIMESTAMPTZ:
            typed = col
        elif type_code == TIMESTAMP:
            typed = f"({col} AT TIME ZONE {zone})"
        elif type_code == DATE:
            typed = f"({col}::timestamp AT TIME ZONE {zone})"
        if typed:
            expr = _UTC_TEXT.format(expr=typed)
    else:
        raise TypeMismatch(f"column {name}: declared type {declared} has no reader")
    if expr is None:
        raise TypeMismatch(
            f"column {name}: the source holds it as {source_type_name(type_code, precision, scale)}, "
            f"which cannot be read as its declared type {declared}"
        )
    return ColumnSpec(name, arrow, expr, "" if typed == expr else typed)
