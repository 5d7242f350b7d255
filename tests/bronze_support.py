"""Helpers for bronze tests: write a config file, run the bronze command, read the warehouse."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb


def write_config(path: Path, sources: dict[str, tuple[str, str]]) -> Path:
    """sources: {name: (url, kind)} -> a dwh config file."""
    lines = ["SOURCE_DATABASES = ["]
    lines += [
        f"    {{'name': {name!r}, 'conn_string': {url!r}, 'kind': {kind!r}}}," for name, (url, kind) in sources.items()
    ]
    lines.append("]")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_bronze(config: Path, warehouse: Path, **env: str) -> subprocess.CompletedProcess:
    """`python -m dwh.pipelines.bronze_ingest` as cron would run it; returns the finished process."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("DWH_", "DLT__", "LOAD__", "EXTRACT__"))}
    full_env.update({"DWH_CONFIG": str(config), "DWH_DUCKDB_PATH": str(warehouse)}, **env)
    return subprocess.run(
        [sys.executable, "-m", "dwh.pipelines.bronze_ingest"], env=full_env, capture_output=True, text=True, timeout=600
    )


def wh(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def wh_scalar(warehouse: Path, sql: str, params: list | None = None):
    return wh(warehouse, sql, params)[0][0]


def bronze_tables(warehouse: Path) -> set[str]:
    return {
        r[0]
        for r in wh(
            warehouse,
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'bronze' AND table_name NOT LIKE '\\_%' ESCAPE '\\'",
        )
    }
