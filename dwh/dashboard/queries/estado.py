"""The warehouse's health for the data-status page: runs, freshness per source, data tests, layer builds."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from dwh.dashboard.formato import es_nulo
from dwh.dashboard.queries.sql import existe, frame, tipar, vacio
from dwh.ops.freshness import newest_on

ULTIMAS_EJECUCIONES = 20
COLUMNAS_EJECUCIONES = ("run_id", "started_at", "status", "seconds", "error")
COLUMNAS_FRESCURA = ("source_db", "newest", "antiguedad_dias")
COLUMNAS_PRUEBAS = ("layer", "table_name", "test", "severity", "status", "failing", "checked_at", "run_id")
COLUMNAS_CAPAS = ("layer", "as_of", "started_at", "seconds", "status", "message")


def _frescura(cur: duckdb.DuckDBPyConnection, hoy: dt.date) -> pd.DataFrame:
    """Per source, the newest event in bronze (dwh.ops.freshness) and its age in days."""
    newest = newest_on(cur)
    if not newest:
        return vacio(COLUMNAS_FRESCURA)
    df = pd.DataFrame(
        [(source, day, (hoy - day).days) for source, day in sorted(newest.items())], columns=list(COLUMNAS_FRESCURA)
    )
    df = tipar(df, COLUMNAS_FRESCURA)
    df["newest"] = pd.Series([None if es_nulo(v) else pd.Timestamp(v).date() for v in df["newest"]], dtype="object")
    return df


def estado_datos(con: duckdb.DuckDBPyConnection, hoy: dt.date | None = None) -> dict[str, pd.DataFrame]:
    """The warehouse's health, for the data-status page. Missing tables give empty frames.

    - ejecuciones: the last 20 runs (dwh_meta.run_log, step 'run'), newest first:
      run_id, started_at, status, seconds, error;
    - frescura: per source_db, the newest event loaded into bronze (as dwh.ops.freshness): source_db,
      newest (date), antiguedad_dias (days from newest to `hoy`, default today);
    - pruebas: the data tests of each layer's latest build (failures first): layer, table_name, test,
      severity, status, failing, checked_at, run_id;
    - capas: each layer's latest build: layer, as_of, started_at, seconds, status, message.
    """
    hoy = hoy or dt.date.today()
    with con.cursor() as cur:
        out: dict[str, pd.DataFrame] = {}
        if existe(cur, "dwh_meta", "run_log"):
            out["ejecuciones"] = frame(
                cur,
                "SELECT run_id, started_at, status, seconds, error FROM dwh_meta.run_log WHERE step = 'run' "
                "ORDER BY started_at DESC LIMIT ?",
                [ULTIMAS_EJECUCIONES],
                COLUMNAS_EJECUCIONES,
            )
        else:
            out["ejecuciones"] = vacio(COLUMNAS_EJECUCIONES)
        out["frescura"] = _frescura(cur, hoy)
        if existe(cur, "dwh_meta", "data_test_results"):
            out["pruebas"] = frame(
                cur,
                """
                SELECT layer, table_name, test, severity, status, failing, checked_at, run_id
                FROM dwh_meta.data_test_results
                WHERE (layer, checked_at) IN (SELECT layer, max(checked_at) FROM dwh_meta.data_test_results
                                              GROUP BY layer)
                ORDER BY layer, CASE status WHEN 'fail' THEN 0 WHEN 'warn' THEN 1 ELSE 2 END, table_name, test
                """,
                [],
                COLUMNAS_PRUEBAS,
            )
        else:
            out["pruebas"] = vacio(COLUMNAS_PRUEBAS)
        if existe(cur, "dwh_meta", "layer_runs"):
            out["capas"] = frame(
                cur,
                "SELECT layer, as_of, started_at, seconds, status, message FROM dwh_meta.layer_runs "
                "QUALIFY row_number() OVER (PARTITION BY layer ORDER BY started_at DESC) = 1 ORDER BY layer",
                [],
                COLUMNAS_CAPAS,
            )
        else:
            out["capas"] = vacio(COLUMNAS_CAPAS)
        return out
