"""Connections to the application database (SQLite in WAL mode, or PostgreSQL) and its one error type."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from dwh.settings import scrub_passwords

_LIBPQ_DRIVERS = {"psycopg2", "psycopg"}


class AppDbError(RuntimeError):
    """The application database could not be reached, read or written; the message names it (no password)."""


def redacted(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL may hold a password anywhere
        return "<unparsable URL>"


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_path(url: str) -> Path:
    return Path(make_url(url).database or "")


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL: the dashboard writes while the nightly pipeline reads, and neither blocks the other.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str, *, read_only: bool = False) -> sa.Engine:
    """An engine for the application database; SQLite files run in WAL mode, PostgreSQL with a timeout."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = sa.create_engine(parsed, connect_args={"check_same_thread": False, "timeout": 10})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.drivername == "postgresql":
        # SQLAlchemy 2.1 defaults to psycopg 3; dwh ships psycopg2.
        parsed = parsed.set(drivername="postgresql+psycopg2")
    connect_args: dict[str, object] = {}
    if parsed.get_driver_name() in _LIBPQ_DRIVERS:
        connect_args = {"application_name": "dwh_app", "connect_timeout": 10}
        if read_only:
            connect_args["options"] = "-c default_transaction_read_only=on"
    return sa.create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)


@contextlib.contextmanager
def reaching(url: str, doing: str) -> Iterator[None]:
    """Turn any database or file error into an AppDbError that names the database and what was being done."""
    try:
        yield
        return
    except AppDbError:
        raise
    except (sa.exc.SQLAlchemyError, OSError, ImportError) as exc:
        cause = getattr(exc, "orig", None) or exc
        text = " ".join(str(cause).split())[:500]
        message = f"application database {redacted(url)}: {doing} failed: {type(cause).__name__}: {text}"
    # Raised outside the handler: no chained driver error (whose text is not scrubbed) rides along.
    raise AppDbError(scrub_passwords(message))
