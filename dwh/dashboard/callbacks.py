"""The app's callbacks (one per view, one for the CSV downloads), each timed into DURACIONES."""

from __future__ import annotations

import functools
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import duckdb
from dash import MATCH, Dash, Input, Output, State, ctx, dcc
from dash.development.base_component import Component
from dash.exceptions import PreventUpdate

from dwh.app_db import AppDb
from dwh.dashboard import alcance, seguimiento, vistas
from dwh.dashboard import componentes as c
from dwh.dashboard.acceso import usuario_actual
from dwh.dashboard.publicado import Publicado
from dwh.dashboard.queries import Filtros

log = logging.getLogger("dwh.dashboard")

# Callback name -> durations in seconds of its completed calls (PreventUpdate calls are not counted).
DURACIONES: dict[str, list[float]] = defaultdict(list)

FILTROS = ("filtro-cohortes", "filtro-propuestas", "filtro-sedes", "filtro-anio")


def cronometrado(nombre: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Record each call's duration under `nombre` and log it."""

    def decorador(funcion: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(funcion)
        def envoltura(*args: Any, **kwargs: Any) -> Any:
            inicio = time.perf_counter()
            try:
                resultado = funcion(*args, **kwargs)
            except PreventUpdate:
                raise
            except BaseException:
                _registrar(nombre, time.perf_counter() - inicio)
                raise
            _registrar(nombre, time.perf_counter() - inicio)
            return resultado

        return envoltura

    return decorador


def _registrar(nombre: str, segundos: float) -> None:
    DURACIONES[nombre].append(segundos)
    log.info("callback %s: %.1f ms", nombre, segundos * 1000)


def tiempos() -> dict[str, dict[str, float]]:
    """Per callback: calls, mean and max duration in milliseconds, slowest first."""
    filas = {
        nombre: {"llamadas": len(d), "media_ms": 1000 * sum(d) / len(d), "max_ms": 1000 * max(d)}
        for nombre, d in DURACIONES.items()
        if d
    }
    return dict(sorted(filas.items(), key=lambda kv: -kv[1]["max_ms"]))


def filtros(cohortes: Any, propuestas: Any, sedes: Any, anio: Any) -> Filtros:
    """The sidebar's values (None or lists, as Dash sends them) as the query layer's Filtros."""
    return Filtros(cohortes=cohortes, propuestas=propuestas, sedes=sedes, anio=anio)


def contenido(publicado: Publicado, vista: str, f: Filtros) -> list[Component] | Component:
    """A view's content, or a message instead of a traceback when the data cannot be read."""
    try:
        with publicado.conexion() as con:
            return vistas.VISTAS[vista](con, f)
    except FileNotFoundError:
        return c.sin_publicado(publicado.path)
    except Exception:  # the UI boundary: any failure becomes a message, the traceback goes to the log
        log.exception("view %s failed with %s", vista, f)
        return c.error_consulta()


def csv(publicado: Publicado, grafico: str, f: Filtros) -> dict:
    """The dcc.Download payload of a chart's frame as CSV (what its "Descargar CSV" button sends)."""
    with publicado.conexion() as con:
        df = vistas.DATOS[grafico](con, f)
    return dcc.send_data_frame(df.to_csv, f"{grafico}.csv", index=False)


def registrar(app: Dash, publicado: Publicado, appdb: AppDb) -> None:
    """Register every callback of the app on the published file `publicado` (and, for the tutor's view, the
    application database `appdb`)."""
    entradas = [Input(i, "value") for i in FILTROS]
    seguimiento.registrar(app, publicado, appdb, list(FILTROS), filtros)

    def vista(nombre: str) -> None:
        @app.callback(Output(f"vista-{nombre}", "children"), Input("pestanas", "value"), *entradas)
        @cronometrado(f"vista_{nombre}")
        def actualizar(pestana: str, cohortes: Any, propuestas: Any, sedes: Any, anio: Any) -> Any:
            # Only the visible tab is computed; switching tabs is an input, so a hidden view catches up then.
            if pestana != nombre:
                raise PreventUpdate
            return contenido(publicado, nombre, filtros(cohortes, propuestas, sedes, anio))

    for nombre in vistas.VISTAS:
        vista(nombre)

    def exportar(tabla: str) -> None:
        @app.callback(
            Output(tabla, "exportDataAsCsv"),
            Input(f"exportar-{tabla}", "n_clicks"),
            State(tabla, "virtualRowData"),
            prevent_initial_call=True,
        )
        def exportar_tabla(n_clicks: int | None, filas: list[dict] | None) -> bool:
            # the grid writes the CSV in the browser, with the rows as sorted and filtered there
            if not n_clicks:
                raise PreventUpdate
            if tabla == seguimiento.TABLA:
                u = usuario_actual()
                if not alcance.puede_ver_nombres(u):
                    raise PreventUpdate
                claves = [f.get("alumno_key") for f in filas or []]
                appdb.auditar(u.usuario, "exportar", seguimiento.VISTA, [k for k in claves if k], {})
            return True

    for tabla in c.TABLAS:
        exportar(tabla)

    @app.callback(
        Output({"tipo": "descarga-csv", "grafico": MATCH}, "data"),
        Input({"tipo": "boton-csv", "grafico": MATCH}, "n_clicks"),
        *[State(i, "value") for i in FILTROS],
        prevent_initial_call=True,
    )
    @cronometrado("descarga_csv")
    def descargar(n_clicks: int | None, cohortes: Any, propuestas: Any, sedes: Any, anio: Any) -> dict:
        if not n_clicks:
            raise PreventUpdate
        try:
            return csv(publicado, ctx.triggered_id["grafico"], filtros(cohortes, propuestas, sedes, anio))
        except (FileNotFoundError, duckdb.Error):
            log.exception("CSV download failed")
            raise PreventUpdate from None
