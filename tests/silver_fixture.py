"""A hand-written silver: the silver tables built empty from an empty bronze, plus rows a test inserts by name."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
from bronze_fixture import empty_bronze

from dwh.layers.runner import build_layer
from dwh.ops.keys import key_from_salt, pseudonym
from dwh.pipelines.silver_transform import bronze_placeholders

SALT = "test-salt"


def empty_silver(path: Path, as_of: dt.date) -> Path:
    """Every silver table with its real columns and types, and no source rows (seeds and calendars only)."""
    empty_bronze(path)
    build_layer(path, "silver", as_of, variables={"hash_salt": SALT}, prepare=bronze_placeholders())
    return path


def insert_silver(path: Path, table: str, rows: list[dict]) -> None:
    """INSERT rows into silver.<table> by column name; columns not given stay NULL."""
    with duckdb.connect(str(path)) as con:
        for row in rows:
            cols = ", ".join(row)
            marks = ", ".join("?" for _ in row)
            con.execute(f"INSERT INTO silver.{table} ({cols}) VALUES ({marks})", list(row.values()))


def alumno_key(source_db: str, alumno: int) -> str:
    """The pseudonymous key silver gives (source_db, alumno) under the test key (hash_salt SALT)."""
    return pseudonym(key_from_salt(SALT), source_db, alumno)
