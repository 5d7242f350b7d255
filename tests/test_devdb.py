"""Tests for dwh.devdb: the session's PostgreSQL, database creation and the embedded server lifecycle."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from dwh import devdb


def scalar(url: str, sql: str) -> object:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(sql))
            return result.scalar() if result.returns_rows else None
    finally:
        engine.dispose()


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dwh.devdb", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )


def test_server_answers_version(pg_admin_url: str) -> None:
    assert str(scalar(pg_admin_url, "SELECT version()")).startswith("PostgreSQL ")
    assert make_url(pg_admin_url).database == "postgres"


def test_create_database_replaces_or_keeps(pg_admin_url: str) -> None:
    name = f"dwh_test_create_{os.getpid()}"
    url = devdb.create_database(pg_admin_url, name)
    try:
        assert make_url(url).database == name
        assert scalar(url, "SELECT current_database()") == name
        scalar(url, "CREATE TABLE t AS SELECT 1 AS x")

        devdb.create_database(pg_admin_url, name, drop_existing=False)
        assert scalar(url, "SELECT count(*) FROM t") == 1

        devdb.create_database(pg_admin_url, name)
        assert scalar(url, "SELECT to_regclass('public.t')") is None
    finally:
        devdb.drop_database(pg_admin_url, name)
    assert scalar(pg_admin_url, f"SELECT count(*) FROM pg_database WHERE datname = '{name}'") == 0


def test_fresh_database_is_unique(fresh_database: Callable[[str], str]) -> None:
    first, second = fresh_database("dwh_fresh"), fresh_database("dwh_fresh")
    assert first != second
    assert scalar(first, "SELECT current_database()") != scalar(second, "SELECT current_database()")


def test_url_for_keeps_credentials_and_socket() -> None:
    assert (
        devdb.url_for("postgresql+psycopg2://postgres@/postgres?host=/tmp/dwh socket", "guarani_a")
        == "postgresql+psycopg2://postgres@/guarani_a?host=%2Ftmp%2Fdwh+socket"
    )
    assert (
        devdb.url_for("postgresql+psycopg2://postgres@/postgres?host=/srv/pg/.devdb", "moodle")
        == "postgresql+psycopg2://postgres@/moodle?host=/srv/pg/.devdb"
    )
    assert (
        devdb.url_for("postgresql://u:p%40ss@db.example.edu:5433/postgres", "x")
        == "postgresql://u:p%40ss@db.example.edu:5433/x"
    )


def test_embedded_server_outlives_the_cli_process(tmp_path: Path) -> None:
    data_dir = tmp_path / "pg"
    try:
        started = run_cli("start", "--data-dir", str(data_dir))
        assert started.returncode == 0, started.stderr
        url = started.stdout.strip()
        assert url.startswith("postgresql+psycopg2://postgres@/postgres")
        # The CLI process has exited; the server must still answer.
        assert scalar(url, "SELECT 1") == 1
        assert devdb.start(data_dir) == url

        shown = run_cli("url", "--data-dir", str(data_dir))
        assert (shown.returncode, shown.stdout.strip()) == (0, url)

        stopped = run_cli("stop", "--data-dir", str(data_dir))
        assert stopped.returncode == 0, stopped.stderr
        assert devdb.running_url(data_dir) is None
        assert run_cli("url", "--data-dir", str(data_dir)).returncode == 1

        assert devdb.start(data_dir) == url, "restart on the same data directory"
    finally:
        devdb.stop(data_dir)
    assert devdb.running_url(data_dir) is None


def test_default_data_dir_follows_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert devdb.default_data_dir() == Path(os.environ["DWH_DEVDB_DIR"]).resolve()
    del os.environ["DWH_DEVDB_DIR"]
    monkeypatch.chdir(tmp_path)
    assert devdb.default_data_dir() == tmp_path.resolve() / ".devdb"
