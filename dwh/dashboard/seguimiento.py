"""The tutor's view: their own students at risk by name, with reasons and the last contact, and the contact form."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qs

import duckdb
import pandas as pd
from dash import Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.development.base_component import Component
from dash.exceptions import PreventUpdate

from dwh.app_db import AppDb
from dwh.app_db.validation import CANALES, RESULTADOS, InvalidIntervention, local_today
from dwh.dashboard import alcance
from dwh.dashboard import componentes as c
from dwh.dashboard import formato as fmt
from dwh.dashboard import queries as q
from dwh.dashboard import textos as t
from dwh.dashboard.acceso import usuario_actual
from dwh.dashboard.publicado import Publicado
from dwh.dashboard.queries import Filtros
from dwh.dashboard.usuarios import TODAS, Usuario
from dwh.ops.contacts import contacts_path, read_contacts

log = logging.getLogger("dwh.dashboard.seguimiento")
VISTA = "seguimiento"
TABLA = "tabla-seguimiento"
CAPACIDAD_DEFECTO = 40
CAPACIDAD_MAXIMA = 1000
COLUMNAS = {
    "estudiante": "Estudiante",
    "legajo": "Legajo",
    "email": "Correo institucional",
    "propuesta": "Carrera",
    "sede": "Sede",
    "probabilidad": "Probabilidad de abandono",
    "razones": "Razones principales",
    "ultima_intervencion": "Último contacto",
    "proximo_seguimiento": "Próximo seguimiento",
}


def alcance_filtros(u: Usuario, f: Filtros) -> Filtros | None:
    """The sidebar filters narrowed to the user's programs and sites; None when nothing is left."""

    def cruce(elegidos: tuple[str, ...], declarados: tuple[str, ...]) -> tuple[str, ...] | None:
        if TODAS in declarados:
            return elegidos
        propios = {d.strip().lower(): d for d in declarados}
        if not elegidos:
            return tuple(declarados)
        quedan = tuple(e for e in elegidos if e.strip().lower() in propios)
        return quedan or None

    propuestas, sedes = cruce(f.propuestas, u.propuestas), cruce(f.sedes, u.sedes)
    if propuestas is None or sedes is None:
        return None
    return Filtros(cohortes=f.cohortes, propuestas=propuestas, sedes=sedes, anio=f.anio)


def _ultimo_contacto(fila: pd.Series) -> str | None:
    if pd.isna(fila.get("fecha")):
        return None
    fecha = pd.Timestamp(fila["fecha"]).strftime("%d/%m/%Y")
    canal = t.CANALES.get(fila["canal"], fila["canal"])
    return f"{fecha} · {canal} · {t.RESULTADOS.get(fila['resultado'], fila['resultado'])}"


