"""Key reconciliation: delete from bronze the rows of an incremental table that its source no longer has.

Row versions (dwh.sources.changes) show what was written, never what was deleted. So, per table and source,
the keys the table's query returns now are read (only the keys, through the same COPY) and every bronze row of
that source whose key is not among them is deleted. It runs after the source's load, so a row written after
that load is at worst not yet in bronze, never deleted by mistake. See dwh/docs/CHANGE_DETECTION.md.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

from dwh import duck
from dwh.layers.bronze_schema import DATASET
from dwh.sources.catalog import BronzeTable
from dwh.sources.pg_copy import ColumnSpec, arrow_schema, copy_query, stream_batches
from dwh.sources.sql_resource import NO_SCOPE, initial_cursor, psycopg_sql

log = logging.getLogger("dwh.bronze")
LOG_TABLE = "_dwh_reconcile_log"
LOG_DDL = (
    f"CREATE TABLE IF NOT EXISTS {DATASET}.{LOG_TABLE} (run_id VARCHAR, reconciled_at TIMESTAMPTZ, "
    "source_db VARCHAR, table_name VARCHAR, source_keys BIGINT, deleted BIGINT, seconds DOUBLE, "
    "full_read_seconds DOUBLE)"
)
# auto: every night while a reconciliation costs at most this share of a full read of the table, else weekly
NIGHTLY_SHARE = 0.05
WEEK = dt.timedelta(days=7)


@dataclass(frozen=True)
class Reconciled:
    """One reconciliation: how many keys the source has, how many bronze rows were deleted, in how long."""

    source: str
    table: str
    source_keys: int
    deleted: int
    seconds: float


@dataclass(frozen=True)
class LastReconciliation:
    at: dt.datetime
    seconds: float


def last_reconciliations(warehouse: Path, source: str) -> dict[str, LastReconciliation]:
    """The newest reconciliation of each table of the source."""
    if not warehouse.exists():
        return {}
    with duck.connect(str(warehouse), read_only=True, stage="bronze") as con:
        present = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            [DATASET, LOG_TABLE],
        ).fetchone()
        if not present or not present[0]:
            return {}
        rows = con.execute(
            f"SELECT table_name, max(reconciled_at), arg_max(seconds, reconciled_at) FROM {DATASET}.{LOG_TABLE} "
            "WHERE source_db = ? GROUP BY table_name",
            [source],
        ).fetchall()
    return {table: LastReconciliation(at, float(seconds)) for table, at, seconds in rows}


def is_due(
    policy: str, last: LastReconciliation | None, full_read_seconds: float | None, now: dt.datetime
) -> tuple[bool, str]:
    """Whether to reconcile tonight, and why (for the log)."""
    if policy == "off":
        return False, "DWH_RECONCILE=off"
    if policy == "nightly" or last is None:
        return True, "nightly" if last is not None else "never reconciled"
    week_old = now - last.at >= WEEK
    if policy == "weekly":
        return week_old, "weekly"
    if full_read_seconds and last.seconds <= NIGHTLY_SHARE * full_read_seconds:
        return True, f"{last.seconds:.1f}s <= {NIGHTLY_SHARE:.0%} of a full read ({full_read_seconds:.1f}s)"
    reason = (
        f"{last.seconds:.1f}s > {NIGHTLY_SHARE:.0%} of a full read ({full_read_seconds:.1f}s)"
        if full_read_seconds
        else "no full read measured"
    )
    return week_old, f"weekly: {reason}"


def reconcile_table(
    warehouse: Path,
    engine: sa.Engine,
    source: str,
    table: BronzeTable,
    sql: str,
    columns: list[ColumnSpec],
    *,
    start: dt.date,
    as_of: dt.date,
    run_id: str,
    full_read_seconds: float | None,
) -> Reconciled:
    """Read the keys the table's full query returns at the source and delete the bronze rows not among them."""
    started = time.perf_counter()
    specs = [c for c in columns if c.name in table.key]
    schema = arrow_schema(specs)
    names = ", ".join(f'src."{k}"' for k in table.key)
    # No DISTINCT: keys are unique by the table's grain, and PostgreSQL 16 ran DISTINCT over this plan for minutes.
    inner = f"SELECT {names} FROM ({psycopg_sql(sql)}) AS src"
    match = " AND ".join(f't."{k}" = k."{k}"' for k in table.key)
    # The keys go straight into a DuckDB temporary table (spilled under DWH_MEMORY_LIMIT), never all in Python:
    # 26 million engagement keys at 400,000 students.
    with duck.connect(str(warehouse), stage="bronze") as con:
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            params: dict[str, Any] = {
                "start_value": initial_cursor(table, start) if table.cursor else None,
                "as_of": as_of,
                "cursor_cap": as_of,
                **NO_SCOPE,
            }
            statement = cursor.mogrify(copy_query(inner, specs), params).decode()
            con.register("key_batch", schema.empty_table())
            con.execute("CREATE OR REPLACE TEMP TABLE source_keys AS SELECT * FROM key_batch")
            for batch in stream_batches(raw.driver_connection, statement, schema):
                con.register("key_batch", pa.Table.from_batches([batch], schema))
                con.execute("INSERT INTO source_keys SELECT * FROM key_batch")
        finally:
            raw.close()
        con.unregister("key_batch")
        source_keys = con.execute("SELECT count(*) FROM source_keys").fetchone()
        keys_count = int(source_keys[0]) if source_keys else 0
        con.execute("BEGIN")
        deleted = con.execute(
            f'DELETE FROM {DATASET}."{table.name}" AS t WHERE t.source_db = ? '
            f"AND NOT EXISTS (SELECT 1 FROM source_keys AS k WHERE {match})",
            [source],
        ).fetchone()
        seconds = time.perf_counter() - started
        con.execute(LOG_DDL)
        con.execute(
            f"INSERT INTO {DATASET}.{LOG_TABLE} VALUES (?, now(), ?, ?, ?, ?, ?, ?)",
            [run_id, source, table.name, keys_count, int(deleted[0]) if deleted else 0, seconds, full_read_seconds],
        )
        con.execute("COMMIT")
    result = Reconciled(source, table.name, keys_count, int(deleted[0]) if deleted else 0, seconds)
    log.info(
        "%s.%s reconciled: %s keys at the source, %s bronze rows deleted, in %.1fs",
        source,
        table.name,
        f"{result.source_keys:,}",
        f"{result.deleted:,}",
        seconds,
    )
    return result
