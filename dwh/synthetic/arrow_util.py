"""Small helpers that turn numpy arrays into typed Arrow columns for COPY."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

_DATE = pa.date32()
_TS = pa.timestamp("s", tz="UTC")


def ints(values, null: np.ndarray | None = None, typ: pa.DataType = pa.int64()) -> pa.Array:
    return pa.array(np.asarray(values, dtype=np.int64), type=typ, mask=null)


def floats(values, null: np.ndarray | None = None) -> pa.Array:
    values = np.asarray(values, dtype=np.float64)
    mask = np.isnan(values) if null is None else (null | np.isnan(values))
    return pa.array(values, type=pa.float64(), mask=mask)


def texts(values, null: np.ndarray | None = None) -> pa.Array:
    return pa.array(np.asarray(values, dtype=object), type=pa.string(), mask=null)


def dates(days, null: np.ndarray | None = None) -> pa.Array:
    """Day numbers since 1970-01-01 as DATE."""
    return pa.array(np.asarray(days, dtype=np.int32), type=pa.int32(), mask=null).cast(_DATE)


def stamps(seconds, null: np.ndarray | None = None) -> pa.Array:
    """Epoch seconds as TIMESTAMPTZ (written in UTC, so the session time zone does not matter)."""
    return pa.array(np.asarray(seconds, dtype=np.int64), type=pa.int64(), mask=null).cast(_TS)


def local_stamps(seconds, null: np.ndarray | None = None, offset_seconds: int = -3 * 3600) -> pa.Array:
    """Epoch seconds as a wall-clock TIMESTAMP (no time zone) in Buenos Aires, UTC-3 since 2009."""
    local = np.asarray(seconds, dtype=np.int64) + offset_seconds
    return pa.array(local, type=pa.int64(), mask=null).cast(pa.timestamp("s"))


def const(value, n: int) -> np.ndarray:
    return np.full(n, value, dtype=object if isinstance(value, str) else None)


def table(**columns) -> pa.Table:
    """Columns given as Arrow arrays, or numpy / list values inferred by Arrow."""
    return pa.table({name: col if isinstance(col, pa.Array) else pa.array(col) for name, col in columns.items()})


def from_rows(names: list[str], rows: list[tuple]) -> pa.Table:
    """A small catalogue table from Python tuples."""
    return pa.table({name: pa.array([row[i] for row in rows]) for i, name in enumerate(names)})


_GRADE_TEXT = np.array(
    [f"{h // 2}" if h % 2 == 0 else f"{h / 2:.2f}".replace(".", ",") for h in range(21)] + [None], dtype=object
)


def grade_strings(grades: np.ndarray) -> np.ndarray:
    """Guaraní-style text grades on a 0-10 scale in halves: '7', '6,50'; None where the grade is NaN."""
    grades = np.asarray(grades, dtype=np.float64)
    halves = np.where(np.isnan(grades), 21, np.rint(np.nan_to_num(grades) * 2)).astype(int)
    return _GRADE_TEXT[halves]


def grade_text(grades: np.ndarray) -> pa.Array:
    """grade_strings as an Arrow column."""
    values = grade_strings(grades)
    return pa.array(values, type=pa.string(), mask=np.isnan(np.asarray(grades, dtype=np.float64)))


def rank_within(keys: np.ndarray) -> np.ndarray:
    """0-based position of each row among the rows with the same key, in input order."""
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    starts = np.r_[0, np.flatnonzero(sorted_keys[1:] != sorted_keys[:-1]) + 1]
    group_start = np.repeat(starts, np.diff(np.r_[starts, keys.size]))
    ranks = np.empty(keys.size, dtype=np.int64)
    ranks[order] = np.arange(keys.size) - group_start
    return ranks


def dense_ids(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique keys in sorted order and, per row, its 1-based id among them."""
    uniq, inverse = np.unique(keys, return_inverse=True)
    return uniq, inverse + 1
