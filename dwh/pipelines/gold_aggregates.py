"""Gold: build the data marts and the TFT feature store (schema `gold`) from silver with dwh/sql/gold."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import duckdb

from dwh.logs import setup_logging
from dwh.ops.lock import LockHeld, warehouse_lock
from dwh.pipelines._sql_runner import DataTestError, LayerRun, SqlRunError, build_layer
from dwh.pipelines.silver_transform import summary
from dwh.pipelines.sql_files import SqlFile, SqlLayerError
from dwh.settings import ConfigError, as_of_date, warehouse_path

log = logging.getLogger("dwh.gold")
REQUIRED_SILVER = ("dim_student", "fact_dropout", "dim_periodo")


def silver_missing(warehouse: Path) -> list[str]:
    """The silver tables gold needs that the warehouse lacks."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        present = {
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'silver'"
            ).fetchall()
        }
    return [t for t in REQUIRED_SILVER if t not in present]


def build(warehouse: Path, as_of, files: list[SqlFile] | None = None) -> LayerRun:
    """Build gold (all files, or the given ones) in one transaction; raises on any failure."""
    missing = silver_missing(warehouse)
    if missing:
        raise SqlRunError(
            f"silver is not built in {warehouse} (missing {', '.join('silver.' + t for t in missing)}): "
            "run python -m dwh.pipelines.silver_transform first"
        )
    return build_layer(warehouse, "gold", as_of, files=files)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dwh.pipelines.gold_aggregates", description=__doc__)
    parser.parse_args(argv)
    setup_logging()
    try:
        as_of = as_of_date()
    except ConfigError as exc:
        log.error("%s", exc)
        return 2
    warehouse = warehouse_path()
    if not warehouse.exists():
        log.error("warehouse %s does not exist: run bronze and silver first (python -m dwh.main)", warehouse)
        return 1
    try:
        with warehouse_lock(warehouse, "python -m dwh.pipelines.gold_aggregates"):
            run = build(warehouse, as_of)
    except LockHeld as exc:
        log.error("%s", exc)
        return 1
    except (SqlLayerError, SqlRunError, DataTestError) as exc:
        log.error("gold not built, the previous gold is unchanged: %s", exc)
        return 1
    log.info("%s", summary(run))
    return 0


if __name__ == "__main__":
    sys.exit(main())
