"""The page: header, filter sidebar and one tab per view, built on each page load from the published file."""

from __future__ import annotations

import logging

import duckdb
from dash import dcc, html
from dash.development.base_component import Component

from dwh.dashboard import alcance, seguimiento
from dwh.dashboard import componentes as c
from dwh.dashboard import queries as q
from dwh.dashboard import textos as t
from dwh.dashboard.acceso import usuario_actual
from dwh.dashboard.publicado import Publicado
from dwh.dashboard.usuarios import Usuario

log = logging.getLogger("dwh.dashboard")

ESTILO = """
body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d2b36;
       background: #f5f7f9; }
.encabezado { background: #1f5f8b; color: white; padding: 12px 24px; display: flex; align-items: baseline;
              gap: 24px; flex-wrap: wrap; }
.encabezado h1 { margin: 0; font-size: 1.4rem; }
.encabezado span { opacity: 0.85; font-size: 0.9rem; }
.cuerpo { display: flex; align-items: stretch; }
.barra-lateral { width: 250px; min-width: 250px; padding: 16px; background: white; border-right: 1px solid #dde3e8;
                 min-height: calc(100vh - 60px); box-sizing: border-box; }
.barra-lateral label { display: block; font-weight: 600; font-size: 0.85rem; margin: 14px 0 4px; }
.contenido { flex: 1; padding: 12px 20px; min-width: 0; }
.vista { padding: 12px 0; }
.kpis { display: flex; flex-wrap: wrap; gap: 12px; margin: 12px 0; }
.kpi { background: white; border: 1px solid #dde3e8; border-radius: 6px; padding: 12px 16px; flex: 1 1 150px; }
.kpi-titulo { font-size: 0.85rem; color: #51606b; }
.kpi-valor { font-size: 2rem; font-weight: 700; margin: 4px 0; }
.kpi-detalle { font-size: 0.8rem; color: #51606b; }
.grafico { background: white; border: 1px solid #dde3e8; border-radius: 6px; padding: 8px 12px; margin: 12px 0; }
.grafico h3 { margin: 4px 0; font-size: 1rem; }
.dos-columnas { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 12px; }
.descarga { margin: 4px 0 8px; }
.boton-csv, .boton-exportar { background: white; border: 1px solid #1f5f8b; color: #1f5f8b; border-radius: 4px;
             padding: 4px 10px; cursor: pointer; font-size: 0.85rem; margin: 4px 0; }
.nota, .nota-filtros { font-size: 0.85rem; color: #51606b; }
.nota-filtros { background: #eef2f5; padding: 6px 10px; border-radius: 4px; }
.fuente { margin: 10px 0; }
.aviso { padding: 16px; border-radius: 6px; margin: 16px 0; background: #fff3cd; border: 1px solid #e6d38a; }
.sin-publicado { margin: 40px; }
.encabezado .sesion { margin-left: auto; }
.encabezado .sesion a { color: white; }
.capacidad { margin: 8px 0 12px; display: flex; gap: 12px; align-items: center; }
.capacidad > div, .capacidad input { max-width: 160px; }
.formulario-contacto label { display: block; margin-top: 8px; font-size: 0.85rem; }
.ok { color: #2d6a3e; }
"""

INDEX = (
    '<!DOCTYPE html>\n<html lang="es">\n<head>\n{%metas%}\n<title>{%title%}</title>\n{%favicon%}\n{%css%}\n'
    f"<style>{ESTILO}</style>\n</head>\n<body>\n{{%app_entry%}}\n<footer>\n{{%config%}}\n{{%scripts%}}\n"
    "{%renderer%}\n</footer>\n</body>\n</html>"
)


def _opciones_anio(o: dict) -> list[dict]:
    return [
        {"label": t.ANIO_EN_CURSO.format(anio=a) if a == o["anio_en_curso"] else str(a), "value": a} for a in o["anios"]
    ]


def barra_lateral(o: dict) -> html.Aside:
    return html.Aside(
        [
            html.H2(t.FILTROS_TITULO),
            html.Label(t.FILTRO_COHORTE, htmlFor="filtro-cohortes"),
            dcc.Dropdown(
                id="filtro-cohortes",
                options=[{"label": str(v), "value": v} for v in o["cohortes"]],
                multi=True,
                placeholder=t.TODAS,
            ),
            html.Label(t.FILTRO_PROPUESTA, htmlFor="filtro-propuestas"),
            dcc.Dropdown(id="filtro-propuestas", options=o["propuestas"], multi=True, placeholder=t.TODAS),
            html.Label(t.FILTRO_SEDE, htmlFor="filtro-sedes"),
            dcc.Dropdown(id="filtro-sedes", options=o["sedes"], multi=True, placeholder=t.TODAS),
            html.Label(t.FILTRO_ANIO, htmlFor="filtro-anio"),
            dcc.Dropdown(
                id="filtro-anio",
                options=_opciones_anio(o),
                value=o["anio_defecto"],
                placeholder=t.ANIO_POR_DEFECTO.format(anio=o["anio_defecto"] or "—"),
            ),
            html.P(t.AYUDA_ANIO, className="nota"),
            html.P(t.GRUPO_PEQUENO, className="nota"),
        ],
        className="barra-lateral",
    )


def pestanas(u: Usuario | None) -> dcc.Tabs:
    """The aggregate views for everyone; a tutor also gets their own students by name (first)."""
    vistas = [
        dcc.Tab(
            label=nombre,
            value=clave,
            id=f"pestana-{clave}",
            children=html.Div(id=f"vista-{clave}", className="vista"),
        )
        for clave, nombre in t.PESTANAS.items()
    ]
    if alcance.puede_ver_nombres(u):
        propia = dcc.Tab(
            label=t.PESTANA_SEGUIMIENTO,
            value=seguimiento.VISTA,
            id=f"pestana-{seguimiento.VISTA}",
            children=seguimiento.contenedor(),
        )
        return dcc.Tabs(id="pestanas", value=seguimiento.VISTA, children=[propia, *vistas])
    return dcc.Tabs(id="pestanas", value="resumen", children=vistas)


def pagina(publicado: Publicado) -> Component:
    """The whole page, or a message (never a traceback) when the published file is missing or unreadable."""
    try:
        with publicado.conexion() as con:
            o = q.opciones(con)
    except FileNotFoundError:
        return html.Div([encabezado(None), c.sin_publicado(publicado.path)])
    except duckdb.Error:
        log.exception("cannot read the published warehouse %s", publicado.path)
        return html.Div([encabezado(None), c.error_consulta()])
    u = usuario_actual()
    return html.Div(
        [
            dcc.Location(id="url", refresh=False),
            encabezado(o, u),
            html.Div([barra_lateral(o), html.Main(pestanas(u), className="contenido")], className="cuerpo"),
        ]
    )


def encabezado(o: dict | None, u: Usuario | None = None) -> html.Header:
    fecha = o and o.get("as_of")
    sesion = (
        html.Span([f"{u.usuario} ({u.rol}) · ", html.A(t.SALIR, href="/logout")], id="sesion", className="sesion")
        if u is not None and u.usuario
        else None
    )
    return html.Header(
        [
            html.H1(t.TITULO),
            html.Span(t.SUBTITULO),
            html.Span(
                t.DATOS_AL.format(fecha=fecha.strftime("%d/%m/%Y")) if fecha else t.DATOS_SIN_FECHA, id="datos-al"
            ),
            sesion,
        ],
        className="encabezado",
    )
