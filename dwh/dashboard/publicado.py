"""The published warehouse, opened read-only and re-opened when a new run renames a new file over it."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from dwh.dashboard import queries as q
from dwh.duck import out_of_memory, out_of_memory_message
from dwh.ops.publish import published_path
from dwh.settings import memory_limit, warehouse_path

log = logging.getLogger("dwh.dashboard")


def ruta_publicada() -> Path:
    """Where the nightly run publishes the warehouse (never the working file the pipeline writes)."""
    return published_path(warehouse_path())


def _firma(path: Path) -> tuple[int, int, int, int]:
    """The file's identity: a publish replaces the inode (and mtime and size) by renaming a new file."""
    st = os.stat(path)
    return st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size


class Publicado:
    """One shared read-only connection to the published file, lent to callbacks with `conexion()`.

    DuckDB caches database instances by path: while any connection to the old file is alive, connecting
    to the same path again returns the *old* file's data. So, once the file changes, new callbacks wait
    for the ones still using the old connection, the old connection is closed, and only then the new
    file is opened.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._cond = threading.Condition()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._firma: tuple[int, int, int, int] | None = None
        self._en_uso = 0

    @contextmanager
    def conexion(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The connection on the current published file; FileNotFoundError when there is none."""
        if not self.path.is_file():
            raise FileNotFoundError(f"no published warehouse at {self.path}: run python -m dwh.main")
        # Taken before opening: a file replaced in between is then simply re-opened on the next call.
        firma = _firma(self.path)
        with self._cond:
            if self._firma != firma:
                while self._en_uso:
                    self._cond.wait()
                if self._firma != firma:
                    self._cerrar()
                    self._con = q.conectar(self.path)
                    self._firma = firma
                    log.info("opened published warehouse %s (inode %d)", self.path, firma[1])
            con = self._con
            self._en_uso += 1
        try:
            yield con
        except duckdb.Error as exc:
            if (detail := out_of_memory(exc)) is not None:
                log.error("%s", out_of_memory_message("dashboard", memory_limit(), detail))
            raise
        finally:
            with self._cond:
                self._en_uso -= 1
                self._cond.notify_all()

    def _cerrar(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
            self._firma = None

    def cerrar(self) -> None:
        """Close the connection (it is opened again on the next use)."""
        with self._cond:
            while self._en_uso:
                self._cond.wait()
            self._cerrar()
