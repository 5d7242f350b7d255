"""The dashboard's query layer: every figure the app shows, from the published warehouse, as plain Python.

Every function takes an open DuckDB connection on the published copy (read-only) and returns plain
Python values or pandas DataFrames; the app does no SQL. Each function works on its own cursor of the
connection, so one connection can be shared by the app's callback threads.

Rules (they fix the earlier prototype's defects, D37 in the warehouse spec):
- Rates are ratios of sums (Σ numerator ÷ Σ denominator over the rows that match), never means of the
  groups' rates; every rate comes with its denominator so the app can show "n".
- Retention counts only cohorts whose follow-up is complete at the as-of date; a younger cohort is shown
  as incomplete (NULL rate), never as 0 % or 100 %.
- The default year of the year-based views is the latest *complete* academic year (not MAX(year), which
  is usually the running, partial one).
- Small groups (fewer than UMBRAL_GRUPO_PEQUENO students) are kept and flagged, never hidden.
- Which filters apply to which view is in FILTROS_APLICADOS (and NOTAS_FILTROS), for the app to show.
- A missing value is None in dicts and NaN / <NA> in frames; nothing is dropped silently. The helpers
  formato_porcentaje / formato_numero render any of them as "—" instead of raising.
- An empty warehouse, a missing table or a filter that matches nothing gives empty frames (with their
  columns) and None values, never an exception. Only a missing file raises (conectar).
- Values are bound as `?` parameters; the SQL text only ever contains this module's own identifiers.

Names (programs, sites) are the marts' `propuesta_nombre` / `sede_nombre`; a missing one is SIN_DATO
everywhere (the TFT tables' 'DESCONOCIDO' is mapped to it), so one filter value means the same in
every view. Programs with the same name in two sources are one program in the dashboard.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb
import pandas as pd

from dwh.ops.freshness import newest_on

UMBRAL_GRUPO_PEQUENO = 10
SIN_DATO = "sin dato"
NIVELES = ("alto", "medio", "bajo")
FUENTE_MODELO = "modelo"
FUENTE_HEURISTICA = "heurística"
# Model probability of dropping out (ml.predicciones.probabilidad).
UMBRALES_MODELO = {"alto": 0.5, "medio": 0.2}
# gold.mart_student_risk_features.risk_score_heuristic (0-11): a fixed rule, not a model, not a probability.
UMBRALES_HEURISTICA = {"alto": 6, "medio": 3}
ULTIMAS_EJECUCIONES = 20

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
NOTAS_FILTROS: dict[str, str] = {
    "resumen": "La retención es por cohorte de ingreso y no depende del año elegido; "
    "activos, abandono y riesgo se refieren al año elegido.",
    "retencion_por_cohorte": "Por cohorte de ingreso: el año elegido no se aplica.",
    "comparacion": "Por cohorte de ingreso: el año elegido no se aplica.",
    "riesgo": "Con el modelo, el riesgo es el de la última predicción de cada estudiante (el año elegido no se "
    "aplica); con la heurística, el del año elegido.",
    "distribucion_riesgo": "Igual que el listado de riesgo.",
    "rendimiento_por_semestre": "Serie de todos los cuatrimestres cerrados: el año elegido no se aplica.",
    "estado_datos": "Sin filtros: estado de todo el warehouse.",
}

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
COLUMNAS_RIESGO = (
    "student_key",
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
COLUMNAS_EJECUCIONES = ("run_id", "started_at", "status", "seconds", "error")
COLUMNAS_FRESCURA = ("source_db", "newest", "antiguedad_dias")
COLUMNAS_PRUEBAS = ("layer", "table_name", "test", "severity", "status", "failing", "checked_at", "run_id")
COLUMNAS_CAPAS = ("layer", "as_of", "started_at", "seconds", "status", "message")

_TIPOS: dict[str, str] = {
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
    "student_key": "object",
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


# --- helpers -----------------------------------------------------------------------------------------------


def conectar(path: str | Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published warehouse; FileNotFoundError when it is not there yet."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no warehouse at {path}: run python -m dwh.main")
    return duckdb.connect(str(path), read_only=True)


def es_nulo(valor: object) -> bool:
    """True for None, NaN, pandas' NA/NaT."""
    if valor is None:
        return True
    try:
        return bool(pd.isna(valor))
    except (TypeError, ValueError):
        return False


