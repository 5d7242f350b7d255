"""Silver: build the star schema (schema `silver`) from bronze with the numbered SQL files in dwh/sql/silver."""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import sys
from pathlib import Path

import duckdb

from dwh.logs import setup_logging
from dwh.ops.lock import LockHeld, warehouse_lock
from dwh.pipelines._sql_runner import META, DataTestError, LayerRun, SqlRunError, build_layer
from dwh.pipelines.sql_files import SqlFile, SqlLayerError
from dwh.settings import ConfigError, as_of_date, warehouse_path

log = logging.getLogger("dwh.silver")
BRONZE_SCHEMA_SQL = Path(__file__).resolve().parent.parent / "schema" / "bronze.sql"


def hash_salt(warehouse: Path) -> str:
    """The salt of pseudonymous hashes: $DWH_HASH_SALT, else one generated once and kept in the warehouse."""
    configured = os.environ.get("DWH_HASH_SALT")
    if configured:
        return configured
    with duckdb.connect(str(warehouse)) as con:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {META}")
        con.execute(f"CREATE TABLE IF NOT EXISTS {META}.secrets (name VARCHAR PRIMARY KEY, value VARCHAR)")
        row = con.execute(f"SELECT value FROM {META}.secrets WHERE name = 'hash_salt'").fetchone()
        if row:
            return row[0]
        salt = secrets.token_hex(16)
        con.execute(f"INSERT INTO {META}.secrets VALUES ('hash_salt', ?)", [salt])
        return salt


def bronze_placeholders() -> list[str]:
    """Create-if-missing statements for every bronze table (a Moodle-less deployment has no Moodle tables)."""
    text = BRONZE_SCHEMA_SQL.read_text(encoding="utf-8")
    return ["CREATE SCHEMA IF NOT EXISTS bronze"] + [s.query for s in duckdb.extract_statements(text)]


def build(warehouse: Path, as_of, files: list[SqlFile] | None = None) -> LayerRun:
    """Build silver (all files, or the given ones) in one transaction; raises on any failure."""
    return build_layer(
        warehouse,
        "silver",
        as_of,
        files=files,
        variables={"hash_salt": hash_salt(warehouse)},
        prepare=bronze_placeholders(),
    )


def summary(run: LayerRun) -> str:
    return (
        f"{run.layer} built as of {run.as_of}: {len(run.tables)} tables, {sum(run.tables.values()):,} rows, "
        f"{len(run.tests)} data tests ({sum(t.status == 'warn' for t in run.tests)} warnings) in {run.seconds:.1f}s"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dwh.pipelines.silver_transform", description=__doc__)
    parser.parse_args(argv)
    setup_logging()
    try:
        as_of = as_of_date()
    except ConfigError as exc:
        log.error("%s", exc)
        return 2
    warehouse = warehouse_path()
    if not warehouse.exists():
        log.error("warehouse %s does not exist: run bronze first (python -m dwh.pipelines.bronze_ingest)", warehouse)
        return 1
    try:
        with warehouse_lock(warehouse, "python -m dwh.pipelines.silver_transform"):
            run = build(warehouse, as_of)
    except LockHeld as exc:
        log.error("%s", exc)
        return 1
    except (SqlLayerError, SqlRunError, DataTestError) as exc:
        log.error("silver not built, the previous silver is unchanged: %s", exc)
        return 1
    log.info("%s", summary(run))
    return 0


if __name__ == "__main__":
    sys.exit(main())
