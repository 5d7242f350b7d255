"""`python -m dwh.main status`: the last runs, per-source freshness and the last data-test results."""

from __future__ import annotations

import fcntl
import logging
import os
import sys
from pathlib import Path

import duckdb

from dwh import duck
from dwh.ops import freshness
from dwh.ops.lock import holder, lock_path
from dwh.ops.publish import published_path
from dwh.ops.runlog import read_summaries
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


def _table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    sql = "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?"
    return bool(con.execute(sql, [schema, table]).fetchone()[0])  # type: ignore[index]  # count(*): one row


def report(warehouse: Path, runs: int = 5) -> str:
    """Runs from the run summaries; data tests and freshness from the published copy (the last good run).

    The working file is never opened: a reader's connection would stop the next run from opening it.
    """
    holder = running(warehouse)
    lines = [f"warehouse {warehouse}" + (f" — a run is in progress: {holder}" if holder else "")]
    lines += ["", "last runs:"]
    summaries = read_summaries(warehouse, runs)
    for run in summaries:
        text = f"  {run['started_at'][:16].replace('T', ' ')} {run['run_id']} {run['status']:<7} {run['seconds']:7.1f}s"
        lines.append(text + (f"  {run['error'][:200]}" if run.get("error") else ""))
        for problem in run.get("problems", [])[:10]:
            where = " ".join(x for x in (problem.get("source"), problem.get("table")) if x)
            lines.append(f"    {problem['step']} {where}: {(problem.get('error') or '')[:200]}")
    if not summaries:
        lines.append("  none recorded")
    published = published_path(warehouse)
    if not published.exists():
        return "\n".join(lines + ["", f"no published copy at {published} yet: run python -m dwh.main"])
    lines += ["", f"published copy {published}", "data tests of the last published build of each layer:"]
    with duck.connect(str(published), read_only=True, stage="status") as con:
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
    lines += ["", "freshness (newest event loaded per source, in the published copy):"]
    try:
        sources = load_config()
    except ConfigError as exc:
        lines.append(f"  unavailable: {exc}")
    else:
        for f in freshness.check(published, sources):
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
