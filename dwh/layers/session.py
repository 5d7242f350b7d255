"""The DuckDB session a layer's SQL runs in: clock, run variables, schema and seeds (shared by runs and dry runs)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

import duckdb

SEEDS_ROOT = Path(__file__).resolve().parent.parent / "seeds"


def configure_session(
    con: duckdb.DuckDBPyConnection,
    as_of: dt.date,
    time_zone: str,
    variables: Mapping[str, object] | None = None,
) -> None:
    """Pin the session's zone and the run's variables; SQL reads them as getvariable('name').

    Casting an instant (TIMESTAMPTZ) to a day must give the university's local day, not UTC's: a 21:30
    inscription in Argentina is still that day. Bronze pins the same zone when extracting.
    """
    con.execute("SET TimeZone = ?", [time_zone])
    con.execute("SET VARIABLE as_of = ?", [as_of])
    for name, value in (variables or {}).items():
        con.execute(f"SET VARIABLE {name} = ?", [value])


def seed_paths(layer: str, seeds_dir: Path | None = None) -> dict[str, Path]:
    """Seed CSVs of a layer: the shipped defaults, each replaceable by a same-named file in `seeds_dir`."""
    paths = {p.stem: p for p in sorted((SEEDS_ROOT / layer).glob("*.csv"))}
    if seeds_dir is not None:
        for p in sorted((seeds_dir / layer).glob("*.csv")):
            paths[p.stem] = p
    return paths


def load_seeds(con: duckdb.DuckDBPyConnection, layer: str, seeds_dir: Path | None = None) -> None:
    for name, path in seed_paths(layer, seeds_dir).items():
        con.execute(
            f"CREATE OR REPLACE TABLE {layer}.seed_{name} AS "
            "SELECT * FROM read_csv(?, header = true, all_varchar = true)",
            [str(path)],
        )


def prepare_layer(con: duckdb.DuckDBPyConnection, layer: str, seeds_dir: Path | None = None) -> None:
    """The layer's schema and its seed tables, before its first SQL file runs."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {layer}")
    load_seeds(con, layer, seeds_dir)
