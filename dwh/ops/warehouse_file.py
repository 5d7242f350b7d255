"""The warehouse file's health before a run: usable, locked, unreadable, or corrupt (moved aside)."""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from pathlib import Path

import duckdb

from dwh import duck
from dwh.settings import dlt_state_dir

log = logging.getLogger("dwh.ops")
# Only these say the file's content is broken; locks, permissions and missing directories are not.
CORRUPTION_MARKERS = (
    "not a valid DuckDB database file",
    "Corrupt database file",
    "database file is corrupt",
    "checksum",
    "Failed to read database header",
)


class WarehouseUnavailable(Exception):
    """The warehouse file cannot be used and must be left alone (locked, no permission, no directory)."""


def _is_corruption(message: str) -> bool:
    return any(marker.lower() in message.lower() for marker in CORRUPTION_MARKERS)


def check_warehouse(warehouse: Path) -> Path | None:
    """Open the file once; return where a corrupt file was moved to, or None when it was usable or absent.

    Raises WarehouseUnavailable when the file cannot be opened now for any other reason (locked by
    another process, no permission, no directory): such a file is left alone.
    """
    if not warehouse.parent.is_dir():
        raise WarehouseUnavailable(f"the warehouse directory {warehouse.parent} does not exist")
    if not warehouse.exists():
        return None
    try:
        with duck.connect(str(warehouse), stage="check") as con:
            con.execute("SELECT count(*) FROM duckdb_tables()").fetchone()
        return None
    except duckdb.Error as exc:
        message = " ".join(str(exc).split())
        if not _is_corruption(message):
            raise WarehouseUnavailable(f"cannot open the warehouse {warehouse}: {message}") from None
        moved = move_aside(warehouse)
        log.error(
            "the warehouse %s is corrupt (%s): moved aside as %s; rebuilding everything from the sources",
            warehouse,
            message[:300],
            moved.name,
        )
        reset_dlt_state(warehouse)
        return moved


def move_aside(warehouse: Path) -> Path:
    """Rename the file (and its WAL) to <stem>.invalid.<timestamp><suffix>; nothing is deleted."""
    stamp = dt.datetime.now().strftime("%Y%m%d%H%M%S")
    target = warehouse.with_name(f"{warehouse.stem}.invalid.{stamp}{warehouse.suffix}")
    warehouse.rename(target)
    wal = warehouse.with_name(warehouse.name + ".wal")
    if wal.exists():
        wal.rename(target.with_name(target.name + ".wal"))
    return target


def reset_dlt_state(warehouse: Path) -> None:
    """Drop dlt's local state, so every incremental table reloads in full into the new file.

    Kept state would tell dlt the history is loaded, and the fresh file would only get new rows.
    """
    state = dlt_state_dir(warehouse)
    if state.exists():
        # renamed first, so a crash while deleting can never leave a half state where dlt looks for one
        aside = state.with_name(f"{state.name}.invalid.{dt.datetime.now().strftime('%Y%m%d%H%M%S')}")
        state.rename(aside)
        log.warning("dlt's local state %s dropped: every incremental table reloads in full", state)
        shutil.rmtree(aside, ignore_errors=True)