def formato_porcentaje(valor: float | None, decimales: int = 1, vacio: str = "—") -> str:
    """0.753 -> '75.3 %'; None / NaN / NA -> '—'."""
    if es_nulo(valor) or (isinstance(valor, float) and math.isinf(valor)):
        return vacio
    return f"{float(valor) * 100:.{decimales}f} %"


def formato_numero(valor: float | None, decimales: int = 0, vacio: str = "—") -> str:
    """1234.5 -> '1.234' (Argentine thousands separator); None / NaN / NA -> '—'."""
    if es_nulo(valor) or (isinstance(valor, float) and math.isinf(valor)):
        return vacio
    texto = f"{float(valor):,.{decimales}f}"
    return texto.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def anio_academico(dia: dt.date) -> int:
    """The academic year (March to February) containing a day."""
    return dia.year if dia.month >= 3 else dia.year - 1


def anio_completo(anio: int, as_of: dt.date) -> bool:
    """Academic year `anio` is over at the as-of date (it ends on the last day of February of anio + 1)."""
    return as_of >= dt.date(anio + 1, 3, 1)


def _etiqueta(columna: str) -> str:
    """A mart's program or site name, SIN_DATO when missing."""
    return f"COALESCE(NULLIF(trim(CAST({columna} AS VARCHAR)), ''), '{SIN_DATO}')"


def _etiqueta_tft(columna: str) -> str:
    """A TFT categorical (VARCHAR, 'DESCONOCIDO' for unknown) as the marts' name, SIN_DATO when unknown."""
    limpio = f"NULLIF(trim(CAST({columna} AS VARCHAR)), '')"
    return f"CASE WHEN {limpio} IS NULL OR {limpio} = 'DESCONOCIDO' THEN '{SIN_DATO}' ELSE {limpio} END"


# The filterable relations, each with integer `cohorte` and name columns `propuesta` and `sede`.
_COHORTES = (
    f"(SELECT *, {_etiqueta('propuesta_nombre')} AS propuesta, {_etiqueta('sede_nombre')} AS sede "
    "FROM gold.mart_cohort_analysis)"
)
_RIESGO_ANUAL = (
    f"(SELECT *, {_etiqueta('propuesta_nombre')} AS propuesta, {_etiqueta('sede_nombre')} AS sede "
    "FROM gold.mart_student_risk_features)"
)
_CURVAS = (
    "(SELECT * EXCLUDE (cohorte, propuesta, sede), TRY_CAST(cohorte AS INTEGER) AS cohorte, "
    f"{_etiqueta_tft('propuesta')} AS propuesta, {_etiqueta_tft('sede')} AS sede "
    "FROM gold.mart_retencion_semestral)"
)
_ESTATICO = (
    "(SELECT alumno_key, TRY_CAST(cohorte AS INTEGER) AS cohorte, "
    f"{_etiqueta_tft('propuesta')} AS propuesta, {_etiqueta_tft('sede')} AS sede "
    "FROM gold.gold_tft_static_features)"
)


def _filtros(f: Filtros, alias: str = "") -> tuple[str, list]:
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


def _existe(cur: duckdb.DuckDBPyConnection, schema: str, tabla: str) -> bool:
    """A table or view of the current database."""
    return (
        cur.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ?",
            [schema, tabla],
        ).fetchone()[0]
        > 0
    )


def _columnas(cur: duckdb.DuckDBPyConnection, schema: str, tabla: str) -> set[str]:
    return {
        r[0]
        for r in cur.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ?",
            [schema, tabla],
        ).fetchall()
    }


def _vacio(columnas: tuple[str, ...]) -> pd.DataFrame:
    return _tipar(pd.DataFrame({c: pd.Series(dtype="object") for c in columnas}), columnas)


