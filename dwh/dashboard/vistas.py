"""Each tab's content from the query layer's results, and the frame behind each chart (for its CSV)."""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import pandas as pd
import plotly.graph_objects as go
from dash import dcc, html
from dash.development.base_component import Component

from dwh.dashboard import alcance
from dwh.dashboard import componentes as c
from dwh.dashboard import formato as fmt
from dwh.dashboard import queries as q
from dwh.dashboard import textos as t
from dwh.dashboard.acceso import usuario_actual, usuarios_declarados
from dwh.dashboard.queries import Filtros

LIMITE_LISTADO = 500
_RENDIMIENTO_BASE = ["anio_academico", "cuatrimestre", "time_idx", "estudiantes"]


def _rendimiento(columnas: list[str]) -> Callable[[duckdb.DuckDBPyConnection, Filtros], pd.DataFrame]:
    return lambda con, f: q.rendimiento_por_semestre(con, f)[_RENDIMIENTO_BASE + columnas]


# Chart name -> the frame it draws, for its "Descargar CSV" button.
DATOS: dict[str, Callable[[duckdb.DuckDBPyConnection, Filtros], pd.DataFrame]] = {
    "retencion_cohortes": q.retencion_por_cohorte,
    "curvas_retencion": q.curvas_retencion,
    "comparacion_propuesta": lambda con, f: q.comparacion(con, f, "propuesta"),
    "comparacion_sede": lambda con, f: q.comparacion(con, f, "sede"),
    "distribucion_riesgo": q.distribucion_riesgo,
    "listado_riesgo": lambda con, f: q.riesgo(con, f, limite=None)[0],
    "rendimiento_aprobacion": _rendimiento(["examenes_con_resultado", "tasa_aprobacion", "tasa_ausentismo"]),
    "rendimiento_notas": _rendimiento(["estudiantes_con_notas", "promedio_notas"]),
    "rendimiento_asistencia": _rendimiento(["estudiantes_con_asistencia", "asistencia_promedio"]),
    "rendimiento_moodle": _rendimiento(["moodle_eventos_por_estudiante"]),
}


# --- executive summary -------------------------------------------------------------------------------------


def _kpi(clave: str, titulo: str, valor: str, detalle: str) -> html.Div:
    return html.Div(
        [
            html.Div(titulo, className="kpi-titulo"),
            html.Div(valor, id=f"kpi-{clave}", className="kpi-valor"),
            html.Div(detalle, className="kpi-detalle"),
        ],
        className="kpi",
    )


def _detalle_retencion(r: dict, sufijo: str) -> str:
    if r[f"retencion_{sufijo}"] is None:
        return t.KPI_RETENCION_SIN
    return t.KPI_RETENCION_DETALLE.format(
        retenidos=fmt.formato_numero(r[f"retenidos_{sufijo}"]), n=fmt.formato_numero(r[f"n_retencion_{sufijo}"])
    )


def fuente_riesgo(fuente: str) -> str:
    return t.FUENTE_MODELO if fuente == q.FUENTE_MODELO else t.FUENTE_HEURISTICA


def resumen(con: duckdb.DuckDBPyConnection, f: Filtros) -> list[Component]:
    r = q.resumen(con, f)
    anio = r["anio"]
    if r["estudiantes_activos"] is None and r["estudiantes_cohortes"] is None:
        return [c.nota_filtros("resumen"), c.sin_datos()]
    if r["tasa_abandono"] is not None:
        abandono = t.KPI_ABANDONO_DETALLE.format(
            abandonos=fmt.formato_numero(r["abandonos"]), n=fmt.formato_numero(r["n_abandono"]), anio=anio,
            siguiente=anio + 1,
        )  # fmt: skip
    else:
        abandono = t.KPI_ABANDONO_INCOMPLETO.format(siguiente=anio + 1 if anio is not None else "siguiente")
    tarjetas = [
        _kpi(
            "activos",
            f"{t.KPI_ACTIVOS} ({anio})",
            fmt.formato_numero(r["estudiantes_activos"]),
            t.KPI_ACTIVOS_DETALLE.format(anio=anio),
        ),
        _kpi(
            "retencion-1",
            t.KPI_RETENCION_1,
            fmt.formato_porcentaje(r["retencion_1_anio"]),
            _detalle_retencion(r, "1_anio"),
        ),
        _kpi(
            "retencion-2",
            t.KPI_RETENCION_2,
            fmt.formato_porcentaje(r["retencion_2_anios"]),
            _detalle_retencion(r, "2_anios"),
        ),
        _kpi("abandono", f"{t.KPI_ABANDONO} ({anio})", fmt.formato_porcentaje(r["tasa_abandono"]), abandono),
        _kpi(
            "riesgo",
            t.KPI_RIESGO,
            fmt.formato_numero(r["estudiantes_en_riesgo"]),
            t.KPI_RIESGO_DETALLE.format(
                medio=fmt.formato_numero(r["estudiantes_riesgo_medio"]), fuente=fuente_riesgo(r["fuente_riesgo"])
            ),
        ),
    ]
    vacio = not r["estudiantes_activos"] and not r["estudiantes_cohortes"]
    return [c.nota_filtros("resumen"), html.Div(tarjetas, className="kpis"), c.sin_datos() if vacio else None]


