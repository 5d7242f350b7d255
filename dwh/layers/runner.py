"""Build a layer (silver, gold) from its numbered SQL files in one transaction, then run its data tests."""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from dwh import duck
from dwh.layers import session
from dwh.layers.data_tests import TestResult, run_tests
from dwh.layers.session import SEEDS_ROOT, configure_session, prepare_layer
from dwh.layers.sql_files import SqlFile, SqlLayerError, layer_files
from dwh.logs import Progress
from dwh.settings import RunSettings
from dwh.settings import seeds_dir as seeds_dir_from_env

log = logging.getLogger("dwh.sql")
META = "dwh_meta"


class SqlRunError(Exception):
    """A statement failed; the message names the file and the statement."""


class DataTestError(Exception):
    """An error-level data test failed; the layer was rolled back. `failed` lists the failing tests."""

    def __init__(self, message: str, failed: list[TestResult] | None = None) -> None:
        super().__init__(message)
        self.failed = failed or []


class LabelsNotBuilt(Exception):
    """Gold was built and committed without its label tables: the label rule is undecidable for a source."""

    def __init__(self, message: str, run: LayerRun) -> None:
        super().__init__(message)
        self.run = run


@dataclass
class LayerRun:
    layer: str
    run_id: str
    as_of: dt.date
    tables: dict[str, int] = field(default_factory=dict)
    table_seconds: dict[str, float] = field(default_factory=dict)
    tests: list[TestResult] = field(default_factory=list)
    seconds: float = 0.0


def seed_paths(layer: str) -> dict[str, Path]:
    """Seed CSVs of a layer: the shipped defaults, each replaceable by a same-named file in $DWH_SEEDS_DIR."""
    return session.seed_paths(layer, seeds_dir_from_env())


def summary(run: LayerRun) -> str:
    """One line: what a layer run built and tested."""
    return (
        f"{run.layer} built as of {run.as_of}: {len(run.tables)} tables, {sum(run.tables.values()):,} rows, "
        f"{len(run.tests)} data tests ({sum(t.status == 'warn' for t in run.tests)} warnings) in {run.seconds:.1f}s"
    )


def _first_line(statement: str) -> str:
    lines = [ln.strip() for ln in statement.strip().splitlines() if ln.strip() and not ln.strip().startswith("--")]
    return (lines[0] if lines else statement.strip())[:160]


def _execute_file(con: duckdb.DuckDBPyConnection, sql_file: SqlFile) -> None:
    """Run every statement of the file, split by DuckDB's own parser (semicolons in strings are safe)."""
    try:
        statements = duckdb.extract_statements(sql_file.text())
    except duckdb.Error as exc:
        raise SqlRunError(f"{sql_file.name}: cannot be parsed: {exc}") from exc
    for number, statement in enumerate(statements, start=1):
        try:
            con.execute(statement.query)
        except duckdb.Error as exc:
            raise SqlRunError(
                f"{sql_file.name}, statement {number} ({_first_line(statement.query)}): {str(exc).splitlines()[0]}"
            ) from exc


def _record(con: duckdb.DuckDBPyConnection, run: LayerRun, status: str, message: str, started: dt.datetime) -> None:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {META}")
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {META}.layer_runs (run_id VARCHAR, layer VARCHAR, as_of DATE, "
        "started_at TIMESTAMPTZ, seconds DOUBLE, status VARCHAR, message VARCHAR)"
    )
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {META}.data_test_results (run_id VARCHAR, layer VARCHAR, "
        "table_name VARCHAR, test VARCHAR, severity VARCHAR, status VARCHAR, failing BIGINT, sample VARCHAR, "
        "checked_at TIMESTAMPTZ)"
    )
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {META}.layer_tables (run_id VARCHAR, layer VARCHAR, table_name VARCHAR, "
        "row_count BIGINT)"
    )
    con.execute(
        f"INSERT INTO {META}.layer_runs VALUES (?, ?, ?, ?, ?, ?, ?)",
        [run.run_id, run.layer, run.as_of, started, run.seconds, status, message[:2000]],
    )
    if status == "ok" and run.tables:
        con.executemany(
            f"INSERT INTO {META}.layer_tables VALUES (?, ?, ?, ?)",
            [[run.run_id, run.layer, name, rows] for name, rows in run.tables.items()],
        )
    if run.tests:
        con.executemany(
            f"INSERT INTO {META}.data_test_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                [run.run_id, run.layer, t.table, t.test, t.severity, t.status, t.failing, t.sample, started]
                for t in run.tests
            ],
        )


