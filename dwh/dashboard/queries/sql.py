"""Shared SQL helpers of the query layer: the connection, which tables exist, typed frames, the filterable relations."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from dwh import duck
from dwh.dashboard.reglas import SIN_DATO

# Every column's dtype in the frames the query layer returns (nullable where a value can be missing).
TIPOS: dict[str, str] = {
    "cohorte": "Int64",
    "estudiantes": "int64",
    "retenidos_1_anio": "Int64",
    "retenidos_2_anios": "Int64",
    "egresados": "int64",
    "tasa_retencion_1_anio": "float64",
    "tasa_retencion_2_anios": "float64",
    "seguimiento_incompleto_1_anio": "bool",
    "seguimiento_incompleto_2_anios": "bool",
    "grupo_pequeno": "bool",
    "grupo": "object",
    "n_retencion": "int64",
    "tasa_aprobacion": "float64",
    "aprobadas": "int64",
    "reprobadas": "int64",
    "alumno_key": "object",
    "propuesta": "object",
    "sede": "object",
    "puntaje": "float64",
    "nivel": "object",
    "razones": "object",
    "anio_academico": "Int64",
    "time_idx": "Int64",
    "fuente": "object",
    "cuatrimestre": "object",
    "estudiantes_activos": "int64",
    "examenes_con_resultado": "int64",
    "tasa_ausentismo": "float64",
    "promedio_notas": "float64",
    "estudiantes_con_notas": "int64",
    "asistencia_promedio": "float64",
    "estudiantes_con_asistencia": "int64",
    "moodle_eventos_por_estudiante": "float64",
    "run_id": "object",
    "status": "object",
    "error": "object",
    "message": "object",
    "layer": "object",
    "table_name": "object",
    "test": "object",
    "severity": "object",
    "source_db": "object",
    "seconds": "float64",
    "failing": "Int64",
    "antiguedad_dias": "Int64",
}


def conectar(path: str | Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published warehouse; FileNotFoundError when it is not there yet."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no warehouse at {path}: run python -m dwh.main")
    return duck.connect(str(path), read_only=True, stage="dashboard")


def existe(cur: duckdb.DuckDBPyConnection, schema: str, tabla: str) -> bool:
    """A table or view of the current database."""
    fila = cur.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ?",
        [schema, tabla],
    ).fetchone()
    return fila is not None and fila[0] > 0


def columnas(cur: duckdb.DuckDBPyConnection, schema: str, tabla: str) -> set[str]:
    return {
        r[0]
        for r in cur.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ?",
            [schema, tabla],
        ).fetchall()
    }


def tipar(df: pd.DataFrame, cols: tuple[str, ...]) -> pd.DataFrame:
    """The frame with exactly `cols`, in order, each with its documented dtype (nullable where needed)."""
    df = df.reindex(columns=list(cols))
    for c in cols:
        tipo = TIPOS.get(c)
        if tipo is None:
            continue
        if tipo == "object":
            df[c] = df[c].astype("object").where(df[c].notna(), None)
        elif tipo == "bool":
            df[c] = df[c].astype("boolean").fillna(False).astype("bool")
        elif tipo == "int64":
            df[c] = pd.to_numeric(df[c]).fillna(0).astype("int64")
        else:
            df[c] = pd.to_numeric(df[c]).astype(tipo)
    return df.reset_index(drop=True)


def vacio(cols: tuple[str, ...]) -> pd.DataFrame:
    """An empty frame with the columns and their dtypes."""
    return tipar(pd.DataFrame({c: pd.Series(dtype="object") for c in cols}), cols)


def frame(cur: duckdb.DuckDBPyConnection, sql: str, params: list, cols: tuple[str, ...]) -> pd.DataFrame:
    return tipar(cur.execute(sql, params).df(), cols)


def etiqueta(columna: str) -> str:
    """A mart's program or site name, SIN_DATO when missing."""
    return f"COALESCE(NULLIF(trim(CAST({columna} AS VARCHAR)), ''), '{SIN_DATO}')"


def etiqueta_tft(columna: str) -> str:
    """A TFT categorical (VARCHAR, 'DESCONOCIDO' for unknown) as the marts' name, SIN_DATO when unknown."""
    limpio = f"NULLIF(trim(CAST({columna} AS VARCHAR)), '')"
    return f"CASE WHEN {limpio} IS NULL OR {limpio} = 'DESCONOCIDO' THEN '{SIN_DATO}' ELSE {limpio} END"


# The filterable relations, each with integer `cohorte` and name columns `propuesta` and `sede`.
COHORTES = (
    f"(SELECT *, {etiqueta('propuesta_nombre')} AS propuesta, {etiqueta('sede_nombre')} AS sede "
    "FROM gold.mart_cohort_analysis)"
)
RIESGO_ANUAL = (
    f"(SELECT *, {etiqueta('propuesta_nombre')} AS propuesta, {etiqueta('sede_nombre')} AS sede "
    "FROM gold.mart_student_risk_features)"
)
CURVAS = (
    "(SELECT * EXCLUDE (cohorte, propuesta, sede), TRY_CAST(cohorte AS INTEGER) AS cohorte, "
    f"{etiqueta_tft('propuesta')} AS propuesta, {etiqueta_tft('sede')} AS sede "
    "FROM gold.mart_retencion_semestral)"
)
ESTATICO = (
    "(SELECT alumno_key, TRY_CAST(cohorte AS INTEGER) AS cohorte, "
    f"{etiqueta_tft('propuesta')} AS propuesta, {etiqueta_tft('sede')} AS sede "
    "FROM gold.gold_tft_static_features)"
)
