"""Bronze run settings from the environment: tables to load, first cursor value, look-back windows, dlt."""

from __future__ import annotations

import datetime as dt
import os
import re

from dwh.settings import ConfigError
from dwh.sources.catalog import TABLES, BronzeTable

DEFAULT_START = dt.date(1900, 1, 1)
# dwh documents DLT__<STAGE>__WORKERS; dlt itself reads <STAGE>__WORKERS.
_WORKER_VARS = {
    "DLT__EXTRACT__WORKERS": "EXTRACT__WORKERS",
    "DLT__NORMALIZE__WORKERS": "NORMALIZE__WORKERS",
    "DLT__LOAD__WORKERS": "LOAD__WORKERS",
}
# Bounded memory: one load job at a time, rotated intermediate files, a capped DuckDB.
_DLT_DEFAULTS = {
    "LOAD__AUTO_ABORT_ON_TERMINAL_ERROR": "true",
    "DATA_WRITER__FILE_MAX_ITEMS": "500000",
    "NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID": "true",
    "DESTINATION__DUCKDB__CREDENTIALS__GLOBAL_CONFIG": (
        '{"memory_limit": "600MB", "threads": 2, "preserve_insertion_order": false}'
    ),
    "RUNTIME__LOG_LEVEL": "ERROR",
    # One resource (one open query on the source) at a time.
    "EXTRACT__NEXT_ITEM_MODE": "fifo",
}


def selected_tables(env: dict[str, str] | None = None) -> list[BronzeTable]:
    """DWH_BRONZE_RESOURCES=students,personas selects tables; unset or empty means all."""
    env = os.environ if env is None else env
    raw = env.get("DWH_BRONZE_RESOURCES", "").strip()
    if not raw:
        return list(TABLES)
    wanted = [name.strip() for name in raw.split(",") if name.strip()]
    valid = [t.name for t in TABLES]
    unknown = [name for name in wanted if name not in valid]
    if unknown:
        raise ConfigError(
            f"DWH_BRONZE_RESOURCES: unknown resource(s) {', '.join(unknown)}; valid names: {', '.join(valid)}"
        )
    return [t for t in TABLES if t.name in wanted]


def incremental_start(env: dict[str, str] | None = None) -> dt.date:
    """DWH_INCREMENTAL_START_DATE=YYYY-MM-DD: where a table's cursor starts when it has no state yet."""
    env = os.environ if env is None else env
    raw = env.get("DWH_INCREMENTAL_START_DATE", "").strip()
    if not raw:
        return DEFAULT_START
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        raise ConfigError(f"DWH_INCREMENTAL_START_DATE={raw!r} is not a date in YYYY-MM-DD form")
    try:
        value = dt.date.fromisoformat(raw)
    except ValueError as exc:
        raise ConfigError(f"DWH_INCREMENTAL_START_DATE={raw!r} is not a valid date: {exc}") from None
    if value > dt.date.today():
        raise ConfigError(f"DWH_INCREMENTAL_START_DATE={raw} is in the future")
    return value


def lag_days(table: BronzeTable, env: dict[str, str] | None = None) -> int:
    """The table's look-back window, overridable with DWH_LAG_DAYS_<TABLE>."""
    env = os.environ if env is None else env
    var = f"DWH_LAG_DAYS_{table.name.upper()}"
    raw = env.get(var)
    if raw is None:
        return table.lag_days
    if not raw.isdigit():
        raise ConfigError(f"{var}={raw!r} must be a whole number of days")
    return int(raw)


def configure_dlt(env: dict[str, str] | None = None) -> dict[str, str]:
    """Set the variables dlt reads from dwh's documented ones and bounded-memory defaults; returns them."""
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
    return applied
