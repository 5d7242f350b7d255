"""Gold: build the data marts and the TFT feature store (schema `gold`) from silver with dwh/sql/gold."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

from dwh.pipelines._layer_command import run_layer_command
from dwh.pipelines._sql_runner import LayerRun, SqlRunError, build_layer
from dwh.pipelines.sql_files import SqlFile

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
    return run_layer_command(
        "gold_aggregates", __doc__, build, "run bronze and silver first (python -m dwh.main)", argv
    )


if __name__ == "__main__":
    sys.exit(main())
