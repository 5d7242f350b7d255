"""Retention per cohort of entry: one row per cohort, and the per-semester retention curves."""

from __future__ import annotations

import duckdb
import pandas as pd

from dwh.dashboard.queries.filtros import Filtros, clausulas
from dwh.dashboard.queries.sql import COHORTES, CURVAS, existe, frame, vacio
from dwh.dashboard.reglas import UMBRAL_GRUPO_PEQUENO

COLUMNAS_RETENCION = (
    "cohorte",
    "estudiantes",
    "retenidos_1_anio",
    "tasa_retencion_1_anio",
    "retenidos_2_anios",
    "tasa_retencion_2_anios",
    "seguimiento_incompleto_1_anio",
    "seguimiento_incompleto_2_anios",
    "egresados",
    "grupo_pequeno",
)

COLUMNAS_CURVAS = ("cohorte", "semestres_desde_ingreso", "estudiantes", "activos", "tasa_activos", "completo")


def curvas_retencion(con: duckdb.DuckDBPyConnection, f: Filtros) -> pd.DataFrame:
    """Share of each cohort still active k semesters after entry, summed over the matching
    gold.mart_retencion_semestral rows (the rule is in its SQL header). `completo` is False while some
    of the cohort's semester k can still gain records. The year filter does not apply."""
    with con.cursor() as cur:
        if not existe(cur, "gold", "mart_retencion_semestral"):
            return vacio(COLUMNAS_CURVAS)
        where, params = clausulas(f)
        return frame(
            cur,
            f"""
            SELECT cohorte, semestres_desde_ingreso,
                   CAST(sum(estudiantes) AS BIGINT) AS estudiantes,
                   CAST(sum(activos) AS BIGINT) AS activos,
                   sum(activos) / sum(estudiantes) AS tasa_activos,
                   bool_and(completo) AS completo
            FROM {CURVAS}
            WHERE cohorte IS NOT NULL {where}
            GROUP BY ALL
            ORDER BY cohorte, semestres_desde_ingreso
            """,
            params,
            COLUMNAS_CURVAS,
        )


def retencion_por_cohorte(con: duckdb.DuckDBPyConnection, f: Filtros) -> pd.DataFrame:
    """One row per cohort (academic year of entry), summed over the matching mart_cohort_analysis rows.

    Columns: cohorte, estudiantes, retenidos_1_anio, tasa_retencion_1_anio, retenidos_2_anios,
    tasa_retencion_2_anios (retained ÷ students; <NA>/NaN while the follow-up is incomplete),
    seguimiento_incompleto_1_anio, seguimiento_incompleto_2_anios, egresados,
    grupo_pequeno (estudiantes < UMBRAL_GRUPO_PEQUENO). The year filter does not apply.
    """
    with con.cursor() as cur:
        if not existe(cur, "gold", "mart_cohort_analysis"):
            return vacio(COLUMNAS_RETENCION)
        where, params = clausulas(f)
        return frame(
            cur,
            f"""
            SELECT cohorte,
                   CAST(sum(total_estudiantes) AS BIGINT) AS estudiantes,
                   CAST(sum(retenidos_1_anio) FILTER (WHERE NOT seguimiento_incompleto_1_anio) AS BIGINT)
                       AS retenidos_1_anio,
                   CAST(sum(retenidos_1_anio) FILTER (WHERE NOT seguimiento_incompleto_1_anio) AS DOUBLE)
                       / NULLIF(sum(total_estudiantes) FILTER (WHERE NOT seguimiento_incompleto_1_anio), 0)
                       AS tasa_retencion_1_anio,
                   CAST(sum(retenidos_2_anios) FILTER (WHERE NOT seguimiento_incompleto_2_anios) AS BIGINT)
                       AS retenidos_2_anios,
                   CAST(sum(retenidos_2_anios) FILTER (WHERE NOT seguimiento_incompleto_2_anios) AS DOUBLE)
                       / NULLIF(sum(total_estudiantes) FILTER (WHERE NOT seguimiento_incompleto_2_anios), 0)
                       AS tasa_retencion_2_anios,
                   bool_or(seguimiento_incompleto_1_anio) AS seguimiento_incompleto_1_anio,
                   bool_or(seguimiento_incompleto_2_anios) AS seguimiento_incompleto_2_anios,
                   CAST(COALESCE(sum(egresados), 0) AS BIGINT) AS egresados,
                   sum(total_estudiantes) < ? AS grupo_pequeno
            FROM {COHORTES}
            WHERE TRUE {where}
            GROUP BY cohorte
            ORDER BY cohorte
            """,
            [UMBRAL_GRUPO_PEQUENO, *params],
            COLUMNAS_RETENCION,
        )
