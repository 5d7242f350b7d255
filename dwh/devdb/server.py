"""Start, find and stop an embedded PostgreSQL server (pgserver) that outlives the Python process."""

from __future__ import annotations

import logging
import os
import time
import warnings
from pathlib import Path

from sqlalchemy.engine.url import URL

from dwh.devdb.databases import render_url
from dwh.settings import devdb_dir

log = logging.getLogger(__name__)

SUPERUSER = "postgres"
ADMIN_DATABASE = "postgres"
# pg_ctl refuses to run as root; pgserver then runs PostgreSQL as this system user
# (creating it with useradd), and so must we when stopping the server.
ROOT_SYSTEM_USER = "pgserver"
STOP_TIMEOUT_SECONDS = 60


def default_data_dir() -> Path:
    """$DWH_DEVDB_DIR, else ./.devdb."""
    return devdb_dir()


def _system_user() -> str | None:
    return ROOT_SYSTEM_USER if os.name == "posix" and os.geteuid() == 0 else None


def _import_pgserver():
    with warnings.catch_warnings():
        # Without XDG_RUNTIME_DIR (root shells, CI) platformdirs warns and falls back to
        # /tmp/runtime-<uid>, which is fine for pgserver's lock file.
        warnings.simplefilter("ignore")
        import pgserver
    return pgserver


def _read_pidfile(data_dir: Path) -> list[str] | None:
    pidfile = data_dir / "postmaster.pid"
    try:
        return pidfile.read_text().splitlines()
    except FileNotFoundError:
        return None


def _is_live_postgres(pid: int) -> bool:
    import psutil

    try:
        process = psutil.Process(pid)
        # A stopped postmaster can linger as a zombie where PID 1 does not reap orphans;
        # it still "exists" but serves nothing.
        return process.status() != psutil.STATUS_ZOMBIE and process.name() == "postgres"
    except psutil.Error:
        return False


def _url_from_pidfile(lines: list[str], dbname: str = ADMIN_DATABASE) -> str:
    # postmaster.pid lines: pid, data dir, start time, port, socket dir, listen address, shmem, status.
    port = int(lines[3]) if lines[3].strip() else 5432
    socket_dir = lines[4].strip() if len(lines) > 4 else ""
    host = lines[5].strip() if len(lines) > 5 else ""
    if socket_dir:
        query = {"host": socket_dir} if port == 5432 else {"host": socket_dir, "port": str(port)}
        url = URL.create("postgresql+psycopg2", username=SUPERUSER, database=dbname, query=query)
    else:
        url = URL.create(
            "postgresql+psycopg2", username=SUPERUSER, host=host or "127.0.0.1", port=port, database=dbname
        )
    return render_url(url)


def running_url(data_dir: Path) -> str | None:
    """URL of the server serving data_dir if one is up and ready, else None."""
    lines = _read_pidfile(Path(data_dir).expanduser().resolve())
    if not lines or len(lines) < 8:
        return None
    try:
        pid = int(lines[0])
    except ValueError:
        return None
    if lines[7].strip() != "ready" or not _is_live_postgres(pid):
        return None
    return _url_from_pidfile(lines)


def _clear_stale_lock_files(data_dir: Path) -> None:
    """Remove lock files left by a server that died without shutting down."""
    lines = _read_pidfile(data_dir)
    if lines is None:
        return
    try:
        pid = int(lines[0])
    except (ValueError, IndexError):
        pid = -1
    if pid > 0 and _is_live_postgres(pid):
        return
    # PostgreSQL itself would refuse to start while the dead pid still answers kill(0) as a zombie.
    log.warning("removing stale postmaster.pid (pid %s) in %s", pid, data_dir)
    (data_dir / "postmaster.pid").unlink(missing_ok=True)
    socket_dir = Path(lines[4].strip()) if len(lines) > 4 and lines[4].strip() else None
    if socket_dir is not None and socket_dir.is_dir():
        for lock in socket_dir.glob(".s.PGSQL.*.lock"):
            lock.unlink(missing_ok=True)


def start(data_dir: Path) -> str:
    """Start (or reuse) the server whose data lives in data_dir; return its superuser URL."""
    data_dir = Path(data_dir).expanduser().resolve()
    existing = running_url(data_dir)
    if existing is not None:
        log.info("PostgreSQL already running for %s", data_dir)
        return existing

    pgserver = _import_pgserver()
    data_dir.mkdir(parents=True, exist_ok=True)
    _clear_stale_lock_files(data_dir)
    began = time.monotonic()
    # cleanup_mode=None: the server must survive this process so later commands can connect.
    pgserver.PostgresServer(data_dir, cleanup_mode=None)
    url = running_url(data_dir)
    if url is None:
        raise RuntimeError(f"PostgreSQL for {data_dir} did not come up; see {data_dir / 'log'}")
    log.info("PostgreSQL started for %s in %.1fs", data_dir, time.monotonic() - began)
    return url


def stop(data_dir: Path) -> None:
    """Stop the server for data_dir (fast shutdown); do nothing if none is running."""
    data_dir = Path(data_dir).expanduser().resolve()
    if running_url(data_dir) is None:
        _clear_stale_lock_files(data_dir)
        log.info("no PostgreSQL running for %s", data_dir)
        return

    _import_pgserver().pg_ctl(
        ["-w", "-t", str(STOP_TIMEOUT_SECONDS), "stop", "-m", "fast"],
        pgdata=data_dir,
        user=_system_user(),
        timeout=STOP_TIMEOUT_SECONDS + 30,
    )
    log.info("PostgreSQL stopped for %s", data_dir)
