"""Change detection by row versions: which source rows were written since the last committed load.

Every PostgreSQL row carries `xmin`, the id of the transaction that wrote that version of it. A load records
the oldest transaction still running when it began (the xmin of its snapshot, a 64-bit id); the next load
reads, in every table its query joins, the rows whose `xmin` is at or after that point. A transaction that
committed after the recorded snapshot always has an id at or after it, so no write is missed; a few rows
written just before may be read again, which the merge on the table's key absorbs.

`xmin` is a 32-bit id that wraps around: it is compared modulo 2^32, within the span between the recorded
point and the source's newest id. When that span reaches 2^31 transactions, or the source's counter is
behind the recorded point (a restored or replaced database), the table is reloaded in full instead.
See dwh/docs/CHANGE_DETECTION.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# In a bronze SQL file: `xid_changed(alias)` is true for a row of `alias` written since the last load;
# `xid_mode()` is true when rows are read by version at all (false on a window or first read).
_CHANGED = re.compile(r"\bxid_changed\(\s*(\w+)\s*\)")
_MODE = re.compile(r"\bxid_mode\(\s*\)")
WRAP = 1 << 32
# Beyond this many transactions between two loads a 32-bit id no longer says which side of the point it is on.
MAX_SPAN = 1 << 31
STATE_KEY = "changes"


class ChangesUnavailable(Exception):
    """The source gives no transaction snapshot (not PostgreSQL, or a proxy that hides it)."""


def uses_versions(sql: str) -> bool:
    """Whether a bronze query can be read by row versions (it names them, or reads a scope of changed ids)."""
    return bool(_CHANGED.search(sql) or _MODE.search(sql))


@dataclass(frozen=True)
class SourceSnapshot:
    """The source's transaction counter when a load begins: 64-bit ids (epoch-extended)."""

    xmin: int  # oldest transaction still running: the next load reads from here
    xmax: int  # first id not yet assigned


@dataclass(frozen=True)
class VersionRange:
    """Rows written at or after `since` (a 64-bit id), up to the snapshot's `xmax`."""

    since: int
    until: int

    @property
    def params(self) -> dict[str, int]:
        return {"xid_low32": self.since % WRAP, "xid_span": self.until - self.since}


def render(sql: str, versions: VersionRange | None) -> str:
    """The query with its version tests written out: exact ones, or FALSE when rows are not read by version."""
    if versions is None:
        return _MODE.sub("FALSE", _CHANGED.sub("FALSE", sql))
    # BETWEEN, not <=: PostgreSQL then estimates a narrow range (0.5 % of the rows), not a third of the table,
    # so it hashes the sets of changed keys instead of scanning them once per row.
    changed = r"(((\1.xmin::text::bigint - :xid_low32 + 4294967296) % 4294967296) BETWEEN 0 AND :xid_span)"
    return _MODE.sub("TRUE", _CHANGED.sub(changed, sql))


def read_snapshot(conn: Any) -> SourceSnapshot:
    """The source's current snapshot bounds, on an open DBAPI connection (works on a hot standby too)."""
    cursor = conn.cursor()
    try:
        cursor.execute("SELECT txid_snapshot_xmin(s), txid_snapshot_xmax(s) FROM txid_current_snapshot() AS s")
        row = cursor.fetchone()
    except Exception as exc:
        conn.rollback()
        raise ChangesUnavailable(str(exc).splitlines()[0]) from exc
    finally:
        cursor.close()
    return SourceSnapshot(int(row[0]), int(row[1]))


@dataclass(frozen=True)
class VersionPlan:
    """How a table whose query names its row versions is read tonight."""

    versions: VersionRange | None  # None: read in full (first load, or a reason below)
    reload_reason: str | None = None


def plan_versions(recorded: int | None, now: SourceSnapshot) -> VersionPlan:
    """From the point the last committed load recorded (None: none yet) and the source's snapshot now."""
    if recorded is None:
        return VersionPlan(None)
    if now.xmax < recorded:
        return VersionPlan(
            None,
            f"the source's transaction counter ({now.xmax}) is behind the last load's ({recorded}): "
            "a restored or replaced database",
        )
    if now.xmax - recorded >= MAX_SPAN:
        return VersionPlan(
            None, f"{now.xmax - recorded:,} transactions since the last load (2^31 or more: ids may have wrapped)"
        )
    return VersionPlan(VersionRange(recorded, now.xmax))
