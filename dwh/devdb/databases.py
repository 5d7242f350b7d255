"""Create and drop databases on a PostgreSQL server and derive URLs to them."""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.engine.url import URL
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

_PLAIN_QUERY_RE = re.compile(r"^[A-Za-z0-9_./=&-]*$")


def render_url(url: URL) -> str:
    """Render a URL with its password, keeping a socket-directory query readable."""
    rendered = url.render_as_string(hide_password=False)
    base, sep, query = rendered.partition("?")
    # SQLAlchemy percent-encodes "/" in query values; a plain path parses the same either way.
    if sep and _PLAIN_QUERY_RE.match(unquote(query)):
        return f"{base}?{unquote(query)}"
    return rendered


def url_for(base_url: str, dbname: str) -> str:
    """The same server, user and options as base_url, but connected to database dbname."""
    return render_url(make_url(base_url).set(database=dbname))


def create_database(admin_url: str, dbname: str, drop_existing: bool = True) -> str:
    """Create dbname (dropping an existing one when drop_existing) and return a URL to it."""
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with engine.connect() as conn:
            quoted = conn.dialect.identifier_preparer.quote_identifier(dbname)
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": dbname}).scalar()
            if exists and drop_existing:
                # FORCE ends sessions left open by earlier runs instead of failing on them.
                conn.execute(text(f"DROP DATABASE {quoted} WITH (FORCE)"))
                log.info("dropped database %s", dbname)
            if not exists or drop_existing:
                conn.execute(text(f"CREATE DATABASE {quoted}"))
                log.info("created database %s", dbname)
    finally:
        engine.dispose()
    return url_for(admin_url, dbname)


def drop_database(admin_url: str, dbname: str) -> None:
    """Drop dbname if it exists, ending any sessions still connected to it."""
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with engine.connect() as conn:
            quoted = conn.dialect.identifier_preparer.quote_identifier(dbname)
            conn.execute(text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
    finally:
        engine.dispose()
