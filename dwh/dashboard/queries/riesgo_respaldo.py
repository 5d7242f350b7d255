"""The current-risk rule for files without a readable gold.riesgo_actual, from the tables that are there."""

from __future__ import annotations

import duckdb

from dwh.dashboard.queries.filtros import Filtros, clausulas
from dwh.dashboard.queries.sql import ESTATICO, RIESGO_ANUAL, columnas, existe
from dwh.dashboard.reglas import FUENTE_HEURISTICA, FUENTE_MODELO, SIN_DATO, UMBRALES_HEURISTICA, UMBRALES_MODELO


def usa_modelo(cur: duckdb.DuckDBPyConnection) -> bool:
    """The ML module's predictions are there (and not empty)."""
    if not existe(cur, "ml", "predicciones"):
        return False
    if not {"alumno_key", "time_idx", "probabilidad", "scored_at"} <= columnas(cur, "ml", "predicciones"):
        return False
    return cur.execute("SELECT count(*) FROM ml.predicciones WHERE probabilidad IS NOT NULL").fetchone()[0] > 0


def base_sin_vista(cur: duckdb.DuckDBPyConnection, f: Filtros, anio: int | None) -> tuple[str | None, list, str]:
    """(SQL of every student at risk now with COLUMNAS_RIESGO, filtered; its parameters; the source), for a
    file without a readable gold.riesgo_actual (published before the view, or missing a table it reads): the
    view's rule, built from the tables that are there.

    SQL is None when there is nothing to read (no predictions and no risk mart, or no year).
    """
    if usa_modelo(cur):
        # Without the TFT tables, stand-ins with no rows: the students then show without cohort or year.
        estatico = (
            ESTATICO
            if existe(cur, "gold", "gold_tft_static_features")
            else "(SELECT NULL::VARCHAR AS alumno_key, NULL::INTEGER AS cohorte, NULL::VARCHAR AS propuesta, "
            "NULL::VARCHAR AS sede WHERE FALSE)"
        )
        calendario = (
            "gold.gold_tft_known_future"
            if existe(cur, "gold", "gold_tft_known_future")
            else "(SELECT NULL::INTEGER AS time_idx, NULL::INTEGER AS anio_academico WHERE FALSE)"
        )
        # Only students still in the risk set at the last closed semester (not graduated, not gone).
        en_riesgo = (
            "AND u.alumno_key IN (SELECT alumno_key FROM gold.gold_tft_inference_frame)"
            if existe(cur, "gold", "gold_tft_inference_frame")
            else ""
        )
        presentes = columnas(cur, "ml", "predicciones")
        # the model's top three reasons, each with its signed weight (+ raises the risk); older tables have none
        razones = (
            "concat_ws('; ', "
            + ", ".join(
                f"CASE WHEN u.razon_{k} IS NOT NULL THEN u.razon_{k} || ' (' || "
                f"CASE WHEN u.peso_{k} >= 0 THEN '+' ELSE '−' END || printf('%.2f', abs(u.peso_{k})) || ')' END"
                for k in (1, 2, 3)
            )
            + ")"
            if {"razon_1", "peso_1", "razon_3", "peso_3"} <= presentes
            else "CAST(NULL AS VARCHAR)"
        )
        extra = ", razon_1, peso_1, razon_2, peso_2, razon_3, peso_3" if "razon_1" in presentes else ""
        base = f"""
            WITH ultima AS (
                SELECT alumno_key, time_idx, probabilidad{extra}
                FROM ml.predicciones
                WHERE probabilidad IS NOT NULL AND NOT isnan(probabilidad)
                QUALIFY row_number() OVER (PARTITION BY alumno_key ORDER BY scored_at DESC NULLS LAST,
                                                                      time_idx DESC NULLS LAST) = 1
            )
            SELECT u.alumno_key AS alumno_key,
                   s.cohorte,
                   COALESCE(s.propuesta, '{SIN_DATO}') AS propuesta,
                   COALESCE(s.sede, '{SIN_DATO}') AS sede,
                   CAST(u.probabilidad AS DOUBLE) AS puntaje,
                   CASE WHEN u.probabilidad >= ? THEN 'alto' WHEN u.probabilidad >= ? THEN 'medio' ELSE 'bajo' END
                       AS nivel,
                   NULLIF({razones}, '') AS razones,
                   k.anio_academico,
                   CAST(u.time_idx AS INTEGER) AS time_idx
            FROM ultima u
            LEFT JOIN {estatico} s ON s.alumno_key = u.alumno_key
            LEFT JOIN {calendario} k ON k.time_idx = u.time_idx
            WHERE TRUE {en_riesgo}
        """
        params: list = [UMBRALES_MODELO["alto"], UMBRALES_MODELO["medio"]]
        fuente = FUENTE_MODELO
    else:
        fuente = FUENTE_HEURISTICA
        if anio is None or not existe(cur, "gold", "mart_student_risk_features"):
            return None, [], fuente
        egreso = (
            "AND NOT EXISTS (SELECT 1 FROM gold.mart_student_academic_summary a WHERE a.alumno_key = r.alumno_key "
            "AND a.anio_academico = r.anio_academico AND a.es_anio_egreso)"
            if existe(cur, "gold", "mart_student_academic_summary")
            else ""
        )
        # Students active in the year (an inscription, a result or a reinscription) who did not graduate in it.
        base = f"""
            SELECT r.alumno_key, r.cohorte, r.propuesta, r.sede,
                   CAST(r.risk_score_heuristic AS DOUBLE) AS puntaje,
                   CASE WHEN r.risk_score_heuristic >= ? THEN 'alto'
                        WHEN r.risk_score_heuristic >= ? THEN 'medio' ELSE 'bajo' END AS nivel,
                   CAST(NULL AS VARCHAR) AS razones,
                   r.anio_academico,
                   CAST(NULL AS INTEGER) AS time_idx
            FROM {RIESGO_ANUAL} r
            WHERE r.anio_academico = ? AND r.actividad_academica {egreso}
        """
        params = [UMBRALES_HEURISTICA["alto"], UMBRALES_HEURISTICA["medio"], anio]
    where, filtro_params = clausulas(f)
    return f"SELECT * FROM ({base}) WHERE TRUE {where}", params + filtro_params, fuente
