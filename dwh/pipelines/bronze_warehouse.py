"""The warehouse side of bronze: which tables exist, per-source deletes and the load log."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from dwh import duck
from dwh.layers.bronze_schema import DATASET, LOG_DDL, LOG_TABLE
from dwh.sources.declared import BRONZE_DDL
from dwh.sources.sql_resource import Scope

# (source, table) pairs whose rows were deleted for a full reload that has not completed yet
RELOAD_TABLE = "_dwh_full_reload_pending"


def table_exists(warehouse: Path, table: str) -> bool:
    with duck.connect(str(warehouse), read_only=True, stage="bronze") as con:
        return bool(
            con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                [DATASET, table],
            ).fetchone()[0]
        )


def previous_variant(warehouse: Path, source: str, table: str) -> str | None:
    """How the table was last read from this source: 'loaded' (main query) or 'fallback'."""
    if not warehouse.exists() or not table_exists(warehouse, LOG_TABLE):
        return None
    with duck.connect(str(warehouse), read_only=True, stage="bronze") as con:
        row = con.execute(
            f"SELECT status FROM {DATASET}.{LOG_TABLE} WHERE source_db = ? AND table_name = ? "
            "AND status IN ('loaded', 'fallback') ORDER BY started_at DESC LIMIT 1",
            [source, table],
        ).fetchone()
    return row[0] if row else None


@dataclass(frozen=True)
class SourceState:
    """What the warehouse knows of a source before its tables are read."""

    previous_variants: dict[str, str] = field(default_factory=dict)  # table -> 'loaded' | 'fallback'
    pending_reloads: frozenset[str] = frozenset()


def read_source_state(warehouse: Path, source: str) -> SourceState:
    """How each table was last read from the source and which full reloads are unfinished, in one connection."""
    if not warehouse.exists():
        return SourceState()
    with duck.connect(str(warehouse), read_only=True, stage="bronze") as con:
        present = {
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ? AND table_name IN (?, ?)",
                [DATASET, LOG_TABLE, RELOAD_TABLE],
            ).fetchall()
        }
        variants: dict[str, str] = {}
        if LOG_TABLE in present:
            rows = con.execute(
                f"SELECT table_name, arg_max(status, started_at) FROM {DATASET}.{LOG_TABLE} WHERE source_db = ? "
                "AND status IN ('loaded', 'fallback') GROUP BY table_name",
                [source],
            ).fetchall()
            variants = {table: status for table, status in rows}
        pending: frozenset[str] = frozenset()
        if RELOAD_TABLE in present:
            rows = con.execute(f"SELECT table_name FROM {DATASET}.{RELOAD_TABLE} WHERE source_db = ?", [source])
            pending = frozenset(r[0] for r in rows.fetchall())
    return SourceState(variants, pending)


def delete_source_rows(warehouse: Path, table: str, source: str) -> None:
    """Before a first (append) load of a source's history, clear any rows it left without state."""
    if not warehouse.exists() or not table_exists(warehouse, table):
        return
    with duck.connect(str(warehouse), stage="bronze") as con:
        con.execute(f'DELETE FROM {DATASET}."{table}" WHERE source_db = ?', [source])


def delete_scope(warehouse: Path, table: str, source: str, columns: tuple[str, str], scope: Scope) -> None:
    """Delete the source's rows of these groups and (group, member) pairs (a table read per group by row
    versions: dwh.sources.changes), in one transaction."""
    if not warehouse.exists() or not table_exists(warehouse, table):
        return
    group, member = columns
    with duck.connect(str(warehouse), stage="bronze") as con:
        con.execute("BEGIN")
        con.execute(
            f'DELETE FROM {DATASET}."{table}" WHERE source_db = ? AND "{group}" IN (SELECT unnest(?))',
            [source, list(scope.whole)],
        )
        params = scope.params
        con.execute(
            f'DELETE FROM {DATASET}."{table}" AS t USING (SELECT unnest(?) AS g, unnest(?) AS m) AS p '
            f'WHERE t.source_db = ? AND t."{group}" = p.g AND t."{member}" = p.m',
            [params["scope_pair_groups"], params["scope_pair_members"], source],
        )
        con.execute("COMMIT")


def create_declared(warehouse: Path, tables: list[str]) -> None:
    """Create these bronze tables, empty, from their declaration in dwh/schema/bronze.sql, if they are missing."""
    statements = {}
    for statement in duckdb.extract_statements(BRONZE_DDL.read_text(encoding="utf-8")):
        match = re.search(rf"CREATE TABLE IF NOT EXISTS {DATASET}\.(\w+)", statement.query)
        if match:
            statements[match.group(1)] = statement.query
    with duck.connect(str(warehouse), stage="bronze") as con:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {DATASET}")
        for table in tables:
            con.execute(statements[table])


def record_outcomes(warehouse: Path, run_id: str, started: dt.datetime, rows: list[tuple]) -> None:
    """Append (source, table, status, rows, message) rows of one run to the load log."""
    with duck.connect(str(warehouse), stage="bronze") as con:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {DATASET}")
        con.execute(LOG_DDL)
        if rows:
            con.executemany(
                f"INSERT INTO {DATASET}.{LOG_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(run_id, started, *row) for row in rows],
            )


def mark_full_reload(warehouse: Path, source: str, table: str) -> None:
    """Record, before deleting anything, that this source's table must be reloaded in full.

    dlt restores the state of the last completed load when a run dies, and that state holds the old
    cursor: without this mark, the run after a crash would read only the rows after it, and the deleted
    history would be lost. The mark is cleared once the full reload has loaded.
    """
    with duck.connect(str(warehouse), stage="bronze") as con:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {DATASET}")
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {DATASET}.{RELOAD_TABLE} "
            "(source_db VARCHAR, table_name VARCHAR, since TIMESTAMPTZ)"
        )
        con.execute(
            f"INSERT INTO {DATASET}.{RELOAD_TABLE} SELECT ?, ?, now() WHERE NOT EXISTS "
            f"(SELECT 1 FROM {DATASET}.{RELOAD_TABLE} WHERE source_db = ? AND table_name = ?)",
            [source, table, source, table],
        )


def pending_full_reloads(warehouse: Path, source: str) -> set[str]:
    if not warehouse.exists() or not table_exists(warehouse, RELOAD_TABLE):
        return set()
    with duck.connect(str(warehouse), read_only=True, stage="bronze") as con:
        rows = con.execute(f"SELECT table_name FROM {DATASET}.{RELOAD_TABLE} WHERE source_db = ?", [source])
        return {r[0] for r in rows.fetchall()}


def clear_full_reloads(warehouse: Path, source: str) -> None:
    """The source's full reloads have loaded."""
    if not warehouse.exists() or not table_exists(warehouse, RELOAD_TABLE):
        return
    with duck.connect(str(warehouse), stage="bronze") as con:
        con.execute(f"DELETE FROM {DATASET}.{RELOAD_TABLE} WHERE source_db = ?", [source])
