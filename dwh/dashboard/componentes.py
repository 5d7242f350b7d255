"""Small building blocks shared by the views: messages, filter notes, CSV buttons, charts, tables."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import plotly.graph_objects as go
from dash import dash_table, dcc, html

from dwh.dashboard import queries as q
from dwh.dashboard import textos as t

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
    nota = q.NOTAS_FILTROS.get(clave)
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
    return [None if q.es_nulo(v) else float(v) * 100 for v in serie]


def _celda(valor: object) -> object:
    if q.es_nulo(valor):
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
    """A frame as DataTable rows: JSON values only, missing values as None."""
    return [{c: _celda(v) for c, v in fila.items()} for fila in df.to_dict("records")]


def tabla(id_: str, df: pd.DataFrame, columnas: dict[str, str], **opciones: object) -> dash_table.DataTable:
    """A DataTable of some columns of a frame, with Spanish headers."""
    return dash_table.DataTable(
        id=id_,
        columns=[
            {"name": nombre, "id": c, "type": "numeric" if pd.api.types.is_numeric_dtype(df[c]) else "text"}
            for c, nombre in columnas.items()
        ],
        data=registros(df[list(columnas)]),
        style_table={"overflowX": "auto"},
        style_cell={"fontFamily": "inherit", "fontSize": "0.85rem", "padding": "4px 8px", "textAlign": "left"},
        style_header={"fontWeight": "bold", "backgroundColor": "#eef2f5"},
        **opciones,
    )
