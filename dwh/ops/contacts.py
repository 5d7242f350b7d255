"""contactos.duckdb: names, legajo and e-mail of the students with a current career, for the tutor role only."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import duckdb
import pandas as pd

from dwh import duck

log = logging.getLogger("dwh.contacts")

FILE_NAME = "contactos.duckdb"
TABLE = "contactos"
COLUMNS = ("alumno_key", "source_db", "apellido", "nombres", "legajo", "email", "propuesta", "sede", "facultad")
# A current career: an alumno whose calidad is A (activo), as Guaraní's sga_alumnos_calidad defines it.
CURRENT = "A"
# The catalog name the working warehouse is attached under (not its file stem: that may be the new file's).
SOURCE = "dwh_working"


def contacts_path(published: Path) -> Path:
    """contactos.duckdb in the published warehouse's directory."""
    return published.parent / FILE_NAME


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {
        r[0]
        for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = ? AND schema_name = 'bronze' "
            "AND table_name = ?",
            [SOURCE, table],
        ).fetchall()
    }


def _text(available: set[str], alias: str, column: str) -> str:
    # A warehouse whose bronze predates these columns (not loaded again yet) gives NULLs, not an error.
    return f"NULLIF(trim({alias}.{column}), '')" if column in available else "CAST(NULL AS VARCHAR)"


def contacts_sql(con: duckdb.DuckDBPyConnection) -> str:
    """The contacts of the warehouse attached as SOURCE: alumno_key is silver's alumno_key (the gold key).

    A warehouse without silver.dim_student or bronze.students yet (only bronze was run) gives no rows."""
    personas, students = _columns(con, "personas"), _columns(con, "students")
    built = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'silver' "
        "AND table_name = 'dim_student'",
        [SOURCE],
    ).fetchone()[0]  # type: ignore[index]
    if not built or not students:
        return "SELECT " + ", ".join(f"CAST(NULL AS VARCHAR) AS {c}" for c in COLUMNS) + " WHERE false"
    return f"""
        SELECT st.alumno_key                       AS alumno_key,
               st.source_db,
               {_text(personas, "p", "apellido")}   AS apellido,
               {_text(personas, "p", "nombres")}    AS nombres,
               {_text(students, "s", "legajo")}     AS legajo,
               {_text(personas, "p", "email")}      AS email,
               st.propuesta_nombre                  AS propuesta,
               st.sede_nombre                       AS sede,
               st.facultad_nombre                   AS facultad
        FROM {SOURCE}.silver.dim_student st
        JOIN {SOURCE}.bronze.students s ON s.source_db = st.source_db AND s.alumno = st.alumno
        LEFT JOIN {SOURCE}.bronze.personas p ON p.source_db = s.source_db AND p.persona = s.persona
        WHERE s.calidad = '{CURRENT}'
        ORDER BY st.source_db, apellido, nombres, alumno_key
    """


def write_contacts(warehouse: Path, target: Path) -> int:
    """Write the contacts of `warehouse` to a new file `target` (mode 0400); returns the number of students."""
    target.unlink(missing_ok=True)
    with duck.connect(str(target), stage="publish", warehouse=warehouse) as con:
        con.execute(f"ATTACH ? AS {SOURCE} (READ_ONLY)", [str(warehouse)])
        con.execute(f"CREATE TABLE main.{TABLE} AS {contacts_sql(con)}")
        rows: int = con.execute(f"SELECT count(*) FROM main.{TABLE}").fetchone()[0]  # type: ignore[index]
        con.execute(f"DETACH {SOURCE}")
    with open(target, "rb") as fh:
        os.fsync(fh.fileno())
    os.chmod(target, 0o400)
    return rows


def read_contacts(
    path: Path,
    alumno_keys: list[str] | None = None,
    propuestas: list[str] | None = None,
    sedes: list[str] | None = None,
) -> pd.DataFrame:
    """The contacts (COLUMNS), read-only: of these alumno_keys, programs and sites when given (None: all).

    An empty list selects nobody. Raises FileNotFoundError when the file is not there (no run published yet).
    """
    if not path.exists():
        raise FileNotFoundError(f"no contacts file at {path}: run python -m dwh.main first")
    sql = f"SELECT {', '.join(COLUMNS)} FROM main.{TABLE} WHERE true"
    params: list[object] = []
    for column, values in (("alumno_key", alumno_keys), ("propuesta", propuestas), ("sede", sedes)):
        if values is not None:
            sql += f" AND list_contains(?, {column})"
            params.append(list(values))
    with duck.connect(str(path), read_only=True, stage="dashboard") as con:
        return con.execute(sql + " ORDER BY apellido, nombres, alumno_key", params).df()
