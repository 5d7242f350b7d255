"""Small building blocks shared by the views: messages, filter notes, CSV buttons, charts, tables."""

from __future__ import annotations

import datetime as dt
import math

import dash_ag_grid as dag
import pandas as pd
import plotly.graph_objects as go
from dash import dcc, html

from dwh.dashboard import formato as fmt
from dwh.dashboard import queries as q
from dwh.dashboard import textos as t

# every grid's id: each has an export button wired in callbacks (an id not listed here has no export)
TABLAS = (
    "tabla-cohortes",
    "tabla-comparacion_propuesta",
    "tabla-comparacion_sede",
    "tabla-riesgo",
    "tabla-capas",
    "tabla-ejecuciones",
    "tabla-frescura",
    "tabla-pruebas",
    "tabla-seguimiento",
    "tabla-usuarios",
)
COLORES = ("#1f5f8b", "#e07b39", "#5b9a68", "#9b59b6")
COLOR_NIVEL = {"alto": "#c0392b", "medio": "#e6a23c", "bajo": "#5b9a68"}


def sin_datos() -> html.Div:
    return html.Div(t.SIN_DATOS, className="aviso sin-datos")


def sin_publicado(ruta: object) -> html.Div:
    return html.Div(
        [html.H2(t.SIN_PUBLICADO_TITULO), html.P(t.SIN_PUBLICADO.format(ruta=ruta))],
        id="sin-publicado",
        className="aviso sin-publicado",
    )


def error_consulta() -> html.Div:
    return html.Div(t.ERROR_CONSULTA, className="aviso error-consulta")


def nota_filtros(clave: str) -> html.Div:
    """Which sidebar filters change this view, and the query layer's note on the rest."""
    aplicados = q.FILTROS_APLICADOS.get(clave, ())
    texto = (
        t.FILTROS_APLICADOS.format(filtros=", ".join(t.NOMBRES_FILTROS[f] for f in aplicados))
        if aplicados
        else t.NINGUN_FILTRO
    )
    nota = t.NOTAS_FILTROS.get(clave)
    return html.Div([html.Span(texto), " ", html.Span(nota or "", className="nota")], className="nota-filtros")


def boton_csv(grafico: str) -> html.Div:
    return html.Div(
        [
            html.Button(t.DESCARGAR_CSV, id={"tipo": "boton-csv", "grafico": grafico}, className="boton-csv"),
            dcc.Download(id={"tipo": "descarga-csv", "grafico": grafico}),
        ],
        className="descarga",
    )


def grafico(nombre: str, titulo: str, figura: go.Figure) -> html.Div:
    """A chart with its title and its CSV button (the CSV is the frame behind the chart)."""
    figura.update_layout(
        template="plotly_white",
        margin={"l": 50, "r": 20, "t": 30, "b": 50},
        height=340,
        legend={"orientation": "h", "y": -0.2},
        separators=",.",
    )
    return html.Div(
        [
            html.H3(titulo),
            dcc.Graph(id=f"grafico-{nombre}", figure=figura, config={"displaylogo": False}),
            boton_csv(nombre),
        ],
        className="grafico",
    )


def etiqueta(nombre: object, pequeno: bool) -> str:
    """A group's label, marked when the group is small (kept, never hidden)."""
    return f"{nombre}{t.MARCA_GRUPO_PEQUENO if pequeno else ''}"


def porcentajes(serie: pd.Series) -> list[float | None]:
    """Rates as percentages for a chart; a missing rate is a gap (None), not 0."""
    return [None if fmt.es_nulo(v) else float(v) * 100 for v in serie]


def _celda(valor: object) -> object:
    if fmt.es_nulo(valor):
        return None
    if isinstance(valor, (pd.Timestamp, dt.datetime)):
        return valor.strftime("%Y-%m-%d %H:%M")
    if isinstance(valor, dt.date):
        return valor.isoformat()
    if isinstance(valor, float) and math.isinf(valor):
        return None
    if hasattr(valor, "item"):  # numpy scalars are not JSON
        return valor.item()
    return valor


def registros(df: pd.DataFrame) -> list[dict]:
    """A frame as grid rows: JSON values only, missing values as None."""
    return [{c: _celda(v) for c, v in fila.items()} for fila in df.to_dict("records")]


def _estilos_filas(condiciones: list[tuple[str, str]]) -> dict:
    """Row colours by value: (column = value, colour) pairs become AG Grid style conditions."""
    return {
        "styleConditions": [
            {"condition": f"params.data && params.data.{col} === {valor!r}", "style": {"backgroundColor": color}}
            for (col, valor), color in condiciones
        ]
    }


def tabla(
    id_: str,
    df: pd.DataFrame,
    columnas: dict[str, str],
    filas_por_pagina: int | None = None,
    colores_filas: list[tuple[tuple[str, str], str]] | None = None,
    seleccion: bool = False,
    clave: str | None = None,
    largas: tuple[str, ...] = ("razones",),
) -> html.Div:
    """A grid of some columns of a frame, with Spanish headers: sortable, filterable, and its own CSV button
    (the rows as sorted and filtered on screen)."""
    assert id_ in TABLAS, f"{id_} is not in componentes.TABLAS: its export button would do nothing"
    definiciones = []
    for c, nombre in columnas.items():
        numerica = pd.api.types.is_numeric_dtype(df[c])
        definiciones.append(
            {
                "field": c,
                "headerName": nombre,
                "type": "numericColumn" if numerica else None,
                "filter": "agNumberColumnFilter" if numerica else "agTextColumnFilter",
                # long texts (the model's reasons) wrap in a wider column instead of being cut
                **(
                    {
                        "wrapText": True,
                        "autoHeight": True,
                        "flex": 3,
                        "minWidth": 260,
                        "cellStyle": {"lineHeight": "1.35", "paddingTop": "6px", "paddingBottom": "6px"},
                    }
                    if c in largas
                    else {}
                ),
            }
        )
    opciones: dict = {
        "domLayout": "autoHeight",
        "suppressColumnVirtualisation": True,
        "enableCellTextSelection": True,
        "ensureDomOrder": True,
        "localeText": {"noRowsToShow": "Sin filas"},
    }
    if filas_por_pagina:
        opciones |= {"pagination": True, "paginationPageSize": filas_por_pagina, "paginationPageSizeSelector": False}
    extra: dict = {"getRowStyle": _estilos_filas(colores_filas)} if colores_filas else {}
    if seleccion:
        opciones["rowSelection"] = {"mode": "singleRow", "checkboxes": False, "enableClickSelection": True}
    if clave:
        # the row's key travels with it (selectedRows) but is not a column
        extra["getRowId"] = f"params.data.{clave}"
    filas = df[[*([clave] if clave else []), *columnas]]
    return html.Div(
        [
            dag.AgGrid(
                id=id_,
                columnDefs=[{k: v for k, v in d.items() if v is not None} for d in definiciones],
                rowData=registros(filas),
                defaultColDef={
                    "sortable": True,
                    "filter": True,
                    "resizable": True,
                    "flex": 1,
                    "minWidth": 110,
                    "wrapHeaderText": True,
                    "autoHeaderHeight": True,
                },
                dashGridOptions=opciones,
                csvExportParams={"fileName": f"{id_}.csv", "columnSeparator": ","},
                className="ag-theme-alpine",
                style={"width": "100%"},
                **extra,
            ),
            html.Button(t.DESCARGAR_CSV, id=f"exportar-{id_}", className="boton-exportar"),
        ],
        className="tabla",
    )
