"""Freshness: per source, the newest event loaded into bronze and its age against the source's limit."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb

from dwh import duck
from dwh.settings import APP_DB_KIND, SourceDatabase
from dwh.sources.catalog import by_name

# Tables whose cursor is the day something happened. attendance and academic use the period's end and
# historia_academica dates undated rows today (both capped at today), which would look fresh forever.
EVENT_TABLES = (
    "course_inscriptions",
    "exam_inscriptions",
    "reinscripciones",
    "alumnos_hist_calidad",
    "perdida_regularidades",
    "census",
    "moodle_engagement",
    "moodle_attendance",
    "moodle_enrolments",
)


@dataclass
class Freshness:
    source: str
    newest: dt.date | None
    age_days: int | None
    max_age_days: int | None

    @property
    def breached(self) -> bool:
        if self.max_age_days is None:
            return False
        return self.age_days is None or self.age_days > self.max_age_days

    def describe(self) -> str:
        newest = self.newest.isoformat() if self.newest else "no data"
        age = f"{self.age_days} days old" if self.age_days is not None else "never loaded"
        limit = f"limit {self.max_age_days} days" if self.max_age_days else "no limit set"
        verdict = "STALE" if self.breached else "ok"
        return f"{self.source}: newest data {newest} ({age}; {limit}) {verdict}"


def newest_on(con: duckdb.DuckDBPyConnection) -> dict[str, dt.date]:
    """Per source_db, the newest event day of its event tables in bronze, on an open connection."""
    present = {
        r[0]
        for r in con.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_catalog = current_database() AND table_schema = 'bronze'"
        ).fetchall()
    }
    newest: dict[str, dt.date] = {}
    for table in map(by_name, EVENT_TABLES):
        if table.name not in present:
            continue
        for source, value in con.execute(
            f'SELECT source_db, CAST(max("{table.cursor}") AS DATE) FROM bronze."{table.name}" GROUP BY 1'
        ).fetchall():
            if source is not None and value is not None and (source not in newest or value > newest[source]):
                newest[source] = value
    return newest


def newest_dates(warehouse: Path, read_only: bool = True) -> dict[str, dt.date]:
    """newest_on() on the warehouse file."""
    with duck.connect(str(warehouse), read_only=read_only, stage="freshness") as con:
        return newest_on(con)


def check(warehouse: Path, sources: list[SourceDatabase], today: dt.date | None = None) -> list[Freshness]:
    today = today or dt.date.today()
    newest = newest_dates(warehouse) if warehouse.exists() else {}
    out = []
    for source in sources:
        if source.kind == APP_DB_KIND:
            continue  # interventions come when tutors act, not on a schedule: no age to watch
        value = newest.get(source.name)
        age = (today - value).days if value is not None else None
        out.append(Freshness(source.name, value, age, source.max_age_days))
    return out
