"""Programs and sites side by side: retention and approval per group, small groups kept and flagged."""

from __future__ import annotations

from typing import Literal

import duckdb
import pandas as pd

from dwh.dashboard.queries.filtros import Filtros, clausulas
from dwh.dashboard.queries.sql import COHORTES, existe, frame, vacio
from dwh.dashboard.reglas import UMBRAL_GRUPO_PEQUENO

COLUMNAS_COMPARACION = (
    "grupo",
    "estudiantes",
    "tasa_retencion_1_anio",
    "n_retencion",
    "retenidos_1_anio",
    "tasa_aprobacion",
    "aprobadas",
    "reprobadas",
    "grupo_pequeno",
)


def comparacion(con: duckdb.DuckDBPyConnection, f: Filtros, por: Literal["propuesta", "sede"]) -> pd.DataFrame:
    """One row per program (por='propuesta') or site (por='sede'), every group kept (small ones flagged).

    Columns: grupo (the name), estudiantes (Σ students of the matching cohorts), tasa_retencion_1_anio
    (Σ retained ÷ Σ students over the cohorts with complete 1-year follow-up; NaN when none),
    n_retencion (that denominator), retenidos_1_anio, tasa_aprobacion (Σ approved ÷ (Σ approved + Σ failed)
    attempts; absences excluded; NaN without attempts), aprobadas, reprobadas,
    grupo_pequeno (estudiantes < UMBRAL_GRUPO_PEQUENO). Sorted by grupo. The year filter does not apply.
    """
    if por not in ("propuesta", "sede"):
        raise ValueError(f"por must be 'propuesta' or 'sede', not {por!r}")
    with con.cursor() as cur:
        if not existe(cur, "gold", "mart_cohort_analysis"):
            return vacio(COLUMNAS_COMPARACION)
        where, params = clausulas(f)
        return frame(
            cur,
            f"""
            SELECT {por} AS grupo,
                   CAST(sum(total_estudiantes) AS BIGINT) AS estudiantes,
                   CAST(sum(retenidos_1_anio) FILTER (WHERE NOT seguimiento_incompleto_1_anio) AS DOUBLE)
                       / NULLIF(sum(total_estudiantes) FILTER (WHERE NOT seguimiento_incompleto_1_anio), 0)
                       AS tasa_retencion_1_anio,
                   CAST(COALESCE(sum(total_estudiantes) FILTER (WHERE NOT seguimiento_incompleto_1_anio), 0)
                        AS BIGINT) AS n_retencion,
                   CAST(sum(retenidos_1_anio) FILTER (WHERE NOT seguimiento_incompleto_1_anio) AS BIGINT)
                       AS retenidos_1_anio,
                   CAST(sum(total_aprobadas) AS DOUBLE)
                       / NULLIF(sum(total_aprobadas) + sum(total_reprobadas), 0) AS tasa_aprobacion,
                   CAST(COALESCE(sum(total_aprobadas), 0) AS BIGINT) AS aprobadas,
                   CAST(COALESCE(sum(total_reprobadas), 0) AS BIGINT) AS reprobadas,
                   sum(total_estudiantes) < ? AS grupo_pequeno
            FROM {COHORTES}
            WHERE TRUE {where}
            GROUP BY grupo
            ORDER BY grupo
            """,
            [UMBRAL_GRUPO_PEQUENO, *params],
            COLUMNAS_COMPARACION,
        )
