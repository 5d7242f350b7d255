"""Gold: build the data marts and the TFT feature store (schema `gold`) from silver with dwh/sql/gold."""

from __future__ import annotations

import argparse
import logging
import sys

import duckdb

from dwh.logs import setup_logging
from dwh.pipelines._sql_runner import DataTestError, SqlRunError, build_layer
from dwh.pipelines.sql_files import SqlLayerError
from dwh.settings import ConfigError, as_of_date, warehouse_path

log = logging.getLogger("dwh.gold")
REQUIRED_SILVER = ("dim_student", "fact_dropout", "dim_periodo")


def _silver_missing(warehouse) -> list[str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        present = {
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'silver'"
            ).fetchall()
        }
    return [t for t in REQUIRED_SILVER if t not in present]


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
    missing = _silver_missing(warehouse)
    if missing:
        log.error(
            "silver is not built in %s (missing %s): run python -m dwh.pipelines.silver_transform first",
            warehouse,
            ", ".join(f"silver.{t}" for t in missing),
        )
        return 1
    try:
        run = build_layer(warehouse, "gold", as_of)
    except (SqlLayerError, SqlRunError, DataTestError) as exc:
        log.error("gold not built, the previous gold is unchanged: %s", exc)
        return 1
    log.info(
        "gold built as of %s: %d tables, %s rows, %d data tests (%d warnings) in %.1fs",
        as_of,
        len(run.tables),
        f"{sum(run.tables.values()):,}",
        len(run.tests),
        sum(t.status == "warn" for t in run.tests),
        run.seconds,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
