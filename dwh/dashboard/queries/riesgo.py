"""The students at risk now (gold.riesgo_actual: the model's predictions, else the heuristic) and the model's card."""

from __future__ import annotations

import duckdb
import pandas as pd

from dwh.dashboard.queries.filtros import Filtros, anio_elegido, clausulas
from dwh.dashboard.queries.riesgo_respaldo import base_sin_vista, usa_modelo
from dwh.dashboard.queries.sql import columnas, existe, frame, tipar, vacio
from dwh.dashboard.reglas import FUENTE_HEURISTICA, FUENTE_MODELO, NIVELES

COLUMNAS_RIESGO = (
    "alumno_key",
    "cohorte",
    "propuesta",
    "sede",
    "puntaje",
    "nivel",
    "razones",
    "anio_academico",
    "time_idx",
)
COLUMNAS_DISTRIBUCION = ("nivel", "estudiantes", "fuente")


def _vista_legible(cur: duckdb.DuckDBPyConnection) -> bool:
    """gold.riesgo_actual is there, has its columns and can be read (a view fails when a table it reads is gone)."""
    if not existe(cur, "gold", "riesgo_actual"):
        return False
    if not {*COLUMNAS_RIESGO, "fuente"} <= columnas(cur, "gold", "riesgo_actual"):
        return False
    try:
        cur.execute("SELECT * FROM gold.riesgo_actual LIMIT 0").fetchall()
    except duckdb.Error:
        return False
    return True


def _base(cur: duckdb.DuckDBPyConnection, f: Filtros, anio: int | None) -> tuple[str | None, list, str]:
    """(SQL of every student at risk now with COLUMNAS_RIESGO, filtered; its parameters; the source).

    SQL is None when there is nothing to read (no predictions and no risk mart, or no year).
    """
    if not _vista_legible(cur):
        return base_sin_vista(cur, f, anio)
    fila = cur.execute("SELECT any_value(fuente) FROM gold.riesgo_actual").fetchone()
    # an empty view still made its choice: predictions with no student in the risk set are the model's
    fuente = fila[0] if fila and fila[0] else (FUENTE_MODELO if usa_modelo(cur) else FUENTE_HEURISTICA)
    if fuente == FUENTE_HEURISTICA and anio is None:
        return None, [], fuente
    where, params = clausulas(f)
    # the model scores "now": the year applies to the heuristic's rows only
    sql = (
        f"SELECT {', '.join(COLUMNAS_RIESGO)} FROM gold.riesgo_actual WHERE (fuente = ? OR anio_academico = ?) {where}"
    )
    return sql, [FUENTE_MODELO, anio, *params], fuente


def conteo_riesgo(cur: duckdb.DuckDBPyConnection, f: Filtros, anio: int | None) -> tuple[dict | None, str]:
    """Students per level (the three, zeros included) and the source; None when there is nothing to read."""
    sql, params, fuente = _base(cur, f, anio)
    if sql is None:
        return None, fuente
    conteo = dict(cur.execute(f"SELECT nivel, count(*) FROM ({sql}) GROUP BY nivel", params).fetchall())
    return {n: int(conteo.get(n, 0)) for n in NIVELES}, fuente


def riesgo(con: duckdb.DuckDBPyConnection, f: Filtros, limite: int | None = 500) -> tuple[pd.DataFrame, str]:
    """The students at risk now, highest first, and the source of the score ('modelo' or 'heurística'),
    from gold.riesgo_actual (its SQL header states the rule).

    With a non-empty ml.predicciones table: each student's latest prediction (by scored_at), for the
    students still in the risk set (gold.gold_tft_inference_frame: not graduated, not away); puntaje is the
    probability; nivel 'alto' >= 0.5, 'medio' >= 0.2, else 'bajo'; the year filter does not apply.
    Otherwise the heuristic: risk_score_heuristic (0-11, a fixed rule, not a model) at the selected year
    (default: the latest complete year), for the students with academic activity in it who did not
    graduate in it; nivel 'alto' >= 6, 'medio' >= 3, else 'bajo'.

    Columns: alumno_key (pseudonymous), cohorte, propuesta, sede, puntaje, nivel, razones (the model's top
    three reasons with their signed weights in the model's units, '+' raising the risk; None for the heuristic
    or predictions without reasons), anio_academico (the year the score describes), time_idx (the semester
    the model scored; <NA> for the heuristic).
    Sorted by puntaje descending, then alumno_key; at most `limite` rows (None = all).
    """
    with con.cursor() as cur:
        sql, params, fuente = _base(cur, f, anio_elegido(cur, f))
        if sql is None:
            return vacio(COLUMNAS_RIESGO), fuente
        sql += " ORDER BY puntaje DESC, alumno_key"
        if limite is not None:
            sql += " LIMIT ?"
            params = [*params, max(int(limite), 0)]
        return frame(cur, sql, params, COLUMNAS_RIESGO), fuente


def distribucion_riesgo(con: duckdb.DuckDBPyConnection, f: Filtros) -> pd.DataFrame:
    """Students per risk level (same population and rules as riesgo, without the limit).

    Columns: nivel ('alto', 'medio', 'bajo', always the three, in that order, zeros included), estudiantes,
    fuente ('modelo' or 'heurística').
    """
    with con.cursor() as cur:
        conteo, fuente = conteo_riesgo(cur, f, anio_elegido(cur, f))
        conteo = conteo or {}
        return tipar(
            pd.DataFrame(
                {"nivel": list(NIVELES), "estudiantes": [conteo.get(n, 0) for n in NIVELES], "fuente": fuente}
            ),
            COLUMNAS_DISTRIBUCION,
        )


def horizonte_modelo(con: duckdb.DuckDBPyConnection) -> int | None:
    """The horizon (semesters) of the latest predictions' label, if the model is in use and says it."""
    with con.cursor() as cur:
        if not usa_modelo(cur) or "horizonte" not in columnas(cur, "ml", "predicciones"):
            return None
        fila = cur.execute(
            "SELECT horizonte FROM ml.predicciones WHERE probabilidad IS NOT NULL "
            "ORDER BY scored_at DESC NULLS LAST LIMIT 1"
        ).fetchone()
        return int(fila[0]) if fila and fila[0] is not None else None


def ficha_modelo(con: duckdb.DuckDBPyConnection) -> tuple[str, str] | None:
    """(run_id, Markdown) of the model card of the run whose predictions the risk list shows, if any."""
    with con.cursor() as cur:
        if not usa_modelo(cur) or not existe(cur, "ml", "fichas_modelo"):
            return None
        if "run_id" not in columnas(cur, "ml", "predicciones"):
            return None
        fila = cur.execute(
            """
            SELECT f.run_id, f.ficha
            FROM ml.fichas_modelo f
            JOIN (SELECT run_id FROM ml.predicciones WHERE probabilidad IS NOT NULL
                  ORDER BY scored_at DESC NULLS LAST LIMIT 1) p USING (run_id)
            """
        ).fetchone()
        return (fila[0], fila[1]) if fila else None