def listado(
    con: duckdb.DuckDBPyConnection, publicado: Publicado, appdb: AppDb, u: Usuario, f: Filtros, capacidad: int
) -> tuple[pd.DataFrame, str]:
    """The user's students at risk, highest first, cut at `capacidad`: names and contact (contactos.duckdb),
    probability and reasons (the risk list), and the last intervention (the application database)."""
    filtros = alcance_filtros(u, f)
    if filtros is None:
        return pd.DataFrame(columns=["alumno_key", *COLUMNAS]), q.FUENTE_HEURISTICA
    riesgo, fuente = q.riesgo(con, filtros, limite=capacidad)
    # the SQL filter is the scope by exact names (the server warns at start-up about declared names the data
    # lacks); alcance's own rule has the last word on every row shown
    riesgo = riesgo[[alcance.en_alcance(u, p, s) for p, s in zip(riesgo["propuesta"], riesgo["sede"])]]
    riesgo = riesgo.rename(columns={"alumno_key": "alumno_key"})
    claves = list(riesgo["alumno_key"])
    try:
        contactos = read_contacts(contacts_path(publicado.path), alumno_keys=claves)
    except FileNotFoundError:  # published before identities were split out: keys only, said in the view
        log.warning(
            "no %s beside the published warehouse: the tutor's list has no names", contacts_path(publicado.path)
        )
        contactos = pd.DataFrame(columns=["alumno_key", "apellido", "nombres", "legajo", "email"])
    ultimas = appdb.ultimas_intervenciones(claves)
    df = riesgo.merge(
        contactos[["alumno_key", "apellido", "nombres", "legajo", "email"]], on="alumno_key", how="left"
    ).merge(ultimas[["alumno_key", "fecha", "canal", "resultado", "seguimiento"]], on="alumno_key", how="left")
    df["estudiante"] = [
        f"{a}, {n}" if isinstance(a, str) else t.SIN_CONTACTO for a, n in zip(df["apellido"], df["nombres"])
    ]
    df["probabilidad"] = [
        fmt.formato_porcentaje(v) if fuente == q.FUENTE_MODELO else f"{v:g} / 11 ({t.HEURISTICA_CORTA})"
        for v in df["puntaje"]
    ]
    df["ultima_intervencion"] = [_ultimo_contacto(fila) for _, fila in df.iterrows()]
    df["proximo_seguimiento"] = [
        None if pd.isna(v) else pd.Timestamp(v).strftime("%d/%m/%Y") for v in df["seguimiento"]
    ]
    return df, fuente


def vista(publicado: Publicado, appdb: AppDb, f: Filtros, capacidad: Any) -> list[Component] | Component:
    """The tutor's list (audited), or why there is none."""
    u = usuario_actual()
    if not alcance.puede_ver_nombres(u):
        return html.P(t.SOLO_TUTORES, className="aviso")
    capacidad = _capacidad(capacidad)
    try:
        with publicado.conexion() as con:
            df, fuente = listado(con, publicado, appdb, u, f, capacidad)
            horizonte = q.horizonte_modelo(con)
    except FileNotFoundError:
        return c.sin_publicado(publicado.path)
    appdb.auditar(u.usuario, "ver_lista", VISTA, list(df["alumno_key"]), {"capacidad": capacidad, **_params(f)})
    encabezado = html.Div(
        [
            html.Strong(
                t.FUENTE_MODELO if fuente == q.FUENTE_MODELO else t.PUNTAJE_HEURISTICO, id="fuente-seguimiento"
            ),
            " — ",
            t.HORIZONTE.format(n=horizonte) if fuente == q.FUENTE_MODELO and horizonte else t.EXPLICA_HEURISTICA_CORTA,
        ],
        className="fuente",
    )
    if df.empty:
        return [encabezado, c.sin_datos()]
    tabla = c.tabla(TABLA, df, COLUMNAS, filas_por_pagina=50, seleccion=True, clave="alumno_key")
    return [encabezado, html.P(t.SEGUIMIENTO_AYUDA.format(n=len(df)), className="nota"), tabla]


def _capacidad(valor: Any) -> int:
    try:
        n = int(valor)
    except (TypeError, ValueError):
        return CAPACIDAD_DEFECTO
    return min(max(n, 1), CAPACIDAD_MAXIMA)


def _params(f: Filtros) -> dict:
    return {"cohortes": list(f.cohortes), "propuestas": list(f.propuestas), "sedes": list(f.sedes)}


def alumno_en_alcance(publicado: Publicado, u: Usuario | None, alumno_key: str) -> pd.Series:
    """The student's contact row, checked against the user's scope on the server (raises FueraDeAlcance)."""
    if not alcance.puede_ver_nombres(u):
        raise alcance.FueraDeAlcance()
    contactos = read_contacts(contacts_path(publicado.path), alumno_keys=[alumno_key])
    if contactos.empty:  # no current career, or not a key of this warehouse: nothing to show either way
        raise alcance.FueraDeAlcance()
    fila = contactos.iloc[0]
    alcance.exigir_alcance(u, fila["propuesta"], fila["sede"], f"alumno {alumno_key}")
    return fila


