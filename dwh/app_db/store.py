"""AppDb: record and read interventions, write and read the audit trail, in the application database."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import sqlalchemy as sa

from dwh.app_db.engine import is_sqlite, make_engine, reaching, redacted, sqlite_path
from dwh.app_db.schema import AUDITORIA_COLUMNS, INTERVENCION_COLUMNS, auditoria, intervenciones, metadata
from dwh.app_db.validation import audit_row, intervention_row
from dwh.settings import app_db_url

log = logging.getLogger("dwh.app_db")
# SQLite allows at most 32766 bound parameters per statement (999 before 3.32): lists are read in chunks.
_CHUNK = 900


class AppDb:
    """The application database at `url` (SQLAlchemy SQLite or PostgreSQL URL); tables are created on first use."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: sa.Engine | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls) -> AppDb:
        """$DWH_APP_DB, else app.sqlite beside the warehouse (see dwh.settings.app_db_url)."""
        return cls(app_db_url())

    @property
    def name(self) -> str:
        """The URL without its password, for messages."""
        return redacted(self.url)

    def __repr__(self) -> str:
        return f"AppDb({self.name!r})"

    def close(self) -> None:
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None

    def _ready(self) -> sa.Engine:
        with self._lock:
            if self._engine is None:
                with reaching(self.url, "opening"):
                    created = False
                    if is_sqlite(self.url):
                        path = sqlite_path(self.url)
                        path.parent.mkdir(parents=True, exist_ok=True)
                        created = not path.exists()
                    engine = make_engine(self.url)
                    try:
                        metadata.create_all(engine)
                    except Exception:
                        engine.dispose()
                        raise
                    if created:
                        # Notes about students: readable by the account that runs the dashboard and the pipeline only.
                        os.chmod(path, 0o600)
                        log.info("application database created: %s", self.name)
                self._engine = engine
            return self._engine

    # -- interventions -------------------------------------------------------------------------------------------

    def registrar_intervencion(
        self,
        alumno_key: str,
        usuario: str,
        fecha: dt.date | str,
        canal: str,
        resultado: str,
        seguimiento: dt.date | str | None = None,
        nota: str = "",
        *,
        registrada: dt.datetime | None = None,
    ) -> int:
        """Record a contact; returns its id. Raises InvalidIntervention (bad values) or AppDbError.

        `registrada` (the instant it was recorded, aware) defaults to now; it is set by hand only to import
        records kept elsewhere.
        """
        row = intervention_row(
            alumno_key=alumno_key,
            usuario=usuario,
            fecha=fecha,
            canal=canal,
            resultado=resultado,
            seguimiento=seguimiento,
            nota=nota,
            registrada=registrada,
        )
        engine = self._ready()
        with reaching(self.url, "recording an intervention"), engine.begin() as conn:
            new_id = conn.execute(intervenciones.insert().values(**row)).inserted_primary_key[0]
        log.info("intervention %s recorded by %s", new_id, row["usuario"])
        return int(new_id)

    def ultimas_intervenciones(self, alumno_keys: Sequence[str]) -> pd.DataFrame:
        """The latest intervention of each given student that has one (latest contact date, then latest
        recorded); columns as in intervenciones_de."""
        keys = sorted({k for k in alumno_keys if isinstance(k, str)})
        ranked = sa.select(
            *intervenciones.columns,
            sa.func.row_number()
            .over(
                partition_by=intervenciones.c.alumno_key,
                order_by=(
                    intervenciones.c.fecha.desc(),
                    intervenciones.c.registrada.desc(),
                    intervenciones.c.id.desc(),
                ),
            )
            .label("orden"),
        )
        rows: list[sa.Row] = []
        engine = self._ready()
        with reaching(self.url, "reading interventions"), engine.connect() as conn:
            for start in range(0, len(keys), _CHUNK):
                sub = ranked.where(intervenciones.c.alumno_key.in_(keys[start : start + _CHUNK])).subquery()
                query = sa.select(*(sub.c[name] for name in INTERVENCION_COLUMNS)).where(sub.c.orden == 1)
                rows.extend(conn.execute(query).all())
        frame = _interventions_frame(rows)
        return frame.sort_values("alumno_key", ignore_index=True)

    def intervenciones_de(self, alumno_key: str) -> pd.DataFrame:
        """Every intervention of one student, newest first: id, alumno_key, usuario, fecha, canal, resultado,
        seguimiento, nota, registrada (UTC)."""
        query = (
            sa.select(intervenciones)
            .where(intervenciones.c.alumno_key == alumno_key)
            .order_by(intervenciones.c.fecha.desc(), intervenciones.c.registrada.desc(), intervenciones.c.id.desc())
        )
        engine = self._ready()
        with reaching(self.url, "reading interventions"), engine.connect() as conn:
            return _interventions_frame(conn.execute(query).all())

    # -- audit ----------------------------------------------------------------------------------------------------

    def auditar(
        self,
        usuario: str,
        accion: str,
        vista: str,
        alumnos: Sequence[str],
        params: Mapping[str, Any] | None = None,
    ) -> None:
        """Record that `usuario` saw (or exported) identified data of `alumnos` in `vista` with `params`."""
        row = audit_row(usuario, accion, vista, alumnos, params)
        engine = self._ready()
        with reaching(self.url, "writing the audit"), engine.begin() as conn:
            conn.execute(auditoria.insert().values(**row))

    def auditoria(self, desde: dt.datetime | dt.date | None = None) -> pd.DataFrame:
        """Audit rows in order (from `desde` on, if given: an aware instant, or a day in UTC): id, usuario,
        momento (UTC), accion, vista, n_alumnos, alumnos (list of keys), params (dict)."""
        query = sa.select(auditoria).order_by(auditoria.c.momento, auditoria.c.id)
        if desde is not None:
            if not isinstance(desde, dt.datetime):
                desde = dt.datetime.combine(desde, dt.time(), tzinfo=dt.timezone.utc)
            query = query.where(auditoria.c.momento >= desde)
        engine = self._ready()
        with reaching(self.url, "reading the audit"), engine.connect() as conn:
            rows = conn.execute(query).all()
        frame = pd.DataFrame([tuple(r) for r in rows], columns=list(AUDITORIA_COLUMNS))
        frame["alumnos"] = frame["alumnos"].map(json.loads)
        frame["params"] = frame["params"].map(json.loads)
        frame["momento"] = pd.to_datetime(frame["momento"], utc=True)
        return frame


def _interventions_frame(rows: Sequence[sa.Row]) -> pd.DataFrame:
    frame = pd.DataFrame([tuple(r) for r in rows], columns=list(INTERVENCION_COLUMNS))
    frame["id"] = frame["id"].astype("int64")
    frame["registrada"] = pd.to_datetime(frame["registrada"], utc=True)
    return frame
