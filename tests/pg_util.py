"""Query helpers for tests that read the synthetic PostgreSQL sources."""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool


def query(url: str, sql: str, time_zone: str | None = None, **params: Any) -> list[tuple]:
    """Rows of `sql`; with `time_zone`, the session runs on that clock (date casts of instants are its days)."""
    connect_args = {"options": f"-c TimeZone={time_zone}"} if time_zone else {}
    engine = create_engine(url, poolclass=NullPool, connect_args=connect_args)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


def execute(url: str, sql: str, **params: Any) -> None:
    """Run one statement in its own committed transaction."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(text(sql), params)
    finally:
        engine.dispose()


def scalar(url: str, sql: str, **params: Any) -> Any:
    return query(url, sql, **params)[0][0]


def table_checksums(url: str, schema: str) -> dict[str, str]:
    """md5 of every table's rows in a fixed order, so two databases can be compared table by table."""
    names = [
        r[0]
        for r in query(
            url,
            "SELECT table_name FROM information_schema.tables WHERE table_schema = :s AND table_type = 'BASE TABLE'",
            s=schema,
        )
    ]
    sums = {}
    for name in sorted(names):
        qualified = f"{schema}.{name}" if schema != "public" else name
        sums[name] = scalar(
            url, f"SELECT md5(COALESCE(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {qualified} t"
        )
    return sums
