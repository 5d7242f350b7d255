"""The command line of a SQL layer (silver, gold): validate, lock, build in one transaction, report."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path

from dwh.logs import setup_logging
from dwh.ops.lock import LockHeld, warehouse_lock
from dwh.pipelines._sql_runner import DataTestError, LabelsNotBuilt, LayerRun, SqlRunError
from dwh.pipelines.sql_files import SqlLayerError
from dwh.settings import ConfigError, as_of_date, time_zone, warehouse_path

log = logging.getLogger("dwh.layer")


def summary(run: LayerRun) -> str:
    return (
        f"{run.layer} built as of {run.as_of}: {len(run.tables)} tables, {sum(run.tables.values()):,} rows, "
        f"{len(run.tests)} data tests ({sum(t.status == 'warn' for t in run.tests)} warnings) in {run.seconds:.1f}s"
    )


def run_layer_command(
    module: str,
    description: str | None,
    build: Callable[[Path, dt.date], LayerRun],
    missing_warehouse_hint: str,
    argv: list[str] | None = None,
) -> int:
    """`python -m dwh.pipelines.<module>`: 0 built, 1 not built (previous layer kept), 2 bad input."""
    argparse.ArgumentParser(prog=f"python -m dwh.pipelines.{module}", description=description).parse_args(argv)
    setup_logging()
    try:
        as_of = as_of_date()
        time_zone()
    except ConfigError as exc:
        log.error("%s", exc)
        return 2
    warehouse = warehouse_path()
    if not warehouse.exists():
        log.error("warehouse %s does not exist: %s", warehouse, missing_warehouse_hint)
        return 1
    try:
        with warehouse_lock(warehouse, f"python -m dwh.pipelines.{module}"):
            run = build(warehouse, as_of)
    except LockHeld as exc:
        log.error("%s", exc)
        return 1
    except ConfigError as exc:  # e.g. silver's pseudonym key file is missing
        log.error("%s; nothing was changed", exc)
        return 2
    except (SqlLayerError, SqlRunError, DataTestError) as exc:
        layer = module.split("_")[0]
        log.error("%s not built, the previous %s is unchanged: %s", layer, layer, exc)
        return 1
    except LabelsNotBuilt as exc:
        log.info("%s", summary(exc.run))
        log.error("%s", exc)
        return 1
    log.info("%s", summary(run))
    return 0
