"""Publish a read-only copy of the warehouse for readers, replaced atomically after a successful run."""

from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

log = logging.getLogger("dwh.publish")


@dataclass
class Published:
    path: Path
    bytes: int
    seconds: float


def published_path(warehouse: Path) -> Path:
    """$DWH_PUBLISHED_PATH, else published/<warehouse name> beside the warehouse."""
    env = os.environ.get("DWH_PUBLISHED_PATH")
    if env:
        return Path(env).expanduser().resolve()
    return warehouse.parent / "published" / warehouse.name


def publish(warehouse: Path) -> Published:
    """CHECKPOINT the working file, copy it beside the target and rename it over the target.

    A reader that has the old copy open keeps reading it (the rename does not touch its inode); a new
    reader opens the new copy. A crash before the rename leaves only a stale temporary file.
    """
    t0 = time.perf_counter()
    target = published_path(warehouse)
    target.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(warehouse)) as con:
        # all committed data into the main file, so the copy needs no WAL
        con.execute("CHECKPOINT")
    tmp = target.with_name(f".{target.name}.publishing")
    log.info("publishing %s to %s", warehouse, target)
    # A run killed between the chmod and the rename below leaves a read-only temporary file; copying
    # over it would fail (permission denied, for any owner but root) on every later run. Removing it
    # needs only write permission on the directory.
    tmp.unlink(missing_ok=True)
    try:
        shutil.copyfile(warehouse, tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o444)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    size = target.stat().st_size
    seconds = time.perf_counter() - t0
    log.info("published %s (%.0f MB) in %.1fs", target, size / 1e6, seconds)
    return Published(target, size, seconds)