# --- cohorts -----------------------------------------------------------------------------------------------


def _tasa_o_incompleta(tasa: object, incompleta: bool, n: object) -> str:
    if incompleta and fmt.es_nulo(tasa):
        return t.SEGUIMIENTO_INCOMPLETO
    return f"{fmt.formato_porcentaje(tasa)} ({t.N_ESTUDIANTES.format(n=fmt.formato_numero(n))})"


def cohortes(con: duckdb.DuckDBPyConnection, f: Filtros) -> list[Component]:
    df = q.retencion_por_cohorte(con, f)
    nota = c.nota_filtros("retencion_por_cohorte")
    if df.empty:
        return [nota, c.sin_datos()]
    x = [c.etiqueta(v, p) for v, p in zip(df["cohorte"], df["grupo_pequeno"])]
    fig = go.Figure()
    for i, (sufijo, nombre, incompleta) in enumerate(
        [
            ("1_anio", t.RETENCION_1, "seguimiento_incompleto_1_anio"),
            ("2_anios", t.RETENCION_2, "seguimiento_incompleto_2_anios"),
        ]
    ):
        tasas = df[f"tasa_retencion_{sufijo}"]
        pendiente = [fmt.es_nulo(v) and inc for v, inc in zip(tasas, df[incompleta])]
        # A cohort still followed gets no bar, only the words "seguimiento incompleto" (never 0 % or 100 %);
        # its zero-height bar is just the anchor of that label, and the hover shows the label, not a value.
        fig.add_bar(
            x=x,
            y=[0 if p else v for p, v in zip(pendiente, c.porcentajes(tasas))],
            name=nombre,
            marker_color=c.COLORES[i],
            text=[t.SEGUIMIENTO_INCOMPLETO if p else fmt.formato_porcentaje(v) for p, v in zip(pendiente, tasas)],
            textposition="outside",
            textangle=0,
            cliponaxis=False,
            hovertemplate="%{x}: %{text}<extra>" + nombre + "</extra>",
        )
    fig.update_layout(barmode="group", yaxis={"title": t.PORCENTAJE, "range": [0, 110]}, xaxis={"type": "category"})
    filas = pd.DataFrame(
        {
            "cohorte": x,
            "estudiantes": [fmt.formato_numero(v) for v in df["estudiantes"]],
            "retencion_1": [
                _tasa_o_incompleta(v, i, df.loc[k, "estudiantes"])
                for k, (v, i) in enumerate(zip(df["tasa_retencion_1_anio"], df["seguimiento_incompleto_1_anio"]))
            ],
            "retencion_2": [
                _tasa_o_incompleta(v, i, df.loc[k, "estudiantes"])
                for k, (v, i) in enumerate(zip(df["tasa_retencion_2_anios"], df["seguimiento_incompleto_2_anios"]))
            ],
            "egresados": [fmt.formato_numero(v) for v in df["egresados"]],
        }
    )
    return [
        nota,
        html.Div(
            [c.grafico("retencion_cohortes", t.RETENCION_COHORTES, fig), curvas(q.curvas_retencion(con, f))],
            className="dos-columnas",
        ),
        html.P(t.NOTA_INCOMPLETO, className="nota"),
        c.tabla("tabla-cohortes", filas, t.COLUMNAS_COHORTES),
        html.P(t.GRUPO_PEQUENO, className="nota") if df["grupo_pequeno"].any() else None,
    ]


