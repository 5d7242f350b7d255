"""The application database's tables (SQLAlchemy Core), portable between SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

metadata = sa.MetaData()


class UtcDateTime(sa.types.TypeDecorator):
    """An instant stored as UTC: timestamptz on PostgreSQL, naive UTC text on SQLite; read back aware (UTC)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"instant {value!r} has no time zone")
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


intervenciones = sa.Table(
    "intervenciones",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("alumno_key", sa.String(128), nullable=False),
    sa.Column("usuario", sa.String(200), nullable=False),
    sa.Column("fecha", sa.Date, nullable=False),
    sa.Column("canal", sa.String(20), nullable=False),
    sa.Column("resultado", sa.String(20), nullable=False),
    sa.Column("seguimiento", sa.Date, nullable=True),
    sa.Column("nota", sa.Text, nullable=False, default=""),
    sa.Column("registrada", UtcDateTime, nullable=False),
    sa.Index("ix_intervenciones_alumno", "alumno_key", "fecha"),
    sa.Index("ix_intervenciones_registrada", "registrada"),
)

# One row per view: the students shown are a JSON array, so a tutor's list of 40 is one row, not 40.
auditoria = sa.Table(
    "auditoria",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("usuario", sa.String(200), nullable=False),
    sa.Column("momento", UtcDateTime, nullable=False),
    sa.Column("accion", sa.String(40), nullable=False),
    sa.Column("vista", sa.String(100), nullable=False),
    sa.Column("n_alumnos", sa.Integer, nullable=False),
    sa.Column("alumnos", sa.Text, nullable=False),
    sa.Column("params", sa.Text, nullable=False),
    sa.Index("ix_auditoria_momento", "momento"),
)

INTERVENCION_COLUMNS = tuple(c.name for c in intervenciones.columns)
AUDITORIA_COLUMNS = tuple(c.name for c in auditoria.columns)
