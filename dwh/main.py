"""Run the warehouse pipeline (bronze -> silver -> gold -> publish) or show its status."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import duckdb

from dwh.logs import setup_logging
from dwh.ops import freshness, keys
from dwh.ops.lock import LockHeld, warehouse_lock
from dwh.ops.publish import publish, published_path
from dwh.ops.runlog import RunLog
from dwh.ops.selection import Selection, resolve
from dwh.ops.warehouse_file import WarehouseUnavailable, check_warehouse
from dwh.pipelines import bronze_settings, gold_aggregates, silver_transform
from dwh.pipelines._layer_command import summary
from dwh.pipelines._sql_runner import DataTestError, LabelsNotBuilt, SqlRunError
from dwh.pipelines.bronze_ingest import run_bronze
from dwh.pipelines.sql_files import SqlLayerError
from dwh.settings import (
    ConfigError,
    SourceDatabase,
    as_of_date,
    load_config,
    scrub_passwords,
    time_zone,
    warehouse_path,
)

log = logging.getLogger("dwh.main")
EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_RECOVERED = 0, 1, 2, 3

ENVIRONMENT = """\
environment:
  DWH_CONFIG                  config file with SOURCE_DATABASES (default dwh/config.py)
  DWH_DUCKDB_PATH             the working warehouse file (default dwh/data/warehouse.duckdb); dlt's state
                              lives beside it in <name>.dlt/, the run lock in <name>.lock
  DWH_PUBLISHED_PATH          the read-only copy readers use (default published/<name> beside the warehouse)
  DWH_AS_OF                   as-of date YYYY-MM-DD: bronze reads nothing after it; silver and gold (default today)
  DWH_BRONZE_RESOURCES        comma-separated bronze tables to load (default all)
  DWH_INCREMENTAL_START_DATE  YYYY-MM-DD where a new incremental table's cursor starts
  DWH_LAG_DAYS_<TABLE>        look-back window of an incremental bronze table, in days
  DLT__EXTRACT__WORKERS, DLT__NORMALIZE__WORKERS, DLT__LOAD__WORKERS   dlt workers per stage (default 1)
  DWH_SEEDS_DIR               directory whose silver/*.csv and gold/*.csv replace the shipped seeds
  DWH_KEY_FILE                the secret of the pseudonymous person keys (default <name>.key beside the
                              warehouse; created once, mode 0400: back it up)
  DWH_HASH_SALT               tests only: derive that secret from this text instead of the key file
  DWH_TIMEZONE                time zone of local days (default America/Argentina/Buenos_Aires)
  DWH_APP_DB                  application database of interventions and audit: SQLite path or URL, PostgreSQL
                              URL (default app.sqlite beside the warehouse); read by a source of kind intervenciones
  DWH_LOG_LEVEL               logging level (default INFO)

exit status: 0 success; 1 a step failed (named on stderr; the published copy is untouched) or a
source is stale; 2 bad input (config, environment, options); 3 the warehouse was corrupt, was moved
aside as <name>.invalid.<timestamp>.duckdb and everything was rebuilt from the sources.
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dwh.main",
        description=__doc__,
        epilog=ENVIRONMENT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "command",
        nargs="?",
        choices=("run", "status"),
        default="run",
        help="run the pipeline (default), or print the last runs, per-source freshness and data tests",
    )
    parser.add_argument(
        "--layer",
        action="append",
        metavar="LAYER",
        help="run only this layer (bronze, silver, gold); repeat or separate with commas",
    )
    parser.add_argument(
        "--select",
        action="append",
        metavar="NAMES",
        help="run only these bronze tables and/or silver/gold SQL files (e.g. students,dim_student); "
        "repeat or separate with commas",
    )
    parser.add_argument(
        "--full-refresh",
        action="store_true",
        help="reload the selected bronze tables (all when none is selected) from scratch: their rows and "
        "incremental state are replaced by a full read of each source (or of --source)",
    )
    parser.add_argument("--source", metavar="NAME", help="run bronze for this source only")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print sources, resources and SQL files in order and EXPLAIN every statement; writes nothing",
    )
    parser.add_argument("--runs", type=int, default=5, help="status: how many runs to show (default 5)")
    return parser


def _split(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    setup_logging()
    if args.command == "status":
        from dwh.ops.status import show_status

        return show_status(warehouse_path(), runs=args.runs)
    try:
        sources = load_config()
        as_of = as_of_date()
        time_zone()
        start = bronze_settings.incremental_start()
        selection = resolve(_split(args.layer), _split(args.select), bronze_settings.selected_tables())
        for table in selection.bronze:
            bronze_settings.lag_days(table)
        bronze_settings.configure_dlt()
        if args.source:
            if args.source not in {s.name for s in sources}:
                raise ConfigError(
                    f"--source {args.source!r} is not in SOURCE_DATABASES ({', '.join(s.name for s in sources)})"
                )
            sources = [s for s in sources if s.name == args.source]
    except ConfigError as exc:
        log.error("%s", exc)
        return EXIT_BAD_INPUT
    warehouse = warehouse_path()
    if args.dry_run:
        from dwh.ops.dry_run import dry_run

        return dry_run(sources, selection, as_of, start)
    log.info(
        "warehouse %s, as of %s; %d sources: %s; layers: %s",
        warehouse,
        as_of,
        len(sources),
        ", ".join(f"{s.name} ({s.kind})" for s in sources),
        ", ".join(selection.layers) or "none",
    )
    try:
        with warehouse_lock(warehouse, "python -m dwh.main " + " ".join(argv if argv is not None else sys.argv[1:])):
            return _run(warehouse, sources, selection, as_of, start, args.full_refresh)
    except LockHeld as exc:
        log.error("%s", exc)
        return EXIT_FAILED


def _run(
    warehouse: Path,
    sources: list[SourceDatabase],
    selection: Selection,
    as_of,
    start,
    full_refresh: bool,
) -> int:
    """The run, under the lock: check the file, build the layers, check freshness, publish."""
    runlog = RunLog("main")
    t0 = time.perf_counter()
    try:
        moved = check_warehouse(warehouse)
    except WarehouseUnavailable as exc:
        log.error("%s; nothing was changed", exc)
        return EXIT_FAILED
    if moved is not None:
        # a fresh file: every layer and table must be rebuilt, whatever was asked
        selection = resolve(None, None, bronze_settings.selected_tables())
        runlog.add("recover", "recovered", error=f"corrupt warehouse moved aside as {moved.name}")
    if "silver" in selection.layers:
        try:
            keys.warehouse_key(warehouse)  # before bronze: a lost key file stops the run with nothing loaded
        except keys.KeyFileError as exc:
            log.error("%s; nothing was changed", exc)
            return EXIT_BAD_INPUT
    blocked: list[str] = []
    error = _build(warehouse, sources, selection, as_of, start, full_refresh, runlog, blocked)
    stale = []
    if error is None and warehouse.exists():
        for f in freshness.check(warehouse, sources):
            runlog.add("freshness", "stale" if f.breached else "ok", source=f.source, error=f.describe())
            (log.error if f.breached else log.info)("freshness %s", f.describe())
            if f.breached:
                stale.append(f.source)
    status = "failed" if error else ("stale" if stale else ("incomplete" if blocked else "ok"))
    runlog.add("run", status, seconds=time.perf_counter() - t0, error=error or "")
    runlog.write(warehouse)
    if error:
        log.error("run failed: %s; the published warehouse %s is unchanged", error, published_path(warehouse))
        return EXIT_FAILED
    try:
        done = publish(warehouse)
        runlog.rows.clear()
        runlog.add("publish", "ok", rows=done.bytes, seconds=done.seconds, table=str(done.path))
        runlog.write(warehouse)
    except (OSError, duckdb.Error) as exc:  # duckdb.Error: the CHECKPOINT before the copy failed
        log.error("publishing failed (%s); the published warehouse is unchanged", exc)
        return EXIT_FAILED
    if stale:
        log.error("stale sources: %s (see freshness above)", ", ".join(stale))
        return EXIT_FAILED
    if blocked:
        log.error("published without the label tables: %s", "; ".join(blocked))
        return EXIT_FAILED
    if moved is not None:
        log.error("the warehouse was corrupt: moved aside as %s and rebuilt from the sources", moved)
        return EXIT_RECOVERED
    log.info("run %s finished in %.1fs", runlog.run_id, time.perf_counter() - t0)
    return EXIT_OK


def _build(
    warehouse: Path,
    sources: list[SourceDatabase],
    selection: Selection,
    as_of,
    start,
    full_refresh: bool,
    runlog: RunLog,
    blocked: list[str],
) -> str | None:
    """Build the selected layers in order; the first failure stops the run and is returned. Gold built
    without its label tables (an undecidable label) is not a failure of the build: it is appended to
    `blocked`, the run publishes what it built and exits 1."""
    if "bronze" in selection.layers:
        refresh = frozenset(t.name for t in selection.bronze) if full_refresh else frozenset()
        try:
            report = run_bronze(sources, selection.bronze, warehouse, start, as_of, refresh)
        except (duckdb.Error, OSError) as exc:
            # Outside the per-source steps (dlt's state directory, the outcome table): a read-only
            # directory or a full disk ends the run with a message, not a traceback.
            message = scrub_passwords(" ".join(str(exc).split()))
            runlog.add("bronze", "failed", error=message)
            return f"bronze failed: {type(exc).__name__}: {message}"
        for o in report.outcomes:
            runlog.add("bronze", o.status, source=o.source, table=o.table, rows=o.rows, error=o.message)
        for name, seconds in report.source_seconds.items():
            runlog.add("bronze", "failed" if name in report.failed_sources else "ok", source=name, seconds=seconds)
        if not report.ok:
            return "bronze failed for " + "; ".join(f"source {s}: {m}" for s, m in report.failed_sources.items())
    for layer in ("silver", "gold"):
        if layer not in selection.layers:
            continue
        builder = silver_transform if layer == "silver" else gold_aggregates
        try:
            run = builder.build(warehouse, as_of, files=selection.files[layer])
        except LabelsNotBuilt as exc:
            run = exc.run
            runlog.add(layer, "incomplete", error=str(exc))
            log.error("%s", exc)
            blocked.append(str(exc))
        except (SqlLayerError, SqlRunError, DataTestError, duckdb.Error, OSError) as exc:
            # duckdb.Error / OSError: the file cannot take the write (commit or WAL on a read-only
            # directory or a full disk); the layer's transaction was rolled back.
            message = scrub_passwords(_with_cause(exc))
            runlog.add(layer, "failed", error=message)
            return f"{layer} not built (the previous {layer} is unchanged): {message}"
        for table, rows in run.tables.items():
            runlog.add(layer, "ok", table=table, rows=rows, seconds=run.table_seconds.get(table))
        log.info("%s", summary(run))
    return None


def _with_cause(exc: BaseException) -> str:
    """The error's text, led by the error it was raised while handling, if any.

    A COMMIT that fails on a full disk ends the transaction, so the runner's ROLLBACK then fails with
    "no transaction is active"; without this the message would hide the real cause.
    """
    first = exc.__context__
    if isinstance(exc, duckdb.Error) and first is not None and first is not exc:
        return f"{type(first).__name__}: {first} (then: {exc})"
    return str(exc)


if __name__ == "__main__":
    sys.exit(main())
