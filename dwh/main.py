"""Run the warehouse pipeline (bronze -> silver -> gold -> publish) or show its status."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import duckdb

from dwh.duck import out_of_memory, out_of_memory_message
from dwh.layers import DataTestError, LabelsNotBuilt, SqlLayerError, SqlRunError, summary
from dwh.logs import setup_logging
from dwh.ops import freshness, keys
from dwh.ops.lock import LockHeld, warehouse_lock
from dwh.ops.publish import publish
from dwh.ops.runlog import RunLog
from dwh.ops.selection import Selection, resolve
from dwh.ops.warehouse_file import WarehouseUnavailable, check_warehouse
from dwh.pipelines import bronze_settings, gold_aggregates, silver_transform
from dwh.pipelines.bronze_ingest import run_bronze
from dwh.settings import (
    ConfigError,
    RunSettings,
    SourceDatabase,
    help_epilog,
    load_config,
    scrub_passwords,
    warehouse_path,
)

log = logging.getLogger("dwh.main")
EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_RECOVERED = 0, 1, 2, 3

EXIT_STATUS = """
exit status: 0 success; 1 a step failed (named on stderr; the published copy is untouched) or a
source is stale; 2 bad input (config, environment, options); 3 the warehouse was corrupt, was moved
aside as <name>.invalid.<timestamp>.duckdb and everything was rebuilt from the sources.
"""
ENVIRONMENT = help_epilog() + EXIT_STATUS


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


# What must exist before a layer is built on its own (`python -m dwh.pipelines.<module>`).
_MISSING_WAREHOUSE_HINT = {
    "silver": "run bronze first (python -m dwh.pipelines.bronze_ingest)",
    "gold": "run bronze and silver first (python -m dwh.main)",
}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    setup_logging()
    if args.command == "status":
        from dwh.ops.status import show_status

        return show_status(warehouse_path(), runs=args.runs)
    command = "python -m dwh.main " + " ".join(argv if argv is not None else sys.argv[1:])
    return _pipeline(args, command, publish=True)


def layer_alias(module: str, layer: str, description: str | None, argv: list[str] | None = None) -> int:
    """`python -m dwh.pipelines.<module>`: `python -m dwh.main --layer <layer>` without the publish step
    (freshness and the published copy), as these commands always were; same exit codes."""
    argparse.ArgumentParser(prog=f"python -m dwh.pipelines.{module}", description=description).parse_args(argv)
    setup_logging()
    return _pipeline(_parser().parse_args(["--layer", layer]), f"python -m dwh.pipelines.{module}", publish=False)


def _pipeline(args: argparse.Namespace, command: str, publish: bool) -> int:
    """Validate every input, then run the selected layers under the warehouse lock."""
    try:
        settings = RunSettings.from_env()
        selection = resolve(_split(args.layer), _split(args.select), bronze_settings.selected_tables(settings))
        # a layer built on its own from the warehouse reads no source (and checks no freshness)
        sources = load_config(settings.config_path) if publish or "bronze" in selection.layers else []
        bronze_settings.configure_dlt(settings=settings)
        if args.source:
            if args.source not in {s.name for s in sources}:
                raise ConfigError(
                    f"--source {args.source!r} is not in SOURCE_DATABASES ({', '.join(s.name for s in sources)})"
                )
            sources = [s for s in sources if s.name == args.source]
    except ConfigError as exc:
        log.error("%s", exc)
        return EXIT_BAD_INPUT
    warehouse = settings.warehouse
    if args.dry_run:
        from dwh.ops.dry_run import dry_run

        return dry_run(sources, selection, settings)
    if not publish and "bronze" not in selection.layers and not warehouse.exists():
        hint = _MISSING_WAREHOUSE_HINT.get(selection.layers[0] if selection.layers else "", "")
        log.error("warehouse %s does not exist: %s", warehouse, hint)
        return EXIT_FAILED
    log.info(
        "warehouse %s, as of %s; %d sources: %s; layers: %s",
        warehouse,
        settings.as_of,
        len(sources),
        ", ".join(f"{s.name} ({s.kind})" for s in sources),
        ", ".join(selection.layers) or "none",
    )
    try:
        with warehouse_lock(warehouse, command):
            return _run(settings, sources, selection, args.full_refresh, publish)
    except LockHeld as exc:
        log.error("%s", exc)
        return EXIT_FAILED


def _run(
    settings: RunSettings,
    sources: list[SourceDatabase],
    selection: Selection,
    full_refresh: bool,
    publish_after: bool = True,
) -> int:
    """The run, under the lock: check the file, build the layers, check freshness, publish."""
    warehouse = settings.warehouse
    runlog = RunLog("main")
    t0 = time.perf_counter()
    try:
        moved = check_warehouse(warehouse)
    except WarehouseUnavailable as exc:
        log.error("%s; nothing was changed", exc)
        return EXIT_FAILED
    if moved is not None:
        # a fresh file: every layer and table must be rebuilt, whatever was asked
        selection = resolve(None, None, bronze_settings.selected_tables(settings))
        runlog.add("recover", "recovered", error=f"corrupt warehouse moved aside as {moved.name}")
    if "silver" in selection.layers:
        try:
            keys.warehouse_key(
                warehouse, settings.key_file, settings.hash_salt
            )  # before bronze: a lost key file stops the run with nothing loaded
        except keys.KeyFileError as exc:
            log.error("%s; nothing was changed", exc)
            return EXIT_BAD_INPUT
    blocked: list[str] = []
    error = _build(settings, sources, selection, full_refresh, runlog, blocked)
    stale = []
    if error is None and warehouse.exists() and publish_after:
        for f in freshness.check(warehouse, sources):
            runlog.add("freshness", "stale" if f.breached else "ok", source=f.source, error=f.describe())
            (log.error if f.breached else log.info)("freshness %s", f.describe())
            if f.breached:
                stale.append(f.source)
    status = "failed" if error else ("stale" if stale else ("incomplete" if blocked else "ok"))
    runlog.add("run", status, seconds=time.perf_counter() - t0, error=error or "")
    runlog.write(warehouse)
    if error:
        log.error("run failed: %s; the published warehouse %s is unchanged", error, settings.published)
        return EXIT_FAILED
    if not publish_after:
        return _exit_status(runlog, [], blocked, moved, t0)
    try:
        done = publish(warehouse, settings.published)
        runlog.rows.clear()
        runlog.add_publish(done)
        runlog.write(warehouse)
    except (OSError, duckdb.Error) as exc:  # duckdb.Error: the CHECKPOINT before the copy failed
        detail = out_of_memory(exc)
        problem = str(exc) if detail is None else out_of_memory_message("publish", settings.memory_limit, detail)
        log.error("publishing failed (%s); the published warehouse is unchanged", problem)
        return EXIT_FAILED
    return _exit_status(runlog, stale, blocked, moved, t0)


def _exit_status(runlog: RunLog, stale: list[str], blocked: list[str], moved: Path | None, t0: float) -> int:
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
    settings: RunSettings,
    sources: list[SourceDatabase],
    selection: Selection,
    full_refresh: bool,
    runlog: RunLog,
    blocked: list[str],
) -> str | None:
    """Build the selected layers in order; the first failure stops the run and is returned. Gold built
    without its label tables (an undecidable label) is not a failure of the build: it is appended to
    `blocked`, the run publishes what it built and exits 1."""
    warehouse = settings.warehouse
    if "bronze" in selection.layers:
        refresh = frozenset(t.name for t in selection.bronze) if full_refresh else frozenset()
        try:
            report = run_bronze(sources, selection.bronze, settings, refresh)
        except (duckdb.Error, OSError) as exc:
            # Outside the per-source steps (dlt's state directory, the outcome table): a read-only
            # directory or a full disk ends the run with a message, not a traceback.
            message = scrub_passwords(" ".join(str(exc).split()))
            if (detail := out_of_memory(exc)) is not None:
                message = out_of_memory_message("bronze", settings.memory_limit, detail)
            runlog.add("bronze", "failed", error=message)
            return f"bronze failed: {type(exc).__name__}: {message}"
        for o in report.outcomes:
            runlog.add("bronze", o.status, source=o.source, table=o.table, rows=o.rows, error=o.message)
        for r in report.reconciled:
            runlog.add("reconcile", "ok", source=r.source, table=r.table, rows=r.deleted, seconds=r.seconds)
        for name, seconds in report.source_seconds.items():
            runlog.add("bronze", "failed" if name in report.failed_sources else "ok", source=name, seconds=seconds)
        if not report.ok:
            return "bronze failed for " + "; ".join(f"source {s}: {m}" for s, m in report.failed_sources.items())
    for layer in ("silver", "gold"):
        if layer not in selection.layers:
            continue
        builder = silver_transform if layer == "silver" else gold_aggregates
        try:
            run = builder.build(warehouse, settings.as_of, files=selection.files[layer], settings=settings)
        except LabelsNotBuilt as exc:
            run = exc.run
            runlog.add(layer, "incomplete", error=str(exc))
            log.error("%s", exc)
            blocked.append(str(exc))
        except (SqlLayerError, SqlRunError, DataTestError, duckdb.Error, OSError) as exc:
            # duckdb.Error / OSError: the file cannot take the write (commit or WAL on a read-only
            # directory or a full disk); the layer's transaction was rolled back.
            message = scrub_passwords(_with_cause(exc))
            if (detail := out_of_memory(exc)) is not None:
                message = out_of_memory_message(layer, settings.memory_limit, detail, quote=False) + f"; {message}"
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
