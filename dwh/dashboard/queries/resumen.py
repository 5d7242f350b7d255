"""The header KPIs: active students, retention, dropout rate and students at risk."""

from __future__ import annotations

import duckdb

from dwh.dashboard.queries.filtros import Filtros, anio_completo, anio_defecto, anios, clausulas, fecha_corte
from dwh.dashboard.queries.riesgo import conteo_riesgo
from dwh.dashboard.queries.sql import COHORTES, RIESGO_ANUAL, existe


def _retencion_total(cur: duckdb.DuckDBPyConnection, f: Filtros) -> dict:
    out = {
        "estudiantes_cohortes": None,
        "retencion_1_anio": None,
        "n_retencion_1_anio": 0,
        "retenidos_1_anio": None,
        "retencion_2_anios": None,
        "n_retencion_2_anios": 0,
        "retenidos_2_anios": None,
    }
    if not existe(cur, "gold", "mart_cohort_analysis"):
        return out
    where, params = clausulas(f)
    total, n1, r1, n2, r2 = cur.execute(
        f"""
        SELECT CAST(sum(total_estudiantes) AS BIGINT),
               CAST(sum(total_estudiantes) FILTER (WHERE NOT seguimiento_incompleto_1_anio) AS BIGINT),
               CAST(sum(retenidos_1_anio) FILTER (WHERE NOT seguimiento_incompleto_1_anio) AS BIGINT),
               CAST(sum(total_estudiantes) FILTER (WHERE NOT seguimiento_incompleto_2_anios) AS BIGINT),
               CAST(sum(retenidos_2_anios) FILTER (WHERE NOT seguimiento_incompleto_2_anios) AS BIGINT)
        FROM {COHORTES} WHERE TRUE {where}
        """,
        params,
    ).fetchone()
    out["estudiantes_cohortes"] = total or 0
    out["n_retencion_1_anio"] = n1 or 0
    out["n_retencion_2_anios"] = n2 or 0
    if n1:
        out["retenidos_1_anio"] = r1 or 0
        out["retencion_1_anio"] = (r1 or 0) / n1
    if n2:
        out["retenidos_2_anios"] = r2 or 0
        out["retencion_2_anios"] = (r2 or 0) / n2
    return out


def resumen(con: duckdb.DuckDBPyConnection, f: Filtros) -> dict:
    """Header KPIs.

    Keys:
    - anio: the academic year used (f.anio or the default year), as_of;
    - estudiantes_activos: students with academic activity (an inscription, a result or a reinscription)
      in `anio` (mart_student_risk_features.actividad_academica), of the filtered cohorts/programs/sites;
    - retencion_1_anio / retencion_2_anios: Σ retained ÷ Σ students over the mart_cohort_analysis rows that
      match the filters and whose follow-up is complete (None when no cohort is complete);
      n_retencion_1_anio / n_retencion_2_anios (their denominators), retenidos_1_anio / retenidos_2_anios,
      estudiantes_cohortes (Σ students of the matching cohort rows, complete or not);
    - tasa_abandono: share of the students active in `anio` with abandono_anio_siguiente = 1 (not graduated
      and no activity in anio + 1); None while anio + 1 is not complete; n_abandono (its denominator),
      abandonos (its numerator);
    - estudiantes_en_riesgo: students at level 'alto' now (see riesgo), estudiantes_riesgo_medio,
      fuente_riesgo ('modelo' or 'heurística').
    Counts are None when their table is missing.
    """
    with con.cursor() as cur:
        as_of = fecha_corte(cur)
        anio = f.anio if f.anio is not None else anio_defecto(cur, as_of, anios(cur))
        out: dict = {"anio": anio, "as_of": as_of}
        activos = abandonos = n_abandono = None
        if anio is not None and existe(cur, "gold", "mart_student_risk_features"):
            where, params = clausulas(f)
            activos, n_abandono, abandonos = cur.execute(
                f"""
                SELECT count(*),
                       count(abandono_anio_siguiente),
                       CAST(COALESCE(sum(abandono_anio_siguiente), 0) AS BIGINT)
                FROM {RIESGO_ANUAL}
                WHERE anio_academico = ? AND actividad_academica {where}
                """,
                [anio, *params],
            ).fetchone()
        out["estudiantes_activos"] = activos
        incompleto = as_of is not None and anio is not None and not anio_completo(anio + 1, as_of)
        if n_abandono and not incompleto:
            out["tasa_abandono"] = abandonos / n_abandono
            out["n_abandono"] = n_abandono
            out["abandonos"] = abandonos
        else:
            out["tasa_abandono"] = None
            out["n_abandono"] = 0 if activos is not None else None
            out["abandonos"] = None
        out.update(_retencion_total(cur, f))
        conteo, fuente = conteo_riesgo(cur, f, anio)
        out["estudiantes_en_riesgo"] = None if conteo is None else conteo["alto"]
        out["estudiantes_riesgo_medio"] = None if conteo is None else conteo["medio"]
        out["fuente_riesgo"] = fuente
        return out