def curvas(df: pd.DataFrame) -> Component:
    """One line per cohort: share still active by semesters since entry; a segment that ends in a semester
    that can still gain records (follow-up incomplete) is dashed."""
    fig = go.Figure()
    for i, (cohorte, g) in enumerate(df.groupby("cohorte", sort=True)):
        color = _COLORES_COHORTE[i % len(_COLORES_COHORTE)]
        x, y = list(g["semestres_desde_ingreso"]), c.porcentajes(g["tasa_activos"])
        completos = list(g["completo"])
        hasta = max((k for k, ok in enumerate(completos) if ok), default=-1)
        texto = [
            f"{fmt.formato_porcentaje(v)} de {fmt.formato_numero(n)}"
            for v, n in zip(g["tasa_activos"], g["estudiantes"])
        ]
        comun = {"name": str(cohorte), "legendgroup": str(cohorte), "hovertext": texto, "hoverinfo": "text+name"}
        fig.add_scatter(x=x[: hasta + 1], y=y[: hasta + 1], mode="lines+markers", line={"color": color}, **comun)
        if hasta < len(x) - 1:
            desde = max(hasta, 0)
            fig.add_scatter(
                x=x[desde:],
                y=y[desde:],
                mode="lines+markers",
                line={"color": color, "dash": "dash"},
                showlegend=hasta < 0,
                **comun,
            )
    fig.update_layout(
        xaxis={"title": t.SEMESTRES_DESDE_INGRESO, "dtick": 1},
        yaxis={"title": t.PORCENTAJE, "range": [0, 105]},
    )
    return c.grafico("curvas_retencion", t.CURVAS_RETENCION, fig)


_COLORES_COHORTE = ("#1f5f8b", "#e07b39", "#5b9a68", "#9b59b6", "#c0392b", "#17a2b8", "#8c6d31", "#6c757d")


# --- programs and sites ------------------------------------------------------------------------------------


def _comparacion(nombre: str, titulo: str, df: pd.DataFrame) -> list[Component]:
    y = [c.etiqueta(g, p) for g, p in zip(df["grupo"], df["grupo_pequeno"])]
    fig = go.Figure()
    for i, (col, serie, n) in enumerate(
        [
            ("tasa_retencion_1_anio", t.RETENCION_1_ANIO, df["n_retencion"]),
            ("tasa_aprobacion", t.TASA_APROBACION, df["aprobadas"] + df["reprobadas"]),
        ]
    ):
        fig.add_bar(
            y=y,
            x=c.porcentajes(df[col]),
            name=serie,
            orientation="h",
            marker_color=c.COLORES[i],
            text=[f"{fmt.formato_porcentaje(v)} (n={fmt.formato_numero(k)})" for v, k in zip(df[col], n)],
            textposition="auto",
        )
    fig.update_layout(
        barmode="group", xaxis={"title": t.PORCENTAJE, "range": [0, 105]}, yaxis={"autorange": "reversed"}
    )
    fig.update_layout(height=max(260, 60 * len(df) + 120))
    filas = pd.DataFrame(
        {
            "grupo": y,
            "estudiantes": [fmt.formato_numero(v) for v in df["estudiantes"]],
            "retencion": [fmt.formato_porcentaje(v) for v in df["tasa_retencion_1_anio"]],
            "aprobacion": [fmt.formato_porcentaje(v) for v in df["tasa_aprobacion"]],
        }
    )
    return [c.grafico(nombre, titulo, fig), c.tabla(f"tabla-{nombre}", filas, t.COLUMNAS_COMPARACION)]


def comparacion(con: duckdb.DuckDBPyConnection, f: Filtros) -> list[Component]:
    por_propuesta = q.comparacion(con, f, "propuesta")
    por_sede = q.comparacion(con, f, "sede")
    nota = c.nota_filtros("comparacion")
    if por_propuesta.empty and por_sede.empty:
        return [nota, c.sin_datos()]
    pequenos = por_propuesta["grupo_pequeno"].any() or por_sede["grupo_pequeno"].any()
    return [
        nota,
        html.Div(
            [
                html.Div(_comparacion("comparacion_propuesta", t.COMPARACION_PROPUESTA, por_propuesta)),
                html.Div(_comparacion("comparacion_sede", t.COMPARACION_SEDE, por_sede)),
            ],
            className="dos-columnas",
        ),
        html.P(t.GRUPO_PEQUENO, className="nota") if pequenos else None,
    ]


# --- risk --------------------------------------------------------------------------------------------------


