"""The dashboard's query layer: every figure the app shows, from the published warehouse, as plain Python.

Every function takes an open DuckDB connection on the published copy (read-only) and returns plain
Python values or pandas DataFrames; the app does no SQL. Each function works on its own cursor of the
connection, so one connection can be shared by the app's callback threads. One module per view (resumen,
cohortes, comparacion, riesgo, rendimiento, estado), the filters in `filtros`, the SQL helpers in `sql`.

Rules (they fix the earlier prototype's defects, D37 in the warehouse spec):
- Rates are ratios of sums (Σ numerator ÷ Σ denominator over the rows that match), never means of the
  groups' rates; every rate comes with its denominator so the app can show "n".
- Retention counts only cohorts whose follow-up is complete at the as-of date; a younger cohort is shown
  as incomplete (NULL rate), never as 0 % or 100 %.
- The default year of the year-based views is the latest *complete* academic year (not MAX(year), which
  is usually the running, partial one).
- Small groups (fewer than UMBRAL_GRUPO_PEQUENO students) are kept and flagged, never hidden.
- Which filters apply to which view is in FILTROS_APLICADOS (and textos.NOTAS_FILTROS), for the app to show.
- A missing value is None in dicts and NaN / <NA> in frames; nothing is dropped silently. The helpers
  formato_porcentaje / formato_numero (dwh.dashboard.formato) render any of them as "—" instead of raising.
- An empty warehouse, a missing table or a filter that matches nothing gives empty frames (with their
  columns) and None values, never an exception. Only a missing file raises (conectar).
- Values are bound as `?` parameters; the SQL text only ever contains this package's own identifiers.
- Who is at risk now, and by which score, is gold.riesgo_actual's rule (its SQL header).

Names (programs, sites) are the marts' `propuesta_nombre` / `sede_nombre`; a missing one is SIN_DATO
everywhere (the TFT tables' 'DESCONOCIDO' is mapped to it), so one filter value means the same in
every view. Programs with the same name in two sources are one program in the dashboard.
"""

from __future__ import annotations

from dwh.dashboard.formato import es_nulo, formato_numero, formato_porcentaje
from dwh.dashboard.queries.cohortes import COLUMNAS_CURVAS, COLUMNAS_RETENCION, curvas_retencion, retencion_por_cohorte
from dwh.dashboard.queries.comparacion import COLUMNAS_COMPARACION, comparacion
from dwh.dashboard.queries.estado import (
    COLUMNAS_CAPAS,
    COLUMNAS_EJECUCIONES,
    COLUMNAS_FRESCURA,
    COLUMNAS_PRUEBAS,
    ULTIMAS_EJECUCIONES,
    estado_datos,
)
from dwh.dashboard.queries.filtros import FILTROS_APLICADOS, Filtros, anio_academico, anio_completo, opciones
from dwh.dashboard.queries.rendimiento import COLUMNAS_RENDIMIENTO, rendimiento_por_semestre
from dwh.dashboard.queries.resumen import resumen
from dwh.dashboard.queries.riesgo import (
    COLUMNAS_DISTRIBUCION,
    COLUMNAS_RIESGO,
    distribucion_riesgo,
    ficha_modelo,
    horizonte_modelo,
    riesgo,
)
from dwh.dashboard.queries.sql import conectar
from dwh.dashboard.reglas import (
    FUENTE_HEURISTICA,
    FUENTE_MODELO,
    NIVELES,
    SIN_DATO,
    UMBRAL_GRUPO_PEQUENO,
    UMBRALES_HEURISTICA,
    UMBRALES_MODELO,
)
from dwh.dashboard.textos import NOTAS_FILTROS

__all__ = [
    "COLUMNAS_CAPAS",
    "COLUMNAS_COMPARACION",
    "COLUMNAS_CURVAS",
    "COLUMNAS_DISTRIBUCION",
    "COLUMNAS_EJECUCIONES",
    "COLUMNAS_FRESCURA",
    "COLUMNAS_PRUEBAS",
    "COLUMNAS_RENDIMIENTO",
    "COLUMNAS_RETENCION",
    "COLUMNAS_RIESGO",
    "FILTROS_APLICADOS",
    "FUENTE_HEURISTICA",
    "FUENTE_MODELO",
    "NIVELES",
    "NOTAS_FILTROS",
    "SIN_DATO",
    "ULTIMAS_EJECUCIONES",
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
    "ficha_modelo",
    "formato_numero",
    "formato_porcentaje",
    "horizonte_modelo",
    "opciones",
    "rendimiento_por_semestre",
    "resumen",
    "retencion_por_cohorte",
    "riesgo",
]
