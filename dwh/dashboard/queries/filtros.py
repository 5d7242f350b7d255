"""The dashboard's filters: which apply to which view, their SQL clauses, the academic years and the choices."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from dwh.dashboard.queries.sql import COHORTES, existe

_TODOS = ("cohortes", "propuestas", "sedes", "anio")
_SIN_ANIO = ("cohortes", "propuestas", "sedes")
# Per function, the filters of Filtros that change its result (the app shows this next to each view).
FILTROS_APLICADOS: dict[str, tuple[str, ...]] = {
    "resumen": _TODOS,
    "resumen.estudiantes_activos": _TODOS,
    "resumen.retencion": _SIN_ANIO,
    "resumen.tasa_abandono": _TODOS,
    "resumen.estudiantes_en_riesgo": _TODOS,
    "retencion_por_cohorte": _SIN_ANIO,
    "curvas_retencion": _SIN_ANIO,
    "comparacion": _SIN_ANIO,
    "riesgo": _TODOS,
    "distribucion_riesgo": _TODOS,
    "rendimiento_por_semestre": _SIN_ANIO,
    "estado_datos": (),
}


@dataclass(frozen=True)
class Filtros:
    """The dashboard's filters. An empty tuple means no restriction; anio None means the default year.

    Lists (as Dash gives them) and None are accepted and stored as tuples, so a Filtros is hashable.
    """

    cohortes: tuple[int, ...] = ()
    propuestas: tuple[str, ...] = ()
    sedes: tuple[str, ...] = ()
    anio: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "cohortes", tuple(int(c) for c in (self.cohortes or ())))
        object.__setattr__(self, "propuestas", tuple(str(p) for p in (self.propuestas or ())))
        object.__setattr__(self, "sedes", tuple(str(s) for s in (self.sedes or ())))
        object.__setattr__(self, "anio", None if self.anio is None else int(self.anio))


def clausulas(f: Filtros, alias: str = "") -> tuple[str, list]:
    """' AND ...' clauses for the cohort, program and site filters (nothing for an empty tuple)."""
    p = f"{alias}." if alias else ""
    sql, params = "", []
    if f.cohortes:
        sql += f" AND list_contains(?, {p}cohorte)"
        params.append(list(f.cohortes))
    if f.propuestas:
        sql += f" AND list_contains(?, {p}propuesta)"
        params.append(list(f.propuestas))
    if f.sedes:
        sql += f" AND list_contains(?, {p}sede)"
        params.append(list(f.sedes))
    return sql, params


def anio_academico(dia: dt.date) -> int:
    """The academic year (March to February) containing a day."""
    return dia.year if dia.month >= 3 else dia.year - 1


def anio_completo(anio: int, as_of: dt.date) -> bool:
    """Academic year `anio` is over at the as-of date (it ends on the last day of February of anio + 1)."""
    return as_of >= dt.date(anio + 1, 3, 1)


def fecha_corte(cur: duckdb.DuckDBPyConnection) -> dt.date | None:
    """The as-of date of the gold layer in this file: the latest successful gold build's."""
    if not existe(cur, "dwh_meta", "layer_runs"):
        return None
    fila = cur.execute(
        "SELECT as_of FROM dwh_meta.layer_runs WHERE layer = 'gold' AND status = 'ok' ORDER BY started_at DESC LIMIT 1"
    ).fetchone()
    return fila[0] if fila else None


def anios(cur: duckdb.DuckDBPyConnection) -> list[int]:
    """The academic years of the year-based views."""
    for tabla in ("mart_student_risk_features", "mart_student_academic_summary"):
        if existe(cur, "gold", tabla):
            return [
                r[0]
                for r in cur.execute(
                    f"SELECT DISTINCT anio_academico FROM gold.{tabla} WHERE anio_academico IS NOT NULL ORDER BY 1"
                ).fetchall()
            ]
    return []


def anio_defecto(cur: duckdb.DuckDBPyConnection, as_of: dt.date | None, todos: list[int]) -> int | None:
    """The latest academic year complete at the as-of date (never the running one)."""
    if as_of is not None:
        completos = [a for a in todos if anio_completo(a, as_of)]
        return max(completos) if completos else anio_academico(as_of) - 1
    # No build record: the marts' own anio_cerrado says the same thing.
    if existe(cur, "gold", "mart_student_academic_summary"):
        fila = cur.execute(
            "SELECT max(anio_academico) FROM gold.mart_student_academic_summary WHERE anio_cerrado"
        ).fetchone()
        return fila[0] if fila else None
    return None


def anio_elegido(cur: duckdb.DuckDBPyConnection, f: Filtros) -> int | None:
    """The filter's year, else the default one."""
    if f.anio is not None:
        return f.anio
    return anio_defecto(cur, fecha_corte(cur), anios(cur))


def opciones(con: duckdb.DuckDBPyConnection) -> dict:
    """The filters' choices and the dates that frame them.

    Keys: cohortes (sorted ints), propuestas, sedes (sorted names, SIN_DATO included when present), anios
    (sorted academic years of the year-based views), anio_defecto (latest academic year complete at the
    as-of date), anio_en_curso (the academic year containing the as-of date), as_of (the date the gold
    layer describes: the latest successful gold build's as-of date; None when there is no build record).
    """
    with con.cursor() as cur:
        as_of = fecha_corte(cur)
        cohortes: list[int] = []
        propuestas: list[str] = []
        sedes: list[str] = []
        if existe(cur, "gold", "mart_cohort_analysis"):
            cohortes = [
                r[0]
                for r in cur.execute(
                    f"SELECT DISTINCT cohorte FROM {COHORTES} WHERE cohorte IS NOT NULL ORDER BY 1"
                ).fetchall()
            ]
            propuestas = [r[0] for r in cur.execute(f"SELECT DISTINCT propuesta FROM {COHORTES} ORDER BY 1").fetchall()]
            sedes = [r[0] for r in cur.execute(f"SELECT DISTINCT sede FROM {COHORTES} ORDER BY 1").fetchall()]
        todos = anios(cur)
        if as_of is not None:
            en_curso = anio_academico(as_of)
        else:
            en_curso = max(todos) if todos else None
        return {
            "cohortes": cohortes,
            "propuestas": propuestas,
            "sedes": sedes,
            "anios": todos,
            "anio_defecto": anio_defecto(cur, as_of, todos),
            "anio_en_curso": en_curso,
            "as_of": as_of,
        }