def riesgo(con: duckdb.DuckDBPyConnection, f: Filtros) -> list[Component]:
    distribucion = q.distribucion_riesgo(con, f)
    listado, fuente = q.riesgo(con, f, limite=LIMITE_LISTADO)
    anio = listado["anio_academico"].dropna()
    if fuente == q.FUENTE_MODELO:
        explica = t.EXPLICA_MODELO.format(alto=q.UMBRALES_MODELO["alto"], medio=q.UMBRALES_MODELO["medio"])
    else:
        explica = t.EXPLICA_HEURISTICA.format(
            alto=q.UMBRALES_HEURISTICA["alto"],
            medio=q.UMBRALES_HEURISTICA["medio"],
            anio=int(anio.iloc[0]) if len(anio) else (f.anio or "—"),
        )
    encabezado = [
        c.nota_filtros("riesgo"),
        html.Div([html.Strong(fuente_riesgo(fuente), id="fuente-riesgo"), " — ", explica], className="fuente"),
    ]
    if listado.empty:
        return [*encabezado, c.sin_datos()]
    niveles = list(distribucion["nivel"])
    fig = go.Figure(
        go.Bar(
            x=[t.NIVELES[n] for n in niveles],
            y=distribucion["estudiantes"],
            marker_color=[c.COLOR_NIVEL[n] for n in niveles],
            text=[fmt.formato_numero(v) for v in distribucion["estudiantes"]],
            textposition="outside",
            cliponaxis=False,
        )
    )
    fig.update_layout(yaxis={"title": "Estudiantes"}, height=300)
    listado = listado.assign(nivel=[t.NIVELES.get(n, n) for n in listado["nivel"]])
    total = int(distribucion["estudiantes"].sum())
    return [
        *encabezado,
        c.grafico("distribucion_riesgo", t.DISTRIBUCION_RIESGO, fig),
        html.H3(t.LISTADO_RIESGO),
        html.P(t.LISTADO_LIMITE.format(n=LIMITE_LISTADO), className="nota") if total > LIMITE_LISTADO else None,
        c.tabla(
            "tabla-riesgo",
            listado,
            {
                **t.COLUMNAS_RIESGO,
                "puntaje": t.PUNTAJE_MODELO if fuente == q.FUENTE_MODELO else t.PUNTAJE_HEURISTICO,
                **(t.COLUMNA_RAZONES if listado["razones"].notna().any() else {}),
            },
            filas_por_pagina=20,
        ),
        c.boton_csv("listado_riesgo"),
        ficha_modelo(con),
    ]


def ficha_modelo(con: duckdb.DuckDBPyConnection) -> Component | None:
    """The model card of the run the list comes from, folded under a link-like summary."""
    ficha = q.ficha_modelo(con)
    if ficha is None:
        return None
    run_id, texto = ficha
    return html.Details(
        [html.Summary(t.FICHA_MODELO.format(run_id=run_id)), dcc.Markdown(texto, id="ficha-modelo-texto")],
        id="ficha-modelo",
    )


# --- performance per semester ------------------------------------------------------------------------------