def _tipar(df: pd.DataFrame, columnas: tuple[str, ...]) -> pd.DataFrame:
    """The frame with exactly `columnas`, in order, each with its documented dtype (nullable where needed)."""
    df = df.reindex(columns=list(columnas))
    for c in columnas:
        tipo = _TIPOS.get(c)
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


def _frame(cur: duckdb.DuckDBPyConnection, sql: str, params: list, columnas: tuple[str, ...]) -> pd.DataFrame:
    return _tipar(cur.execute(sql, params).df(), columnas)


def _as_of(cur: duckdb.DuckDBPyConnection) -> dt.date | None:
    """The as-of date of the gold layer in this file: the latest successful gold build's."""
    if not _existe(cur, "dwh_meta", "layer_runs"):
        return None
    fila = cur.execute(
        "SELECT as_of FROM dwh_meta.layer_runs WHERE layer = 'gold' AND status = 'ok' ORDER BY started_at DESC LIMIT 1"
    ).fetchone()
    return fila[0] if fila else None


def _anios(cur: duckdb.DuckDBPyConnection) -> list[int]:
    for tabla in ("mart_student_risk_features", "mart_student_academic_summary"):
        if _existe(cur, "gold", tabla):
            return [
                r[0]
                for r in cur.execute(
                    f"SELECT DISTINCT anio_academico FROM gold.{tabla} WHERE anio_academico IS NOT NULL ORDER BY 1"
                ).fetchall()
            ]
    return []


def _anio_defecto(cur: duckdb.DuckDBPyConnection, as_of: dt.date | None, anios: list[int]) -> int | None:
    """The latest academic year complete at the as-of date (never the running one)."""
    if as_of is not None:
        completos = [a for a in anios if anio_completo(a, as_of)]
        return max(completos) if completos else anio_academico(as_of) - 1
    # No build record: the marts' own anio_cerrado says the same thing.
    if _existe(cur, "gold", "mart_student_academic_summary"):
        return cur.execute(
            "SELECT max(anio_academico) FROM gold.mart_student_academic_summary WHERE anio_cerrado"
        ).fetchone()[0]
    return None


def _anio(cur: duckdb.DuckDBPyConnection, f: Filtros) -> int | None:
    if f.anio is not None:
        return f.anio
    return _anio_defecto(cur, _as_of(cur), _anios(cur))


# --- filter options ----------------------------------------------------------------------------------------


def opciones(con: duckdb.DuckDBPyConnection) -> dict:
    """The filters' choices and the dates that frame them.

    Keys: cohortes (sorted ints), propuestas, sedes (sorted names, SIN_DATO included when present), anios
    (sorted academic years of the year-based views), anio_defecto (latest academic year complete at the
    as-of date), anio_en_curso (the academic year containing the as-of date), as_of (the date the gold
    layer describes: the latest successful gold build's as-of date; None when there is no build record).
    """
    with con.cursor() as cur:
        as_of = _as_of(cur)
        cohortes: list[int] = []
        propuestas: list[str] = []
        sedes: list[str] = []
        if _existe(cur, "gold", "mart_cohort_analysis"):
            cohortes = [
                r[0]
                for r in cur.execute(
                    f"SELECT DISTINCT cohorte FROM {_COHORTES} WHERE cohorte IS NOT NULL ORDER BY 1"
                ).fetchall()
            ]
            propuestas = [
                r[0] for r in cur.execute(f"SELECT DISTINCT propuesta FROM {_COHORTES} ORDER BY 1").fetchall()
            ]
            sedes = [r[0] for r in cur.execute(f"SELECT DISTINCT sede FROM {_COHORTES} ORDER BY 1").fetchall()]
        anios = _anios(cur)
        if as_of is not None:
            en_curso = anio_academico(as_of)
        else:
            en_curso = max(anios) if anios else None
        return {
            "cohortes": cohortes,
            "propuestas": propuestas,
            "sedes": sedes,
            "anios": anios,
            "anio_defecto": _anio_defecto(cur, as_of, anios),
            "anio_en_curso": en_curso,
            "as_of": as_of,
        }


