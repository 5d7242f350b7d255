"""Read interventions out of the application database for bronze, without creating or changing anything."""

from __future__ import annotations

import datetime as dt
import logging

import sqlalchemy as sa

from dwh.app_db.engine import AppDbError, is_sqlite, make_engine, reaching, sqlite_path
from dwh.app_db.schema import intervenciones

log = logging.getLogger("dwh.app_db")
# Bronze keeps neither the tutor's user name nor the free note: the published warehouse is readable by
# anyone with the file and must hold no staff identity and no free text about a student.
BRONZE_COLUMNS = {
    "intervencion": intervenciones.c.id,
    "alumno_key": intervenciones.c.alumno_key,
    "fecha": intervenciones.c.fecha,
    "canal": intervenciones.c.canal,
    "resultado": intervenciones.c.resultado,
    "seguimiento": intervenciones.c.seguimiento,
    "registrada": intervenciones.c.registrada,
}


def read_interventions(url: str, recorded_before: dt.datetime) -> list[dict]:
    """Interventions recorded before the instant, as {bronze column: value}, in id order.

    No database yet (a SQLite file never created, or no table: no intervention was ever recorded) reads as
    none. A database that cannot be reached raises AppDbError.
    """
    if is_sqlite(url) and not sqlite_path(url).is_file():
        log.info("application database %s does not exist yet: no interventions", sqlite_path(url))
        return []
    with reaching(url, "connecting"):
        engine = make_engine(url, read_only=True)
    try:
        with reaching(url, "reading interventions"), engine.connect() as conn:
            if not sa.inspect(conn).has_table(intervenciones.name):
                log.warning("application database has no table %s yet: no interventions", intervenciones.name)
                return []
            query = (
                sa.select(*(column.label(name) for name, column in BRONZE_COLUMNS.items()))
                .where(intervenciones.c.registrada < recorded_before)
                .order_by(intervenciones.c.id)
            )
            return [dict(row._mapping) for row in conn.execute(query)]
    finally:
        engine.dispose()


__all__ = ["AppDbError", "BRONZE_COLUMNS", "read_interventions"]