def rendimiento(con: duckdb.DuckDBPyConnection, f: Filtros) -> list[Component]:
    df = q.rendimiento_por_semestre(con, f)
    nota = c.nota_filtros("rendimiento_por_semestre")
    if df.empty:
        return [nota, c.sin_datos()]
    x = [
        c.etiqueta(f"{a} C{s}", n < q.UMBRAL_GRUPO_PEQUENO)
        for a, s, n in zip(df["anio_academico"], df["cuatrimestre"], df["estudiantes"])
    ]
    n = [f"n = {fmt.formato_numero(v)}" for v in df["estudiantes"]]

    def linea(fig: go.Figure, y: list, nombre: str, color: str, texto: list[str]) -> None:
        fig.add_scatter(
            x=x, y=y, name=nombre, mode="lines+markers", line_color=color, hovertext=texto, connectgaps=False
        )

    aprobacion = go.Figure()
    examenes = [f"{fmt.formato_numero(v)} exámenes" for v in df["examenes_con_resultado"]]
    linea(aprobacion, c.porcentajes(df["tasa_aprobacion"]), t.APROBACION, c.COLORES[0], examenes)
    linea(aprobacion, c.porcentajes(df["tasa_ausentismo"]), t.AUSENTISMO, c.COLORES[1], examenes)
    aprobacion.update_layout(yaxis={"title": t.PORCENTAJE, "range": [0, 105]})
    notas = go.Figure()
    linea(notas, list(df["promedio_notas"].astype("float")), t.NOTAS, c.COLORES[0],
          [f"{fmt.formato_numero(v)} estudiantes con notas" for v in df["estudiantes_con_notas"]])  # fmt: skip
    notas.update_layout(yaxis={"range": [0, 10]})
    asistencia = go.Figure()
    con_asistencia = [f"{fmt.formato_numero(v)} estudiantes con asistencia" for v in df["estudiantes_con_asistencia"]]
    linea(asistencia, list(df["asistencia_promedio"].astype("float")), t.ASISTENCIA, c.COLORES[2], con_asistencia)
    asistencia.update_layout(yaxis={"title": t.PORCENTAJE, "range": [0, 105]})
    moodle = go.Figure()
    moodle.add_bar(x=x, y=df["moodle_eventos_por_estudiante"], name=t.MOODLE, marker_color=c.COLORES[3], hovertext=n)
    for fig in (aprobacion, notas, asistencia, moodle):
        fig.update_layout(xaxis={"title": t.CUATRIMESTRE, "type": "category"})
    return [
        nota,
        html.Div(
            [
                c.grafico("rendimiento_aprobacion", t.APROBACION_AUSENTISMO, aprobacion),
                c.grafico("rendimiento_notas", t.NOTAS, notas),
                c.grafico("rendimiento_asistencia", t.ASISTENCIA, asistencia),
                c.grafico("rendimiento_moodle", t.MOODLE, moodle),
            ],
            className="dos-columnas",
        ),
        html.P(t.GRUPO_PEQUENO, className="nota") if (df["estudiantes"] < q.UMBRAL_GRUPO_PEQUENO).any() else None,
    ]


# --- data status -------------------------------------------------------------------------------------------


def _seccion(titulo: str, id_: str, df: pd.DataFrame, columnas: tuple[str, ...]) -> list[Component]:
    if df.empty:
        return [html.H3(titulo), c.sin_datos()]
    estilo = [(("status", "fail"), "#f8d7da"), (("status", "failed"), "#f8d7da"), (("status", "warn"), "#fff3cd")]
    columnas_tabla = {k: t.COLUMNAS_ESTADO.get(k, k) for k in columnas}
    if "seconds" in df:
        df = df.assign(seconds=df["seconds"].round(1))
    colores = estilo if "status" in columnas else None
    return [html.H3(titulo), c.tabla(id_, df, columnas_tabla, filas_por_pagina=20, colores_filas=colores)]


def estado(con: duckdb.DuckDBPyConnection, f: Filtros) -> list[Component]:
    e = q.estado_datos(con)
    pruebas = e["pruebas"]
    resumen_pruebas = t.PRUEBAS_RESUMEN.format(
        total=len(pruebas),
        fallas=int((pruebas["status"] == "fail").sum()),
        avisos=int((pruebas["status"] == "warn").sum()),
    )
    return [
        c.nota_filtros("estado_datos"),
        *_seccion(t.CAPAS, "tabla-capas", e["capas"], q.COLUMNAS_CAPAS),
        *_seccion(t.EJECUCIONES, "tabla-ejecuciones", e["ejecuciones"], q.COLUMNAS_EJECUCIONES),
        *_seccion(t.FRESCURA, "tabla-frescura", e["frescura"], q.COLUMNAS_FRESCURA),
        *_seccion(t.PRUEBAS, "tabla-pruebas", pruebas, q.COLUMNAS_PRUEBAS),
        html.P(resumen_pruebas, id="resumen-pruebas", className="nota") if len(pruebas) else None,
        *(usuarios() if alcance.es_admin(usuario_actual()) else []),
    ]


def usuarios() -> list[Component]:
    """For the admin: who may log in, with which role and scope (no password hashes)."""
    df = pd.DataFrame(
        [
            {"usuario": u.usuario, "rol": u.rol, "propuestas": ", ".join(u.propuestas), "sedes": ", ".join(u.sedes)}
            for u in usuarios_declarados()
        ],
        columns=["usuario", "rol", "propuestas", "sedes"],
    )
    return _seccion(t.USUARIOS, "tabla-usuarios", df, ("usuario", "rol", "propuestas", "sedes"))


# Tab value -> its content (the keys are textos.PESTANAS').
VISTAS: dict[str, Callable[[duckdb.DuckDBPyConnection, Filtros], list[Component]]] = {
    "resumen": resumen,
    "cohortes": cohortes,
    "comparacion": comparacion,
    "riesgo": riesgo,
    "rendimiento": rendimiento,
    "estado": estado,
}