def ficha_alumno(publicado: Publicado, appdb: AppDb, alumno_key: str) -> Component:
    """One student's contact and intervention history (audited), or the out-of-scope message."""
    u = usuario_actual()
    try:
        fila = alumno_en_alcance(publicado, u, alumno_key)
    except alcance.FueraDeAlcance as e:
        return html.P(e.description, className="aviso", id="fuera-de-alcance")
    except FileNotFoundError:
        return c.sin_publicado(publicado.path)
    appdb.auditar(u.usuario, "ver_alumno", VISTA, [alumno_key], {})
    historia = appdb.intervenciones_de(alumno_key)
    items = [
        html.Li(
            f"{pd.Timestamp(h['fecha']).strftime('%d/%m/%Y')} · {t.CANALES.get(h['canal'], h['canal'])} · "
            f"{t.RESULTADOS.get(h['resultado'], h['resultado'])} · {h['usuario']}"
            + (f" — {h['nota']}" if h["nota"] else "")
        )
        for _, h in historia.iterrows()
    ]
    return html.Div(
        [
            html.H3(f"{fila['apellido']}, {fila['nombres']} — legajo {fila['legajo']}", id="ficha-alumno-nombre"),
            html.P(f"{fila['propuesta']} · {fila['sede']} · {fila['email'] or ''}"),
            html.H4(t.HISTORIAL_CONTACTOS),
            html.Ul(items, id="historial-contactos") if items else html.P(t.SIN_CONTACTOS, id="historial-contactos"),
        ],
        id="ficha-alumno",
    )


def formulario() -> html.Div:
    # the warehouse's day (DWH_TIMEZONE), the one the contact is validated against, not the server's
    hoy = local_today().isoformat()
    return html.Div(
        [
            html.H3(t.REGISTRAR_CONTACTO),
            html.Div(t.ELIJA_ESTUDIANTE, id="contacto-alumno"),
            html.Label(t.FECHA_CONTACTO, htmlFor="contacto-fecha"),
            dcc.DatePickerSingle(id="contacto-fecha", date=hoy, display_format="DD/MM/YYYY"),
            html.Label(t.CANAL, htmlFor="contacto-canal"),
            dcc.Dropdown(
                id="contacto-canal", options=[{"label": t.CANALES[k], "value": k} for k in CANALES], clearable=False
            ),
            html.Label(t.RESULTADO, htmlFor="contacto-resultado"),
            dcc.Dropdown(
                id="contacto-resultado",
                options=[{"label": t.RESULTADOS[k], "value": k} for k in RESULTADOS],
                clearable=False,
            ),
            html.Label(t.SEGUIMIENTO_FECHA, htmlFor="contacto-seguimiento"),
            dcc.DatePickerSingle(id="contacto-seguimiento", display_format="DD/MM/YYYY"),
            html.Label(t.NOTA, htmlFor="contacto-nota"),
            dcc.Textarea(id="contacto-nota", style={"width": "100%", "height": "80px"}),
            html.Button(t.GUARDAR_CONTACTO, id="contacto-guardar", className="boton-exportar"),
            html.Div(id="contacto-mensaje", role="status"),
        ],
        className="formulario-contacto",
    )


def contenedor() -> html.Div:
    """The tab's static frame: capacity, the list (filled by a callback), the student's file and the form."""
    return html.Div(
        [
            html.Div(
                [
                    html.Label(t.CAPACIDAD, htmlFor="capacidad"),
                    dcc.Input(
                        id="capacidad",
                        type="number",
                        min=1,
                        max=CAPACIDAD_MAXIMA,
                        step=1,
                        value=CAPACIDAD_DEFECTO,
                        debounce=True,
                    ),
                ],
                className="capacidad",
            ),
            dcc.Store(id="contactos-guardados", data=0),
            html.Div(id="lista-seguimiento"),
            html.Div(
                [html.Div(id="ficha-seguimiento"), formulario()],
                className="dos-columnas",
            ),
        ],
        id=f"vista-{VISTA}",
        className="vista",
    )


