"""`python -m dwh.main status`: the last runs, per-source freshness and the last data-test results."""

from __future__ import annotations

import fcntl
import logging
import os
import sys
from pathlib import Path

import duckdb

from dwh.ops import freshness
from dwh.ops.lock import holder, lock_path
from dwh.ops.publish import published_path
from dwh.settings import ConfigError, load_config

log = logging.getLogger("dwh.status")


def running(warehouse: Path) -> str | None:
    """Who holds the run lock now, or None."""
    path = lock_path(warehouse)
    if not path.exists():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return holder(path)
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _readable(warehouse: Path) -> tuple[Path | None, str]:
    """The working file when no run holds it, else the published copy."""
    holder = running(warehouse)
    if holder is None and warehouse.exists():
        return warehouse, "working warehouse"
    published = published_path(warehouse)
    note = f"a run is in progress ({holder}); showing the published copy" if holder else "published copy"
    return (published if published.exists() else None), note


def _table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    sql = "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?"
    return bool(con.execute(sql, [schema, table]).fetchone()[0])


def report(warehouse: Path, runs: int = 5) -> str:
    path, note = _readable(warehouse)
    lines = [f"warehouse {warehouse} ({note})"]
    if path is None:
        return "\n".join(lines + ["no warehouse yet: run python -m dwh.main"])
    published = published_path(warehouse)
    if published.exists():
        lines.append(f"published copy {published}")
    with duckdb.connect(str(path), read_only=True) as con:
        lines += ["", "last runs:"]
        if _table_exists(con, "dwh_meta", "run_log"):
            rows = con.execute(
                "SELECT run_id, started_at, status, seconds, error FROM dwh_meta.run_log WHERE step = 'run' "
                "ORDER BY started_at DESC LIMIT ?",
                [runs],
            ).fetchall()
            for run_id, started, status, seconds, error in rows:
                text = f"  {started:%Y-%m-%d %H:%M} {run_id} {status:<7} {seconds or 0:7.1f}s"
                lines.append(text + (f"  {error[:200]}" if error else ""))
            if rows:
                failed = con.execute(
                    "SELECT step, source_db, table_name, error FROM dwh_meta.run_log "
                    "WHERE run_id = ? AND status = 'failed' AND step <> 'run'",
                    [rows[0][0]],
                ).fetchall()
                lines += [f"    failed: {s} {src or ''} {t or ''}: {(e or '')[:200]}" for s, src, t, e in failed]
        else:
            lines.append("  none recorded")
        lines += ["", "data tests of the last build of each layer:"]
        if _table_exists(con, "dwh_meta", "data_test_results"):
            for layer, run_id, total, warns, fails in con.execute(
                "SELECT layer, run_id, count(*), count(*) FILTER (WHERE status = 'warn'), "
                "count(*) FILTER (WHERE status = 'fail') FROM dwh_meta.data_test_results "
                "WHERE (layer, checked_at) IN (SELECT layer, max(checked_at) FROM dwh_meta.data_test_results "
                "GROUP BY layer) GROUP BY layer, run_id ORDER BY layer"
            ).fetchall():
                lines.append(f"  {layer}: {total} tests, {fails} failed, {warns} warnings (run {run_id})")
                for table, test, status, failing in con.execute(
                    "SELECT table_name, test, status, failing FROM dwh_meta.data_test_results "
                    "WHERE run_id = ? AND status <> 'pass' ORDER BY status, table_name",
                    [run_id],
                ).fetchall():
                    lines.append(f"    {status}: {table} {test} ({failing:,} rows)")
        else:
            lines.append("  none recorded")
    lines += ["", "freshness (newest event loaded per source):"]
    try:
        sources = load_config()
    except ConfigError as exc:
        lines.append(f"  unavailable: {exc}")
    else:
        for f in freshness.check(path, sources):
            lines.append(f"  {f.describe()}")
    return "\n".join(lines)


def show_status(warehouse: Path, runs: int = 5) -> int:
    try:
        text = report(warehouse, runs)
    except duckdb.Error as exc:
        log.error("cannot read the warehouse: %s", str(exc).splitlines()[0])
        return 1
    sys.stdout.write(text + "\n")
    return 0
