"""Bronze run settings: tables to load, first cursor value, look-back windows (RunSettings), dlt's variables."""

from __future__ import annotations

import datetime as dt
import os

from dwh.duck import dlt_global_config
from dwh.settings import (
    DEFAULT_INCREMENTAL_START,
    ConfigError,
    RunSettings,
    bronze_resources,
    lag_days_override,
    memory_limit,
    warehouse_path,
)
from dwh.settings import incremental_start as _incremental_start
from dwh.sources.catalog import TABLES, BronzeTable

DEFAULT_START = DEFAULT_INCREMENTAL_START
# dwh documents DLT__<STAGE>__WORKERS; dlt itself reads <STAGE>__WORKERS.
_WORKER_VARS = {
    "DLT__EXTRACT__WORKERS": "EXTRACT__WORKERS",
    "DLT__NORMALIZE__WORKERS": "NORMALIZE__WORKERS",
    "DLT__LOAD__WORKERS": "LOAD__WORKERS",
}
# Bounded memory: one load job at a time, rotated intermediate files, a capped DuckDB (DUCKDB_CONFIG).
_DLT_DEFAULTS = {
    "LOAD__AUTO_ABORT_ON_TERMINAL_ERROR": "true",
    "DATA_WRITER__FILE_MAX_ITEMS": "500000",
    "NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID": "true",
    "RUNTIME__LOG_LEVEL": "ERROR",
    # One resource (one open query on the source) at a time.
    "EXTRACT__NEXT_ITEM_MODE": "fifo",
}


def selected_tables(settings: RunSettings | None = None) -> list[BronzeTable]:
    """The tables DWH_BRONZE_RESOURCES selects (all when unset), in catalog order."""
    names = settings.bronze_resources if settings is not None else bronze_resources()
    return list(TABLES) if names is None else [t for t in TABLES if t.name in names]


def incremental_start(settings: RunSettings | None = None) -> dt.date:
    """DWH_INCREMENTAL_START_DATE: where a table's cursor starts when it has no state yet."""
    return settings.incremental_start if settings is not None else _incremental_start()


def lag_days(table: BronzeTable, settings: RunSettings | None = None) -> int:
    """The table's look-back window, overridable with DWH_LAG_DAYS_<TABLE>."""
    override = settings.lag_days.get(table.name) if settings is not None else lag_days_override(table.name)
    return table.lag_days if override is None else override


# dlt's DuckDB destination: always DWH_MEMORY_LIMIT's cap and the warehouse's spill directory.
DUCKDB_CONFIG = "DESTINATION__DUCKDB__CREDENTIALS__GLOBAL_CONFIG"


def configure_dlt(env: dict[str, str] | None = None, settings: RunSettings | None = None) -> dict[str, str]:
    """Set the variables dlt reads from dwh's documented ones and bounded-memory defaults; returns them.

    dlt's DuckDB settings follow DWH_MEMORY_LIMIT (of `settings`, else of `env`), whatever `env` held before.
    """
    env = os.environ if env is None else env
    applied = {}
    for ours, theirs in _WORKER_VARS.items():
        raw = env.get(ours)
        if raw is not None and not (raw.isdigit() and int(raw) >= 1):
            raise ConfigError(f"{ours}={raw!r} must be a positive whole number")
        value = raw or env.get(theirs) or "1"
        env[theirs] = value
        applied[theirs] = value
    for key, value in _DLT_DEFAULTS.items():
        env.setdefault(key, value)
        applied[key] = env[key]
    if settings is not None:
        limit, warehouse = settings.memory_limit, settings.warehouse
    else:
        limit, warehouse = memory_limit(env), warehouse_path(env)
    env[DUCKDB_CONFIG] = applied[DUCKDB_CONFIG] = dlt_global_config(limit, warehouse)
    return applied
