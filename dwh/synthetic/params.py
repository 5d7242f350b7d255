"""Generator settings and the academic calendar the synthetic university follows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

import numpy as np

from dwh.synthetic.profile import MIGRATION_EXTRA_YEARS, MIGRATION_LEAD_YEARS, Shapes

# A student's state in the simulation.
NOT_ENTERED, ACTIVE, PAUSED, DROPPED, GRADUATED = 0, 1, 2, 3, 4
SUBJECTS_PER_PLAN = 40  # 5 years x 2 cuatrimestres x 4 subjects
CLASSES_PER_CURSADA = 28
ANNUAL_CLASSES = 2 * CLASSES_PER_CURSADA


@dataclass(frozen=True)
class GeneratorConfig:
    """What to generate; the output is a pure function of these fields."""

    students: int = 5000
    sources: int = 2
    years: int = 6
    seed: int = 42
    until: dt.date = field(default_factory=dt.date.today)
    moodle: bool = True
    moodle_years: int = 3
    moodle_events_per_course: float = 5.0
    # Read the same university as its databases stood on this earlier day: the calendar, the cohorts
    # and every random draw still come from `until`; rows dated after the snapshot do not exist yet.
    snapshot: dt.date | None = None
    # Which shapes of real Guaraní data the sources have (profile.py); all off is the `simple` profile.
    shapes: Shapes = field(default_factory=Shapes)
    # Set only on a migrated source's own config: its course and exam records start on this day.
    detail_from: dt.date | None = None

    def __post_init__(self) -> None:
        if self.students < self.sources:
            raise ValueError(f"students ({self.students}) must be at least the number of sources")
        if not 1 <= self.sources <= 3:
            raise ValueError(f"sources must be between 1 and 3, got {self.sources}")
        if self.years < 1:
            raise ValueError(f"years must be at least 1, got {self.years}")
        if self.snapshot is not None:
            start = semester_start(0, self.first_year)
            if not start <= self.snapshot <= self.until:
                raise ValueError(f"snapshot must be between {start} and until ({self.until}), got {self.snapshot}")

    @property
    def last_year(self) -> int:
        """Academic year (March to February) that contains `until`."""
        return academic_year(self.until)

    @property
    def first_year(self) -> int:
        return self.last_year - self.years + 1

    @property
    def n_semesters(self) -> int:
        """Cuatrimestres from the first cohort's entry to the one containing `until`."""
        return semester_index(self.until, self.first_year) + 1

    @property
    def today(self) -> dt.date:
        """The day the sources are read: the snapshot when there is one, else `until`."""
        return self.until if self.snapshot is None else self.snapshot

    @property
    def migrated_index(self) -> int | None:
        """The source whose history was migrated (cohorts older than its detailed records), if any."""
        return 0 if self.shapes.migrated_history and self.sources >= 2 else None

    def for_source(self, index: int) -> GeneratorConfig:
        """The config a source is simulated with: the migrated one has older cohorts and a first detail day."""
        if index != self.migrated_index:
            return self
        return replace(
            self,
            years=self.years + MIGRATION_EXTRA_YEARS,
            detail_from=dt.date(self.first_year - MIGRATION_LEAD_YEARS, 3, 1),
        )

    @property
    def known_semesters(self) -> int:
        """Cuatrimestres from the first cohort's entry to the one containing `today`."""
        return semester_index(self.today, self.first_year) + 1


def academic_year(day: dt.date) -> int:
    """March to February: January and February belong to the previous academic year."""
    return day.year if day.month >= 3 else day.year - 1


def semester_index(day: dt.date, first_year: int) -> int:
    """0 = first cuatrimestre (March-July) of first_year, 1 = its second (August-February), ..."""
    year = academic_year(day)
    second = day.month >= 8 or day.month <= 2
    return 2 * (year - first_year) + int(second)


def semester_start(index: int, first_year: int) -> dt.date:
    year = first_year + index // 2
    return dt.date(year, 3, 1) if index % 2 == 0 else dt.date(year, 8, 1)


def class_period(index: int, first_year: int) -> tuple[dt.date, dt.date]:
    """First and last day of classes of a cuatrimestre."""
    year = first_year + index // 2
    if index % 2 == 0:
        return dt.date(year, 3, 13), dt.date(year, 6, 30)
    return dt.date(year, 8, 7), dt.date(year, 11, 24)


def exam_turns(index: int, first_year: int) -> list[dt.date]:
    """Exam turns that close a cuatrimestre: July; or December and the next February."""
    year = first_year + index // 2
    if index % 2 == 0:
        return [dt.date(year, 7, 20)]
    return [dt.date(year, 12, 11), dt.date(year + 1, 2, 19)]


def annual_subjects() -> np.ndarray:
    """Plan positions taught as annual courses (one per year of the plan), March to November."""
    return np.arange(SUBJECTS_PER_PLAN) % 8 == 3


def annual_class_period(year: int) -> tuple[dt.date, dt.date]:
    """First and last day of classes of an annual course: the first cuatrimestre's start to the second's end."""
    return dt.date(year, 3, 13), dt.date(year, 11, 24)