def registrar(app: Dash, publicado: Publicado, appdb: AppDb, filtros: list[str], a_filtros) -> None:
    """The list, the student's file (from a row or ?alumno= in the URL) and the contact form."""

    @app.callback(
        Output("lista-seguimiento", "children"),
        Input("pestanas", "value"),
        Input("capacidad", "value"),
        Input("contactos-guardados", "data"),
        *[Input(i, "value") for i in filtros],
    )
    def lista(pestana: str, capacidad: Any, _guardados: int, *valores: Any) -> Any:
        if pestana != VISTA:
            raise PreventUpdate
        try:
            return vista(publicado, appdb, a_filtros(*valores), capacidad)
        except Exception:  # the UI boundary: a message, the traceback to the log
            log.exception("the tutor's list failed")
            return c.error_consulta()

    @app.callback(
        Output("ficha-seguimiento", "children"),
        Output("contacto-alumno", "children"),
        Input(TABLA, "selectedRows"),
        Input("url", "search"),
        Input("contactos-guardados", "data"),
        prevent_initial_call=True,
    )
    def ficha(seleccion: list[dict] | None, busqueda: str | None, _guardados: int) -> Any:
        clave = _clave_elegida(seleccion, busqueda)
        if clave is None:
            raise PreventUpdate
        contenido = ficha_alumno(publicado, appdb, clave)
        elegido = clave if getattr(contenido, "id", None) == "ficha-alumno" else None
        return contenido, (t.CONTACTO_CON.format(clave=clave[:8]) if elegido else t.ELIJA_ESTUDIANTE)

    @app.callback(
        Output("contacto-mensaje", "children"),
        Output("contactos-guardados", "data"),
        Input("contacto-guardar", "n_clicks"),
        State(TABLA, "selectedRows"),
        State("url", "search"),
        State("contacto-fecha", "date"),
        State("contacto-canal", "value"),
        State("contacto-resultado", "value"),
        State("contacto-seguimiento", "date"),
        State("contacto-nota", "value"),
        State("contactos-guardados", "data"),
        prevent_initial_call=True,
    )
    def guardar(n: int | None, seleccion, busqueda, fecha, canal, resultado, seguimiento, nota, guardados) -> Any:
        if not n:
            raise PreventUpdate
        clave = _clave_elegida(seleccion, busqueda, preferir_fila=True)
        if clave is None:
            return html.P(t.ELIJA_ESTUDIANTE, className="aviso"), no_update
        u = usuario_actual()
        try:
            # the key comes from the browser: checked against the user's scope here, on the server
            alumno_en_alcance(publicado, u, clave)
            appdb.registrar_intervencion(clave, u.usuario, fecha, canal, resultado, seguimiento, nota or "")
        except alcance.FueraDeAlcance as e:
            return html.P(e.description, className="aviso"), no_update
        except InvalidIntervention as e:
            return html.Ul(
                [html.Li(f"{campo}: {texto}") for campo, texto in e.errores.items()], className="aviso"
            ), no_update
        appdb.auditar(u.usuario, "registrar_intervencion", VISTA, [clave], {"canal": canal, "resultado": resultado})
        return html.P(t.CONTACTO_GUARDADO, className="ok", id="contacto-ok"), (guardados or 0) + 1


def _clave_elegida(seleccion: list[dict] | None, busqueda: str | None, preferir_fila: bool = False) -> str | None:
    """The student chosen: the selected row, or ?alumno=<key> in the address (the row wins when it triggered)."""
    fila = seleccion[0].get("alumno_key") if seleccion else None
    url = (parse_qs((busqueda or "").lstrip("?")).get("alumno") or [None])[0]
    if ctx.triggered_id == TABLA or preferir_fila:
        return fila or url
    return url or fila
