"""One writer at a time: an exclusive lock file beside the warehouse, held from a run's start to its end."""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Paths this process already holds, so a layer called from `dwh.main` does not lock against its own run.
_HELD: set[Path] = set()


class LockHeld(Exception):
    """Another run holds the warehouse; the message says who and since when."""


class LockUnavailable(LockHeld):
    """The lock file cannot be created or opened (read-only or immutable directory); a LockHeld, so the
    callers that stop on a held lock stop on this too."""


def lock_path(warehouse: Path) -> Path:
    return warehouse.parent / f"{warehouse.name}.lock"


def holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return "another process (no details in the lock file)"
    return (
        f"pid {info.get('pid', '?')} on {info.get('host', '?')} ({info.get('command', '?')}) "
        f"since {info.get('since', '?')}"
    )


@contextmanager
def warehouse_lock(warehouse: Path, command: str) -> Iterator[None]:
    """Hold the warehouse's lock file, or raise LockHeld at once.

    flock is released by the kernel when the process ends, also on kill -9, so a crash never leaves the
    warehouse locked; the file's text only says who holds it.
    """
    warehouse = warehouse.resolve()
    if warehouse in _HELD:
        yield
        return
    path = lock_path(warehouse)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        # A read-only, immutable or missing directory: a message, not a traceback; nothing was touched.
        raise LockUnavailable(f"cannot open the run lock {path}: {exc.strerror or exc}; not starting") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockHeld(f"warehouse {warehouse} is locked by {holder(path)}; not starting") from None
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": command,
            "since": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        }
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(info).encode(), 0)
        except OSError as exc:
            # A full disk cannot take these 200 bytes, nor the run's writes: stop now, with a message.
            raise LockUnavailable(f"cannot write the run lock {path}: {exc.strerror or exc}; not starting") from None
        _HELD.add(warehouse)
        try:
            yield
        finally:
            _HELD.discard(warehouse)
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
