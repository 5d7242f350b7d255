"""A hand-written bronze: empty bronze tables (dwh/schema/bronze.sql) plus rows a test inserts by name."""

from __future__ import annotations

from pathlib import Path

import duckdb

from dwh.pipelines.silver_transform import bronze_placeholders


def empty_bronze(path: Path) -> Path:
    with duckdb.connect(str(path)) as con:
        for statement in bronze_placeholders():
            con.execute(statement)
    return path


def insert(path: Path, table: str, rows: list[dict]) -> None:
    """INSERT rows into bronze.<table> by column name; columns not given stay NULL."""
    with duckdb.connect(str(path)) as con:
        for row in rows:
            cols = ", ".join(row)
            marks = ", ".join("?" for _ in row)
            con.execute(f"INSERT INTO bronze.{table} ({cols}) VALUES ({marks})", list(row.values()))
