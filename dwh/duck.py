"""Open a DuckDB connection the project's way: capped by DWH_MEMORY_LIMIT, spilling beside the warehouse.

Every DuckDB connection dwh opens (bronze's own reads and writes, silver, gold, publish, the dashboard,
ML, the checks around them) comes from `connect()`; a static test keeps it so. dlt's DuckDB destination
gets the same values through `dlt_global_config()`.

The temporary directory is shared by every process and DuckDB instance that spills for this warehouse:
DuckDB 2 names each instance's temporary files after its process and instance and removes only its own.
"""

from __future__ import annotations

import json
import logging
import re
import tempfile
from pathlib import Path

import duckdb

from dwh.settings import memory_limit, warehouse_path

log = logging.getLogger("dwh.duck")

# At most this much spilled beside the warehouse: a runaway statement fails instead of filling the disk the
# warehouse itself needs (DuckDB's own default is 90% of the free space).
MAX_TEMP_DIRECTORY_SIZE = "10GB"
_UNSET = "unset"


def temp_directory(warehouse: Path | None = None) -> Path:
    """`<warehouse file>.tmp`, where DuckDB spills what does not fit under the cap; the system's temporary
    directory when the warehouse's directory does not exist."""
    target = warehouse if warehouse is not None else warehouse_path()
    if not target.parent.is_dir():
        return Path(tempfile.gettempdir()) / "dwh-duckdb.tmp"
    return target.with_name(target.name + ".tmp")


def connect(
    path: str | Path | None = None,
    read_only: bool = False,
    *,
    stage: str,
    limit: str | None = _UNSET,
    warehouse: Path | None = None,
    preserve_insertion_order: bool | None = None,
) -> duckdb.DuckDBPyConnection:
    """A connection to the DuckDB file `path` (None: in memory) under the project's memory settings.

    `limit`: the memory cap as DuckDB reads it, None for DuckDB's own default; by default DWH_MEMORY_LIMIT.
    `warehouse`: the warehouse whose `.tmp` directory takes the spill (by default DWH_DUCKDB_PATH's).
    `stage` (bronze, silver, gold, publish, ml, dashboard, ops, docs...) names the caller in the debug log.
    `preserve_insertion_order=False` lets DuckDB reorder results that have no ORDER BY, which lets large
    CREATE TABLE AS statements stream under the cap (what the layer builds set).

    The settings are the DuckDB instance's: connections to the same file in one process share them.
    """
    cap = memory_limit() if limit == _UNSET else limit
    con = duckdb.connect(":memory:" if path is None else str(path), read_only=read_only)
    try:
        if cap is not None:
            con.execute("SET memory_limit = ?", [cap])
        spill = str(temp_directory(warehouse))
        # A directory DuckDB has already spilled to cannot be switched, even to the same value.
        current = con.execute("SELECT current_setting('temp_directory')").fetchone()
        if current is None or current[0] != spill:
            con.execute("SET temp_directory = ?", [spill])
        con.execute("SET max_temp_directory_size = ?", [MAX_TEMP_DIRECTORY_SIZE])
        if preserve_insertion_order is not None:
            con.execute(f"SET preserve_insertion_order = {str(preserve_insertion_order).lower()}")
    except BaseException:
        con.close()
        raise
    log.debug("duckdb %s: %s, memory_limit %s, temp_directory %s", stage, path or ":memory:", cap, spill)
    return con


def dlt_global_config(limit: str | None, warehouse: Path) -> str:
    """dlt's DuckDB destination settings (DESTINATION__DUCKDB__CREDENTIALS__GLOBAL_CONFIG) under the same cap
    and spill directory; two threads and no insertion order keep its merges small."""
    config: dict[str, object] = {"threads": 2, "preserve_insertion_order": False}
    if limit is not None:
        config["memory_limit"] = limit
    config["temp_directory"] = str(temp_directory(warehouse))
    config["max_temp_directory_size"] = MAX_TEMP_DIRECTORY_SIZE
    return json.dumps(config)


# -- a stage that ran out of memory -----------------------------------------------------------------------

_OOM_TEXT = "Out of Memory Error"


def out_of_memory(exc: BaseException) -> str | None:
    """DuckDB's out-of-memory message when `exc` is, wraps or was raised while handling one, else None.

    dlt and the layer runner wrap DuckDB's error (dlt sometimes only in text), so both are looked for.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        text = str(current)
        if isinstance(current, duckdb.OutOfMemoryException) or _OOM_TEXT in text:
            start = text.find(_OOM_TEXT)
            return " ".join(text[max(start, 0) :].split())[:300]
        current = current.__cause__ or current.__context__
    return None


def _doubled(limit: str) -> str:
    match = re.match(r"^(\d+(?:\.\d+)?)(.*)$", limit)
    if match is None:
        return limit
    value = float(match.group(1)) * 2
    return f"{value:g}{match.group(2)}"


def out_of_memory_message(stage: str, limit: str | None, detail: str | None = None, quote: bool = True) -> str:
    """What to tell the operator when `stage` ran out of memory under `limit` (None: DuckDB's default);
    `detail` is DuckDB's message, quoted at the end unless `quote` is false (the caller shows it)."""
    if limit is None:
        text = (
            f"stage {stage} ran out of memory with DWH_MEMORY_LIMIT=none (DuckDB's own default, 80% of RAM): "
            "set DWH_MEMORY_LIMIT to what the machine can give (for example DWH_MEMORY_LIMIT=2GB) or free memory"
        )
    else:
        text = (
            f"stage {stage} ran out of memory under DWH_MEMORY_LIMIT={limit}: raise it "
            f"(for example DWH_MEMORY_LIMIT={_doubled(limit)}) or free memory"
        )
    if detail and "max_temp_directory_size" in detail:
        text += f"; or its spill reached max_temp_directory_size ({MAX_TEMP_DIRECTORY_SIZE}): free disk space"
    return text + (f" (DuckDB: {detail})" if detail and quote else "")


class StageOutOfMemory(Exception):
    """A stage's DuckDB statement could not finish under DWH_MEMORY_LIMIT; the message says how to go on."""

    def __init__(self, stage: str, limit: str | None, detail: str | None = None) -> None:
        super().__init__(out_of_memory_message(stage, limit, detail))
        self.stage, self.limit = stage, limit
