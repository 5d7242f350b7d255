"""The bronze tables: which SQL file feeds each, from which kind of source, and how it loads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from dwh.sources.declared import declared_type

SQL_DIR = Path(__file__).resolve().parent.parent / "sql" / "bronze"
CursorKind = Literal["date", "timestamptz"]


@dataclass(frozen=True)
class BronzeTable:
    """One bronze table. `key` excludes source_db, which every key starts with."""

    name: str
    kind: Literal["guarani", "moodle", "intervenciones"]
    key: tuple[str, ...]
    cursor: str | None = None
    lag_days: int = 0
    optional: bool = False
    fallback: str | None = None
    # Reads nothing dated after the as-of date: rows come into scope as it moves (dwh.sources.changes).
    frontier: bool = False
    # Read by versions, the table is re-read per group and member: (group column, member column) of the rows
    # sql/bronze/scopes/<table>.sql lists (a NULL member: the whole group); bronze deletes them first (a group
    # can lose rows).
    scope: tuple[str, str] | None = None
    # Without a cursor, read in full every night, unless the source gives row versions: then only the rows
    # written since the last load are read and merged on the key (dwh.sources.changes).
    versioned: bool = False

    @property
    def incremental(self) -> bool:
        return self.cursor is not None

    @property
    def by_versions(self) -> bool:
        """Whether the table is read by row versions where the source gives them."""
        return self.incremental or self.versioned

    @property
    def cursor_kind(self) -> CursorKind:
        """From the cursor column's declared bronze type: the one place types are written down."""
        if self.cursor is None:
            raise ValueError(f"{self.name} has no cursor")
        return "date" if declared_type(self.name, self.cursor) == "DATE" else "timestamptz"

    @property
    def sql_path(self) -> Path:
        return SQL_DIR / f"{self.name}.sql"

    @property
    def scope_path(self) -> Path | None:
        return SQL_DIR / "scopes" / f"{self.name}.sql" if self.scope else None

    @property
    def fallback_path(self) -> Path | None:
        return SQL_DIR / f"{self.fallback}.sql" if self.fallback else None


# Look-back windows (days), used only where rows cannot be read by version (dwh/docs/CHANGE_DETECTION.md): re-read
# on every run so late rows and in-place corrections arrive; override one with DWH_LAG_DAYS_<TABLE>=N.
TABLES: tuple[BronzeTable, ...] = (
    BronzeTable("students", "guarani", ("alumno",), versioned=True),
    BronzeTable("personas", "guarani", ("persona",), versioned=True),
    BronzeTable("elementos", "guarani", ("elemento",), versioned=True),
    BronzeTable("instancias", "guarani", ("instancia",), versioned=True),
    BronzeTable("attendance", "guarani", ("comision", "alumno"), "periodo_fin", 60),
    BronzeTable("academic", "guarani", ("inscripcion",), "periodo_fin", 120),
    BronzeTable("census", "guarani", ("dato_censal",), "fecha_cambio", 30),
    BronzeTable("perdida_regularidades", "guarani", ("perdida_regularidad",), "fecha", 30, frontier=True),
    BronzeTable("alumnos_hist_calidad", "guarani", ("alumno", "fecha"), "fecha", 30, frontier=True),
    BronzeTable(
        "historia_academica",
        "guarani",
        ("dwh_pk",),
        "fecha_cursor",
        60,
        optional=True,
        fallback="historia_academica_fallback",
        scope=("id_acta", "alumno"),
    ),
    BronzeTable("exam_inscriptions", "guarani", ("inscripcion_id",), "fecha_inscripcion", 60, frontier=True),
    BronzeTable("course_inscriptions", "guarani", ("inscripcion_id",), "fecha_inscripcion", 60, frontier=True),
    BronzeTable("reinscripciones", "guarani", ("reinscripcion",), "fecha_reinscripcion", 30, frontier=True),
    BronzeTable("graduates", "guarani", ("certificado_otorg",), optional=True),
    BronzeTable("moodle_users", "moodle", ("userid",), versioned=True),
    BronzeTable("moodle_courses", "moodle", ("courseid",), versioned=True),
    BronzeTable("moodle_enrolments", "moodle", ("user_enrolment_id",), "modificado", 30, frontier=True),
    BronzeTable("moodle_attendance", "moodle", ("attendance_log_id",), "tomada", 30, frontier=True),
    BronzeTable("moodle_engagement", "moodle", ("userid", "courseid", "dia"), "dia", 3, frontier=True),
    # Not a SQL file: read from the application database (dwh/sources/intervenciones.py), in full every run.
    BronzeTable("intervenciones", "intervenciones", ("intervencion",)),
)


def table_names() -> list[str]:
    return [t.name for t in TABLES]


def by_name(name: str) -> BronzeTable:
    for table in TABLES:
        if table.name == name:
            return table
    raise KeyError(name)
