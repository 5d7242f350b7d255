"""Publish a read-only copy of the warehouse without identifiers, and the contacts file, after a successful run."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import duckdb

from dwh import duck
from dwh.ops import identifiers
from dwh.ops.contacts import SOURCE, contacts_path, write_contacts
from dwh.ops.freshness import EVENT_TABLES
from dwh.settings import published_override
from dwh.sources.catalog import by_name

log = logging.getLogger("dwh.publish")


@dataclass(frozen=True)
class Published:
    """One publication: the read-only copy and the contacts file written beside it."""

    path: Path
    bytes: int
    seconds: float
    contacts: Path
    students: int


def published_path(warehouse: Path) -> Path:
    """$DWH_PUBLISHED_PATH, else published/<warehouse name> beside the warehouse."""
    return published_override() or warehouse.parent / "published" / warehouse.name


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _copy_sql(con: duckdb.DuckDBPyConnection) -> list[str]:
    """CREATE TABLE ... AS SELECT statements that fill the new file from the working one (attached as SOURCE):
    every table and view of every schema but withheld ones, without identifying columns (dwh.ops.identifiers);
    of bronze, only its load log and each event table's newest cursor per source (what freshness reads)."""
    columns: dict[tuple[str, str], list[str]] = {}
    for schema, table, column in con.execute(
        "SELECT schema_name, table_name, column_name FROM duckdb_columns() WHERE database_name = ? "
        "ORDER BY schema_name, table_name, column_index",
        [SOURCE],
    ).fetchall():
        columns.setdefault((schema, table), []).append(column)
    statements, schemas = [], set()
    for (schema, table), names in columns.items():
        if identifiers.is_withheld_table(schema, table):
            continue
        source, target = f"{SOURCE}.{_quote(schema)}.{_quote(table)}", f"{_quote(schema)}.{_quote(table)}"
        if schema == identifiers.BRONZE and table not in identifiers.BRONZE_PUBLISHED:
            if table not in EVENT_TABLES or not {"source_db", by_name(table).cursor} <= set(names):
                continue
            cursor = _quote(cast(str, by_name(table).cursor))  # event tables have a cursor
            select = f"SELECT source_db, max({cursor}) AS {cursor} FROM {source} GROUP BY source_db"
        else:
            kept = [c for c in names if not identifiers.is_identifying(schema, table, c)]
            if not kept:
                continue
            select = f"SELECT {', '.join(map(_quote, kept))} FROM {source}"
        if schema not in schemas:
            schemas.add(schema)
            statements.append(f"CREATE SCHEMA IF NOT EXISTS {_quote(schema)}")
        statements.append(f"CREATE TABLE {target} AS {select}")
    return statements


def _write_published(warehouse: Path, tmp: Path) -> None:
    """A new DuckDB file holding only what may be published; no byte of the working file is copied, so no
    freed block of it can carry an identifier along."""
    with duck.connect(str(tmp), stage="publish", warehouse=warehouse) as con:
        con.execute("SET enable_progress_bar = false")  # a nightly run's log is not a terminal
        con.execute(f"ATTACH ? AS {SOURCE} (READ_ONLY)", [str(warehouse)])
        for statement in _copy_sql(con):
            con.execute(statement)
        con.execute(f"DETACH {SOURCE}")
        con.execute("CHECKPOINT")
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())


def publish(warehouse: Path, target: Path | None = None) -> Published:
    """Write the publishable part of the working file to a new file beside the target and rename it over the
    target; the same for the contacts file (contactos.duckdb, mode 0400) beside it.

    A reader that has the old copy open keeps reading it (the rename does not touch its inode); a new
    reader opens the new copy. A crash before the rename leaves only a stale temporary file.
    """
    t0 = time.perf_counter()
    target = target if target is not None else published_path(warehouse)
    target.parent.mkdir(parents=True, exist_ok=True)
    contacts = contacts_path(target)
    with duck.connect(str(warehouse), stage="publish", warehouse=warehouse) as con:
        # all committed data into the main file, so the read-only attach below needs no WAL
        con.execute("CHECKPOINT")
    tmp = target.with_name(f".{target.name}.publishing")
    contacts_tmp = contacts.with_name(f".{contacts.name}.publishing")
    log.info("publishing %s to %s", warehouse, target)
    # A run killed between the chmod and the rename below leaves a read-only temporary file; writing
    # over it would fail (permission denied, for any owner but root) on every later run. Removing it
    # needs only write permission on the directory.
    tmp.unlink(missing_ok=True)
    contacts_tmp.unlink(missing_ok=True)
    try:
        _write_published(warehouse, tmp)
        os.chmod(tmp, 0o444)
        students = write_contacts(warehouse, contacts_tmp)
        os.replace(contacts_tmp, contacts)
        os.replace(tmp, target)
    finally:
        for left in (tmp, contacts_tmp):
            if left.exists():
                left.unlink()
    size = target.stat().st_size
    seconds = time.perf_counter() - t0
    log.info("published %s (%.0f MB) and %s (%d students) in %.1fs", target, size / 1e6, contacts, students, seconds)
    return Published(target, size, seconds, contacts, students)
