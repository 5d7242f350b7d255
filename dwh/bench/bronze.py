"""Bronze stages of the benchmark: the floor (a), a full bronze load (b), a nightly incremental run (c)."""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from dwh.bench.measure import Measurement, python_module, run_measured
from dwh.settings import DEFAULT_MEMORY_LIMIT

log = logging.getLogger("dwh.bench")
BRONZE_MODULE = "dwh.pipelines.bronze_ingest"
FLOOR_MODULE = "dwh.bench.floor"
_SOURCE_LINE = re.compile(r"dwh\.bronze: source (\w+): ([\d,]+) rows in (\d+) tables in ([\d.]+)s")


@dataclass
class StageResult:
    stage: str
    rows: int
    measurement: Measurement
    detail: dict = field(default_factory=dict)
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.measurement.ok and not self.problem

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.measurement.wall_s if self.measurement.wall_s else 0.0


def _failure(m: Measurement) -> str:
    if m.timed_out:
        return f"timed out after {m.wall_s:.0f}s, see {m.log_path}"
    return f"exit {m.returncode}, see {m.log_path}"


def run_floor_stage(config: Path, work: Path, timeout: float | None = None) -> StageResult:
    """(a) COPY ... TO STDOUT into CSV and DuckDB read_csv, in a child process of its own."""
    out = work / "floor.json"
    out.unlink(missing_ok=True)
    m = run_measured(
        python_module(
            FLOOR_MODULE,
            "--config",
            str(config),
            "--duckdb",
            str(work / "floor.duckdb"),
            "--csv-dir",
            str(work / "floor_csv"),
        ),
        work / "floor.log",
        stdout_path=out,
        timeout=timeout,
    )
    detail = json.loads(out.read_text().strip().splitlines()[-1]) if m.ok else {}
    (work / "floor.duckdb").unlink(missing_ok=True)
    problem = "" if m.ok else _failure(m)
    return StageResult("a floor", int(detail.get("rows", 0)), m, detail, problem)


def last_run(warehouse: Path) -> tuple[str | None, int, dict[str, int], dict[str, int]]:
    """The latest bronze run in bronze._dwh_load_log: its id, rows loaded, statuses and rows per table."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        latest = con.execute("SELECT run_id FROM bronze._dwh_load_log ORDER BY started_at DESC LIMIT 1").fetchone()
        if latest is None:
            return None, 0, {}, {}
        rows = con.execute(
            "SELECT table_name, status, row_count FROM bronze._dwh_load_log WHERE run_id = ?", [latest[0]]
        ).fetchall()
    statuses: dict[str, int] = {}
    per_table: dict[str, int] = {}
    for table, status, count in rows:
        statuses[status] = statuses.get(status, 0) + 1
        per_table[table] = per_table.get(table, 0) + int(count or 0)
    return latest[0], sum(per_table.values()), statuses, per_table


def source_seconds(log_path: Path) -> dict[str, float]:
    """Seconds per source, from bronze's own 'source X: N rows in T tables in S s' lines."""
    text = log_path.read_text(errors="replace") if log_path.exists() else ""
    return {m.group(1): float(m.group(4)) for m in _SOURCE_LINE.finditer(text)}


def bronze_env(config: Path, warehouse: Path) -> dict[str, str]:
    """The child's environment: this config and warehouse, all tables, the default memory cap (unless the
    caller's environment sets DWH_MEMORY_LIMIT); bronze then caps dlt's DuckDB and its temp files itself."""
    env = {"DWH_CONFIG": str(config), "DWH_DUCKDB_PATH": str(warehouse), "DWH_BRONZE_RESOURCES": ""}
    env["DWH_MEMORY_LIMIT"] = os.environ.get("DWH_MEMORY_LIMIT", DEFAULT_MEMORY_LIMIT)
    return env


def run_bronze_stage(
    stage: str,
    config: Path,
    warehouse: Path,
    log_path: Path,
    timeout: float | None = None,
    module: str = BRONZE_MODULE,
) -> StageResult:
    """(b), (c), (d): the bronze CLI as a child process against `warehouse`, with all tables; (e) with
    module dwh.main: the whole nightly run (bronze, silver, gold, publish)."""
    before = None
    if warehouse.exists():
        try:
            before = last_run(warehouse)[0]
        except duckdb.Error:
            before = None
    m = run_measured(python_module(module), log_path, env=bronze_env(config, warehouse), timeout=timeout)
    run_id, rows, statuses, per_table = None, 0, {}, {}
    problem = ""
    try:
        run_id, rows, statuses, per_table = last_run(warehouse)
    except (duckdb.Error, OSError) as exc:
        problem = f"no load log: {exc}"
    if run_id is None or run_id == before:  # the run recorded nothing (it crashed or was stopped)
        run_id, rows, statuses, per_table = None, 0, {}, {}
    if not m.ok or statuses.get("failed") or run_id is None:
        problem = f"{_failure(m)}, statuses {statuses}"
    detail = {"run_id": run_id, "statuses": statuses, "tables": per_table, "source_s": source_seconds(log_path)}
    return StageResult(stage, rows, m, detail, problem)
