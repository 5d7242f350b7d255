"""The run log: one row per step of every run (source, table, rows, seconds, status, error) in the warehouse."""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from dwh import duck
from dwh.layers.runner import META
from dwh.ops.publish import Published
from dwh.settings import scrub_passwords

log = logging.getLogger("dwh.runlog")
TABLE = f"{META}.run_log"
DDL = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} (run_id VARCHAR, started_at TIMESTAMPTZ, step VARCHAR, "
    "source_db VARCHAR, table_name VARCHAR, row_count BIGINT, seconds DOUBLE, status VARCHAR, error VARCHAR)"
)


PUBLISH_TABLE = f"{META}.publish_log"
PUBLISH_DDL = (
    f"CREATE TABLE IF NOT EXISTS {PUBLISH_TABLE} (run_id VARCHAR, published_at TIMESTAMPTZ, path VARCHAR, "
    "bytes BIGINT, contacts_path VARCHAR, students BIGINT, seconds DOUBLE)"
)


@dataclass(frozen=True)
class Step:
    """One row of the run log: a step of the run, for a source and/or table when it has one."""

    step: str
    status: str
    source: str | None = None
    table: str | None = None
    rows: int | None = None
    seconds: float | None = None
    error: str | None = None

    def values(self) -> tuple[object, ...]:
        """In the order of the run_log columns after run_id and started_at."""
        return (self.step, self.source, self.table, self.rows, self.seconds, self.status, self.error)


@dataclass
class RunLog:
    """Steps of one run, written to the warehouse at the end (also when the run fails)."""

    command: str
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))
    rows: list[Step] = field(default_factory=list)
    published: list[Published] = field(default_factory=list)

    def add(
        self,
        step: str,
        status: str,
        *,
        source: str | None = None,
        table: str | None = None,
        rows: int | None = None,
        seconds: float | None = None,
        error: str = "",
    ) -> None:
        text = scrub_passwords(" ".join(error.split()))[:2000] if error else None
        self.rows.append(Step(step, status, source, table, rows, seconds, text))

    def add_publish(self, done: Published) -> None:
        """The publish step, and its own record (where, how large) in dwh_meta.publish_log."""
        self.rows.append(Step("publish", "ok", seconds=done.seconds))
        self.published.append(done)

    def write(self, warehouse: Path) -> bool:
        """Append the rows; False (logged, never raised) when the warehouse cannot take them.

        A run's summary also goes to <warehouse>.runs.jsonl, which `status` reads: it must never open
        the working file, because any DuckDB connection to it would stop the next run from opening it.
        """
        self._append_summary(warehouse)
        if not warehouse.exists():
            return False
        try:
            with duck.connect(str(warehouse), stage="runlog") as con:
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {META}")
                con.execute(DDL)
                con.executemany(
                    f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(self.run_id, self.started_at, *row.values()) for row in self.rows],
                )
                if self.published:
                    con.execute(PUBLISH_DDL)
                    con.executemany(
                        f"INSERT INTO {PUBLISH_TABLE} VALUES (?, now(), ?, ?, ?, ?, ?)",
                        [
                            (self.run_id, str(p.path), p.bytes, str(p.contacts), p.students, p.seconds)
                            for p in self.published
                        ],
                    )
            return True
        except duckdb.Error as exc:
            log.error("the run log could not be written to %s: %s", warehouse, str(exc).splitlines()[0])
            return False

    def _append_summary(self, warehouse: Path) -> None:
        finished = [r for r in self.rows if r.step == "run"]
        if not finished:
            return
        seconds, status, error = finished[-1].seconds, finished[-1].status, finished[-1].error
        failed = [
            {"step": r.step, "source": r.source, "table": r.table, "error": r.error}
            for r in self.rows
            if r.status in ("failed", "stale") and r.step != "run"
        ]
        line = {
            "run_id": self.run_id,
            "command": self.command,
            "started_at": self.started_at.isoformat(timespec="seconds"),
            "status": status,
            "seconds": round(seconds or 0.0, 1),
            "error": error,
            "problems": failed,
        }
        try:
            with open(summary_path(warehouse), "a", encoding="utf-8") as fh:
                fh.write(json.dumps(line) + "\n")
        except OSError as exc:
            log.error("the run summary could not be written beside %s: %s", warehouse, exc)


def summary_path(warehouse: Path) -> Path:
    return warehouse.parent / f"{warehouse.name}.runs.jsonl"


def read_summaries(warehouse: Path, last: int) -> list[dict[str, Any]]:
    """The last runs' summaries, newest first."""
    path = summary_path(warehouse)
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    out = []
    for line in reversed(lines):
        try:
            out.append(json.loads(line))
        except ValueError:
            continue  # a line cut by a crash
        if len(out) >= last:
            break
    return out
