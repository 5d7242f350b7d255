"""The declared type of every bronze column, read from the committed bronze DDL (dwh/schema/bronze.sql)."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import duckdb

from dwh import duck

BRONZE_DDL = Path(__file__).resolve().parent.parent / "schema" / "bronze.sql"
# Added by the pipeline, not by the query: every table has them.
PIPELINE_COLUMNS = ("source_db", "_dlt_load_id")
_DECIMAL = re.compile(r"^DECIMAL\((\d+),\s*(\d+)\)$")


class UndeclaredColumn(Exception):
    """A bronze query and the bronze DDL disagree on which columns a table has."""


@lru_cache(maxsize=None)
def declared_columns(ddl_path: Path = BRONZE_DDL) -> dict[str, tuple[tuple[str, str], ...]]:
    """{table: ((column, DuckDB type), ...)} in DDL order, without the pipeline's own columns.

    DuckDB parses the file itself, so the types are DuckDB's canonical names (BIGINT, VARCHAR, DATE,
    TIMESTAMP WITH TIME ZONE, DECIMAL(p,s), BOOLEAN, DOUBLE).
    """
    with duck.connect(stage="bronze") as con:
        con.execute("CREATE SCHEMA bronze")
        for statement in duckdb.extract_statements(ddl_path.read_text(encoding="utf-8")):
            con.execute(statement)
        rows = con.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'bronze' ORDER BY table_name, ordinal_position"
        ).fetchall()
    out: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in rows:
        if column not in PIPELINE_COLUMNS:
            out.setdefault(table, []).append((column, data_type))
    return {table: tuple(columns) for table, columns in out.items()}


def declared_type(table: str, column: str) -> str:
    for name, data_type in declared_columns().get(table, ()):
        if name == column:
            return data_type
    raise UndeclaredColumn(f"bronze.{table}.{column} is not declared in {BRONZE_DDL.name}")


def decimal_parts(data_type: str) -> tuple[int, int] | None:
    """(precision, scale) of a DECIMAL(p,s) type name, else None."""
    match = _DECIMAL.match(data_type)
    return (int(match.group(1)), int(match.group(2))) if match else None
