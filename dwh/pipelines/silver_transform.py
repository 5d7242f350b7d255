"""Silver: build the star schema (schema `silver`) from bronze with the numbered SQL files in dwh/sql/silver."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

from dwh.ops import keys
from dwh.pipelines._layer_command import run_layer_command
from dwh.pipelines._sql_runner import LayerRun, build_layer
from dwh.pipelines.bronze_warehouse import LOG_DDL
from dwh.pipelines.sql_files import SqlFile

BRONZE_SCHEMA_SQL = Path(__file__).resolve().parent.parent / "schema" / "bronze.sql"


def bronze_placeholders() -> list[str]:
    """Create-if-missing statements for every bronze table (a Moodle-less deployment has no Moodle tables)
    and for bronze's load log (silver reads which optional tables each source lacks)."""
    text = BRONZE_SCHEMA_SQL.read_text(encoding="utf-8")
    return ["CREATE SCHEMA IF NOT EXISTS bronze"] + [s.query for s in duckdb.extract_statements(text)] + [LOG_DDL]


def build(warehouse: Path, as_of, files: list[SqlFile] | None = None) -> LayerRun:
    """Build silver (all files, or the given ones) in one transaction; raises on any failure.

    Person keys are HMACs under the pseudonym key (dwh.ops.keys); KeyFileError (bad input) when the key
    file the warehouse was built with is missing or wrong."""
    return build_layer(
        warehouse,
        "silver",
        as_of,
        files=files,
        variables=keys.sql_variables(keys.warehouse_key(warehouse)),
        prepare=bronze_placeholders(),
    )


def main(argv: list[str] | None = None) -> int:
    return run_layer_command(
        "silver_transform", __doc__, build, "run bronze first (python -m dwh.pipelines.bronze_ingest)", argv
    )


if __name__ == "__main__":
    sys.exit(main())