# --- header KPIs -------------------------------------------------------------------------------------------


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
    if not _existe(cur, "gold", "mart_cohort_analysis"):
        return out
    where, params = _filtros(f)
    total, n1, r1, n2, r2 = cur.execute(
        f"""
        SELECT CAST(sum(total_estudiantes) AS BIGINT),
               CAST(sum(total_estudiantes) FILTER (WHERE NOT seguimiento_incompleto_1_anio) AS BIGINT),
               CAST(sum(retenidos_1_anio) FILTER (WHERE NOT seguimiento_incompleto_1_anio) AS BIGINT),
               CAST(sum(total_estudiantes) FILTER (WHERE NOT seguimiento_incompleto_2_anios) AS BIGINT),
               CAST(sum(retenidos_2_anios) FILTER (WHERE NOT seguimiento_incompleto_2_anios) AS BIGINT)
        FROM {_COHORTES} WHERE TRUE {where}
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
        as_of = _as_of(cur)
        anio = f.anio if f.anio is not None else _anio_defecto(cur, as_of, _anios(cur))
        out: dict = {"anio": anio, "as_of": as_of}
        activos = abandonos = n_abandono = None
        if anio is not None and _existe(cur, "gold", "mart_student_risk_features"):
            where, params = _filtros(f)
            activos, n_abandono, abandonos = cur.execute(
                f"""
                SELECT count(*),
                       count(abandono_anio_siguiente),
                       CAST(COALESCE(sum(abandono_anio_siguiente), 0) AS BIGINT)
                FROM {_RIESGO_ANUAL}
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
        conteo, fuente = _conteo_riesgo(cur, f, anio)
        out["estudiantes_en_riesgo"] = None if conteo is None else conteo["alto"]
        out["estudiantes_riesgo_medio"] = None if conteo is None else conteo["medio"]
        out["fuente_riesgo"] = fuente
        return out


# --- retention ---------------------------------------------------------------------------------------------


COLUMNAS_CURVAS = ("cohorte", "semestres_desde_ingreso", "estudiantes", "activos", "tasa_activos", "completo")


def curvas_retencion(con: duckdb.DuckDBPyConnection, f: Filtros) -> pd.DataFrame:
    """Share of each cohort still active k semesters after entry, summed over the matching
    gold.mart_retencion_semestral rows (the rule is in its SQL header). `completo` is False while some
    of the cohort's semester k can still gain records. The year filter does not apply."""
    with con.cursor() as cur:
        if not _existe(cur, "gold", "mart_retencion_semestral"):
            return _vacio(COLUMNAS_CURVAS)
        where, params = _filtros(f)
        return _frame(
            cur,
            f"""
            SELECT cohorte, semestres_desde_ingreso,
                   CAST(sum(estudiantes) AS BIGINT) AS estudiantes,
                   CAST(sum(activos) AS BIGINT) AS activos,
                   sum(activos) / sum(estudiantes) AS tasa_activos,
                   bool_and(completo) AS completo
            FROM {_CURVAS}
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
        if not _existe(cur, "gold", "mart_cohort_analysis"):
            return _vacio(COLUMNAS_RETENCION)
        where, params = _filtros(f)
        return _frame(
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
            FROM {_COHORTES}
            WHERE TRUE {where}
            GROUP BY cohorte
            ORDER BY cohorte
            """,
            [UMBRAL_GRUPO_PEQUENO, *params],
            COLUMNAS_RETENCION,
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
        if not _existe(cur, "gold", "mart_cohort_analysis"):
            return _vacio(COLUMNAS_COMPARACION)
        where, params = _filtros(f)
        return _frame(
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
            FROM {_COHORTES}
            WHERE TRUE {where}
            GROUP BY grupo
            ORDER BY grupo
            """,
            [UMBRAL_GRUPO_PEQUENO, *params],
            COLUMNAS_COMPARACION,
        )


# --- risk --------------------------------------------------------------------------------------------------


def _usa_modelo(cur: duckdb.DuckDBPyConnection) -> bool:
    """The ML module's predictions are there (and not empty)."""
    if not _existe(cur, "ml", "predicciones"):
        return False
    if not {"alumno_key", "time_idx", "probabilidad", "scored_at"} <= _columnas(cur, "ml", "predicciones"):
        return False
    return cur.execute("SELECT count(*) FROM ml.predicciones WHERE probabilidad IS NOT NULL").fetchone()[0] > 0


def _riesgo_base(cur: duckdb.DuckDBPyConnection, f: Filtros, anio: int | None) -> tuple[str | None, list, str]:
    """(SQL of every student at risk now with COLUMNAS_RIESGO, filtered; its parameters; the source).

    SQL is None when there is nothing to read (no predictions and no risk mart, or no year).
    """
    if _usa_modelo(cur):
        # Without the TFT tables, stand-ins with no rows: the students then show without cohort or year.
        estatico = (
            _ESTATICO
            if _existe(cur, "gold", "gold_tft_static_features")
            else "(SELECT NULL::VARCHAR AS alumno_key, NULL::INTEGER AS cohorte, NULL::VARCHAR AS propuesta, "
            "NULL::VARCHAR AS sede WHERE FALSE)"
        )
        calendario = (
            "gold.gold_tft_known_future"
            if _existe(cur, "gold", "gold_tft_known_future")
            else "(SELECT NULL::INTEGER AS time_idx, NULL::INTEGER AS anio_academico WHERE FALSE)"
        )
        # Only students still in the risk set at the last closed semester (not graduated, not gone).
        en_riesgo = (
            "AND u.alumno_key IN (SELECT alumno_key FROM gold.gold_tft_inference_frame)"
            if _existe(cur, "gold", "gold_tft_inference_frame")
            else ""
        )
        columnas = _columnas(cur, "ml", "predicciones")
        # the model's top three reasons, each with its signed weight (+ raises the risk); older tables have none
        razones = (
            "concat_ws('; ', "
            + ", ".join(
                f"CASE WHEN u.razon_{k} IS NOT NULL THEN u.razon_{k} || ' (' || "
                f"CASE WHEN u.peso_{k} >= 0 THEN '+' ELSE '−' END || printf('%.2f', abs(u.peso_{k})) || ')' END"
                for k in (1, 2, 3)
            )
            + ")"
            if {"razon_1", "peso_1", "razon_3", "peso_3"} <= columnas
            else "CAST(NULL AS VARCHAR)"
        )
        extra = ", razon_1, peso_1, razon_2, peso_2, razon_3, peso_3" if "razon_1" in columnas else ""
        base = f"""
            WITH ultima AS (
                SELECT alumno_key, time_idx, probabilidad{extra}
                FROM ml.predicciones
                WHERE probabilidad IS NOT NULL AND NOT isnan(probabilidad)
                QUALIFY row_number() OVER (PARTITION BY alumno_key ORDER BY scored_at DESC NULLS LAST,
                                                                      time_idx DESC NULLS LAST) = 1
            )
            SELECT u.alumno_key AS student_key,
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
        if anio is None or not _existe(cur, "gold", "mart_student_risk_features"):
            return None, [], fuente
        egreso = (
            "AND NOT EXISTS (SELECT 1 FROM gold.mart_student_academic_summary a WHERE a.student_key = r.student_key "
            "AND a.anio_academico = r.anio_academico AND a.es_anio_egreso)"
            if _existe(cur, "gold", "mart_student_academic_summary")
            else ""
        )
        # Students active in the year (an inscription, a result or a reinscription) who did not graduate in it.
        base = f"""
            SELECT r.student_key, r.cohorte, r.propuesta, r.sede,
                   CAST(r.risk_score_heuristic AS DOUBLE) AS puntaje,
                   CASE WHEN r.risk_score_heuristic >= ? THEN 'alto'
                        WHEN r.risk_score_heuristic >= ? THEN 'medio' ELSE 'bajo' END AS nivel,
                   CAST(NULL AS VARCHAR) AS razones,
                   r.anio_academico,
                   CAST(NULL AS INTEGER) AS time_idx
            FROM {_RIESGO_ANUAL} r
            WHERE r.anio_academico = ? AND r.actividad_academica {egreso}
        """
        params = [UMBRALES_HEURISTICA["alto"], UMBRALES_HEURISTICA["medio"], anio]
    where, filtro_params = _filtros(f)
    return f"SELECT * FROM ({base}) WHERE TRUE {where}", params + filtro_params, fuente


def _conteo_riesgo(cur: duckdb.DuckDBPyConnection, f: Filtros, anio: int | None) -> tuple[dict | None, str]:
    sql, params, fuente = _riesgo_base(cur, f, anio)
    if sql is None:
        return None, fuente
    conteo = dict(cur.execute(f"SELECT nivel, count(*) FROM ({sql}) GROUP BY nivel", params).fetchall())
    return {n: int(conteo.get(n, 0)) for n in NIVELES}, fuente


def riesgo(con: duckdb.DuckDBPyConnection, f: Filtros, limite: int | None = 500) -> tuple[pd.DataFrame, str]:
    """The students at risk now, highest first, and the source of the score ('modelo' or 'heurística').

    With a non-empty ml.predicciones table: each student's latest prediction (by scored_at), for the
    students still in the risk set (gold.gold_tft_inference_frame: not graduated, not away); puntaje is the
    probability; nivel 'alto' >= 0.5, 'medio' >= 0.2, else 'bajo'; the year filter does not apply.
    Otherwise the heuristic: risk_score_heuristic (0-11, a fixed rule, not a model) at the selected year
    (default: the latest complete year), for the students with academic activity in it who did not
    graduate in it; nivel 'alto' >= 6, 'medio' >= 3, else 'bajo'.

    Columns: student_key (pseudonymous), cohorte, propuesta, sede, puntaje, nivel, razones (the model's top
    three reasons with their signed weights in the model's units, '+' raising the risk; None for the heuristic
    or predictions without reasons), anio_academico (the year the score describes), time_idx (the semester
    the model scored; <NA> for the heuristic).
    Sorted by puntaje descending, then student_key; at most `limite` rows (None = all).
    """
    with con.cursor() as cur:
        sql, params, fuente = _riesgo_base(cur, f, _anio(cur, f))
        if sql is None:
            return _vacio(COLUMNAS_RIESGO), fuente
        sql += " ORDER BY puntaje DESC, student_key"
        if limite is not None:
            sql += " LIMIT ?"
            params = [*params, max(int(limite), 0)]
        return _frame(cur, sql, params, COLUMNAS_RIESGO), fuente


def horizonte_modelo(con: duckdb.DuckDBPyConnection) -> int | None:
    """The horizon (semesters) of the latest predictions' label, if the model is in use and says it."""
    with con.cursor() as cur:
        if not _usa_modelo(cur) or "horizonte" not in _columnas(cur, "ml", "predicciones"):
            return None
        fila = cur.execute(
            "SELECT horizonte FROM ml.predicciones WHERE probabilidad IS NOT NULL "
            "ORDER BY scored_at DESC NULLS LAST LIMIT 1"
        ).fetchone()
        return int(fila[0]) if fila and fila[0] is not None else None


def ficha_modelo(con: duckdb.DuckDBPyConnection) -> tuple[str, str] | None:
    """(run_id, Markdown) of the model card of the run whose predictions the risk list shows, if any."""
    with con.cursor() as cur:
        if not _usa_modelo(cur) or not _existe(cur, "ml", "fichas_modelo"):
            return None
        if "run_id" not in _columnas(cur, "ml", "predicciones"):
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


def distribucion_riesgo(con: duckdb.DuckDBPyConnection, f: Filtros) -> pd.DataFrame:
    """Students per risk level (same population and rules as riesgo, without the limit).

    Columns: nivel ('alto', 'medio', 'bajo', always the three, in that order, zeros included), estudiantes,
    fuente ('modelo' or 'heurística').
    """
    with con.cursor() as cur:
        conteo, fuente = _conteo_riesgo(cur, f, _anio(cur, f))
        conteo = conteo or {}
        return _tipar(
            pd.DataFrame(
                {"nivel": list(NIVELES), "estudiantes": [conteo.get(n, 0) for n in NIVELES], "fuente": fuente}
            ),
            COLUMNAS_DISTRIBUCION,
        )


# --- academic performance per semester ---------------------------------------------------------------------


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
            _existe(cur, "gold", t)
            for t in ("gold_tft_temporal_features", "gold_tft_static_features", "gold_tft_known_future")
        ):
            return _vacio(COLUMNAS_RENDIMIENTO)
        where, params = _filtros(f, "s")
        return _frame(
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
            JOIN {_ESTATICO} s ON s.alumno_key = t.alumno_key
            JOIN gold.gold_tft_known_future k ON k.time_idx = t.time_idx
            WHERE TRUE {where}
            GROUP BY k.anio_academico, k.cuatrimestre, t.time_idx
            ORDER BY t.time_idx
            """,
            params,
            COLUMNAS_RENDIMIENTO,
        )


# --- data status -------------------------------------------------------------------------------------------


def _frescura(cur: duckdb.DuckDBPyConnection, hoy: dt.date) -> pd.DataFrame:
    """Per source, the newest event in bronze (dwh.ops.freshness) and its age in days."""
    newest = newest_on(cur)
    if not newest:
        return _vacio(COLUMNAS_FRESCURA)
    df = pd.DataFrame(
        [(source, day, (hoy - day).days) for source, day in sorted(newest.items())], columns=list(COLUMNAS_FRESCURA)
    )
    df = _tipar(df, COLUMNAS_FRESCURA)
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
        if _existe(cur, "dwh_meta", "run_log"):
            out["ejecuciones"] = _frame(
                cur,
                "SELECT run_id, started_at, status, seconds, error FROM dwh_meta.run_log WHERE step = 'run' "
                "ORDER BY started_at DESC LIMIT ?",
                [ULTIMAS_EJECUCIONES],
                COLUMNAS_EJECUCIONES,
            )
        else:
            out["ejecuciones"] = _vacio(COLUMNAS_EJECUCIONES)
        out["frescura"] = _frescura(cur, hoy)
        if _existe(cur, "dwh_meta", "data_test_results"):
            out["pruebas"] = _frame(
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
            out["pruebas"] = _vacio(COLUMNAS_PRUEBAS)
        if _existe(cur, "dwh_meta", "layer_runs"):
            out["capas"] = _frame(
                cur,
                "SELECT layer, as_of, started_at, seconds, status, message FROM dwh_meta.layer_runs "
                "QUALIFY row_number() OVER (PARTITION BY layer ORDER BY started_at DESC) = 1 ORDER BY layer",
                [],
                COLUMNAS_CAPAS,
            )
        else:
            out["capas"] = _vacio(COLUMNAS_CAPAS)
        return out


__all__ = [
    "COLUMNAS_COMPARACION",
    "COLUMNAS_DISTRIBUCION",
    "COLUMNAS_RENDIMIENTO",
    "COLUMNAS_RETENCION",
    "COLUMNAS_RIESGO",
    "FILTROS_APLICADOS",
    "FUENTE_HEURISTICA",
    "FUENTE_MODELO",
    "NIVELES",
    "NOTAS_FILTROS",
    "SIN_DATO",
    "UMBRAL_GRUPO_PEQUENO",
    "UMBRALES_HEURISTICA",
    "UMBRALES_MODELO",
    "Filtros",
    "anio_academico",
    "anio_completo",
    "comparacion",
    "conectar",
    "curvas_retencion",
    "distribucion_riesgo",
    "es_nulo",
    "estado_datos",
    "formato_numero",
    "formato_porcentaje",
    "horizonte_modelo",
    "opciones",
    "rendimiento_por_semestre",
    "resumen",
    "retencion_por_cohorte",
    "riesgo",
]