def _safe_record(
    con: duckdb.DuckDBPyConnection, run: LayerRun, status: str, message: str, started: dt.datetime
) -> None:
    try:
        _record(con, run, status, message, started)
    except duckdb.Error as exc:
        log.error("%s run %s could not be recorded in %s: %s", run.layer, run.run_id, META, str(exc).splitlines()[0])


def build_layer(
    warehouse: Path,
    layer: str,
    as_of: dt.date,
    files: list[SqlFile] | None = None,
    variables: dict[str, object] | None = None,
    prepare: list[str] | None = None,
    settings: RunSettings | None = None,
) -> LayerRun:
    """All files of the layer in numeric order inside one transaction; on any error nothing changes.

    `variables` reach SQL as getvariable('name') (as_of always does); `prepare` statements run first,
    inside the same transaction. `settings` (the zone and seeds) default to the environment's.
    """
    settings = settings if settings is not None else RunSettings.from_env()
    files = files if files is not None else layer_files(layer)
    run = LayerRun(layer, uuid.uuid4().hex[:12], as_of)
    started = dt.datetime.now(dt.timezone.utc)
    t0 = time.perf_counter()
    con = duck.connect(
        str(warehouse),
        stage=layer,
        limit=settings.memory_limit,
        warehouse=Path(warehouse),
        preserve_insertion_order=False,
    )
    try:
        configure_session(con, as_of, settings.time_zone, variables)
        con.execute("BEGIN TRANSACTION")
        try:
            for statement in prepare or []:
                con.execute(statement)
            prepare_layer(con, layer, settings.seeds_dir)
            progress = Progress(layer, len(files))
            for sql_file in files:
                progress.step(sql_file.name)
                f0 = time.perf_counter()
                _execute_file(con, sql_file)
                if sql_file.grain:
                    counted = con.execute(f"SELECT count(*) FROM {sql_file.target}").fetchone()
                    run.tables[sql_file.target] = int(counted[0]) if counted else 0
                    run.table_seconds[sql_file.target] = time.perf_counter() - f0
                    progress.clear()
                    log.info(
                        "%s: %s rows in %.1fs",
                        sql_file.target,
                        f"{run.tables[sql_file.target]:,}",
                        time.perf_counter() - f0,
                    )
            progress.close()
            run.tests = run_tests(con, [f for f in files if f.grain])
            failed = [t for t in run.tests if t.status == "fail"]
            if failed:
                raise DataTestError(
                    f"{layer}: {len(failed)} data test(s) failed: "
                    + "; ".join(f"{t.table} {t.test}: {t.failing} rows (e.g. {t.sample[:200]})" for t in failed[:5]),
                    failed,
                )
            try:
                con.execute("COMMIT")
            except duckdb.Error as exc:
                raise SqlRunError(f"{layer}: the commit failed: {str(exc).splitlines()[0]}") from exc
        except BaseException as exc:
            # a failed COMMIT has already ended the transaction; the first error is the one to report
            try:
                con.execute("ROLLBACK")
            except duckdb.Error:
                pass
            run.seconds = time.perf_counter() - t0
            _safe_record(con, run, "failed", str(exc), started)
            raise
        run.seconds = time.perf_counter() - t0
        # the layer is committed: failing to record it must not report it as not built
        _safe_record(con, run, "ok", "", started)
        for t in run.tests:
            if t.status == "warn":
                log.warning("data test %s %s: %s rows (e.g. %s)", t.table, t.test, f"{t.failing:,}", t.sample[:200])
        return run
    finally:
        con.close()


__all__ = [
    "META",
    "SEEDS_ROOT",
    "DataTestError",
    "LabelsNotBuilt",
    "LayerRun",
    "SqlLayerError",
    "SqlRunError",
    "build_layer",
    "seed_paths",
    "summary",
]
