"""Pick the PostgreSQL server for the test session: an env URL, a Docker container, or embedded pgserver."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from dwh import devdb

log = logging.getLogger(__name__)

ENV_URL = "DWH_TEST_POSTGRES_URL"
CONTAINER_IMAGE = "postgres:16-alpine"
DOCKER_PING_TIMEOUT_SECONDS = 3


def docker_answers(timeout: float = DOCKER_PING_TIMEOUT_SECONDS) -> bool:
    """True when a Docker engine replies to a ping within timeout seconds."""
    try:
        import docker

        client = docker.from_env(timeout=timeout)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception as exc:  # any failure just means "no usable Docker here"
        log.debug("docker not usable: %s", exc)
        return False


def server_version(url: str) -> str:
    """'PostgreSQL 16.2'-style version of the server behind url."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            full = str(conn.execute(text("SELECT version()")).scalar())
    finally:
        engine.dispose()
    return " ".join(full.split()[:2])


@contextmanager
def _container() -> Iterator[str]:
    from testcontainers.community.postgres import PostgresContainer

    with PostgresContainer(CONTAINER_IMAGE, driver="psycopg2") as container:
        yield devdb.url_for(container.get_connection_url(), "postgres")


@contextmanager
def _embedded() -> Iterator[str]:
    root = Path(tempfile.mkdtemp(prefix="dwh-test-pg-"))
    data_dir = root / "data"
    try:
        yield devdb.start(data_dir)
    finally:
        devdb.stop(data_dir)
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def admin_server() -> Iterator[tuple[str, str]]:
    """Yield (label, admin URL) for the first backend available; tear it down afterwards."""
    env_url = os.environ.get(ENV_URL, "").strip()
    if env_url:
        redacted = make_url(env_url).render_as_string(hide_password=True)
        yield f"{ENV_URL} ({redacted})", env_url
    elif docker_answers():
        with _container() as url:
            yield f"testcontainers ({CONTAINER_IMAGE})", url
    else:
        with _embedded() as url:
            yield "pgserver (embedded)", url
