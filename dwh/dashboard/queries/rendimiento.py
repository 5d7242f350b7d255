"""Academic performance per closed semester, from the TFT student x semester spine."""

from __future__ import annotations

import duckdb
import pandas as pd

from dwh.dashboard.queries.filtros import Filtros, clausulas
from dwh.dashboard.queries.sql import ESTATICO, existe, frame, vacio

COLUMNAS_RENDIMIENTO = (
    "anio_academico",
    "cuatrimestre",
    "time_idx",
    "estudiantes",
    "estudiantes_activos",
    "examenes_con_resultado",
    "tasa_aprobacion",
    "tasa_ausentismo",
    "promedio_notas",
    "estudiantes_con_notas",
    "asistencia_promedio",
    "estudiantes_con_asistencia",
    "moodle_eventos_por_estudiante",
)


def rendimiento_por_semestre(con: duckdb.DuckDBPyConnection, f: Filtros) -> pd.DataFrame:
    """One row per closed semester (cuatrimestre), from the TFT student x semester spine.

    Students are those on the spine in the semester (entered, not graduated before it; inactive students
    are counted). Columns: anio_academico, cuatrimestre ('1' March-July, '2' August-February), time_idx,
    estudiantes, estudiantes_activos (academic activity in the semester), examenes_con_resultado,
    tasa_aprobacion (Σ approved ÷ Σ(approved + failed + absent) exam results), tasa_ausentismo (Σ absent ÷
    the same), promedio_notas (mean over the students with grades of their semester average: gold has
    no grade count per semester, so each student weighs the same, not each grade), estudiantes_con_notas,
    asistencia_promedio (mean Guaraní attendance % over the students with attendance records),
    estudiantes_con_asistencia, moodle_eventos_por_estudiante (Σ Moodle events ÷ estudiantes).
    Rates are NaN when their denominator is 0. The year filter does not apply.
    """
    with con.cursor() as cur:
        if not all(
            existe(cur, "gold", t)
            for t in ("gold_tft_temporal_features", "gold_tft_static_features", "gold_tft_known_future")
        ):
            return vacio(COLUMNAS_RENDIMIENTO)
        where, params = clausulas(f, "s")
        return frame(
            cur,
            f"""
            SELECT k.anio_academico, k.cuatrimestre, t.time_idx,
                   count(*) AS estudiantes,
                   count(*) FILTER (WHERE t.activo = '1') AS estudiantes_activos,
                   CAST(sum(t.examenes_aprobados + t.examenes_reprobados + t.examenes_ausentes) AS BIGINT)
                       AS examenes_con_resultado,
                   sum(t.examenes_aprobados)
                       / NULLIF(sum(t.examenes_aprobados + t.examenes_reprobados + t.examenes_ausentes), 0)
                       AS tasa_aprobacion,
                   sum(t.examenes_ausentes)
                       / NULLIF(sum(t.examenes_aprobados + t.examenes_reprobados + t.examenes_ausentes), 0)
                       AS tasa_ausentismo,
                   avg(t.promedio_notas) FILTER (WHERE t.promedio_notas_missing = '0') AS promedio_notas,
                   count(*) FILTER (WHERE t.promedio_notas_missing = '0') AS estudiantes_con_notas,
                   avg(t.asistencia_guarani) FILTER (WHERE t.asistencia_guarani_missing = '0')
                       AS asistencia_promedio,
                   count(*) FILTER (WHERE t.asistencia_guarani_missing = '0') AS estudiantes_con_asistencia,
                   sum(t.moodle_eventos) / count(*) AS moodle_eventos_por_estudiante
            FROM gold.gold_tft_temporal_features t
            JOIN {ESTATICO} s ON s.alumno_key = t.alumno_key
            JOIN gold.gold_tft_known_future k ON k.time_idx = t.time_idx
            WHERE TRUE {where}
            GROUP BY k.anio_academico, k.cuatrimestre, t.time_idx
            ORDER BY t.time_idx
            """,
            params,
            COLUMNAS_RENDIMIENTO,
        )
