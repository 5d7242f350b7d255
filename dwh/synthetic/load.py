"""Bulk-load Arrow tables into PostgreSQL with COPY, then add keys and indexes."""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Iterable

import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa

log = logging.getLogger(__name__)
_CHUNK_ROWS = 250_000
_CSV = pacsv.WriteOptions(include_header=False)


def raw_connection(url: str):
    """A psycopg2 connection for the URL (unix-socket URLs included)."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    return engine.raw_connection()


def copy_table(cursor, qualified: str, data: pa.Table) -> None:
    """Stream the table as CSV in chunks; unquoted empty fields are NULL, quoted ones empty strings."""
    cols = ", ".join(data.column_names)
    sql = f"COPY {qualified} ({cols}) FROM STDIN WITH (FORMAT csv)"
    for offset in range(0, max(data.num_rows, 1), _CHUNK_ROWS):
        chunk = data.slice(offset, _CHUNK_ROWS)
        if chunk.num_rows == 0:
            break
        buffer = io.BytesIO()
        pacsv.write_csv(chunk, buffer, _CSV)
        buffer.seek(0)
        cursor.copy_expert(sql, buffer)


def load_database(
    url: str, create_sql: str, tables: dict[str, pa.Table], post_sql: Iterable[str], schema: str | None
) -> dict[str, int]:
    """Create the schema, COPY every table, run the post-load statements and ANALYZE, in one transaction."""
    started = time.perf_counter()
    conn = raw_connection(url)
    try:
        cur = conn.cursor()
        cur.execute("SET synchronous_commit = off")
        cur.execute(create_sql)
        counts = {}
        for name, data in tables.items():
            qualified = f"{schema}.{name}" if schema else name
            copy_table(cur, qualified, data)
            counts[name] = data.num_rows
        copied = time.perf_counter()
        for stmt in post_sql:
            cur.execute(stmt)
        conn.commit()
        conn.autocommit = True
        for name in tables:
            cur.execute(f"ANALYZE {schema}.{name}" if schema else f"ANALYZE {name}")
        log.info(
            "loaded %s rows into %s tables (copy %.1fs, keys and indexes %.1fs)",
            f"{sum(counts.values()):,}",
            len(counts),
            copied - started,
            time.perf_counter() - copied,
        )
        return counts
    finally:
        conn.close()


def run_statements(url: str, statements: Iterable[str]) -> None:
    conn = raw_connection(url)
    try:
        cur = conn.cursor()
        for stmt in statements:
            cur.execute(stmt)
        conn.commit()
    finally:
        conn.close()
