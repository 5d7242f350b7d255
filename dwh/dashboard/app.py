"""Build the Dash app on the published, read-only warehouse."""

from __future__ import annotations

from pathlib import Path

import plotly.graph_objects as go
from dash import Dash

from dwh.app_db import AppDb
from dwh.dashboard import callbacks, layout
from dwh.dashboard import textos as t
from dwh.dashboard.acceso import instalar
from dwh.dashboard.publicado import Publicado, ruta_publicada
from dwh.dashboard.usuarios import ConfigAcceso, cargar_acceso


def _precalentar_plotly() -> None:
    # Plotly builds its validators and loads the template on first use (~0.1 s): pay that at start-up, not in
    # the first callback a user waits for.
    go.Figure([go.Bar(x=[0], y=[0]), go.Scatter(x=[0], y=[0])], layout={"template": "plotly_white"}).to_plotly_json()


def create_app(
    published_path: str | Path | None = None, acceso: ConfigAcceso | None = None, appdb: AppDb | None = None
) -> Dash:
    """The dashboard on `published_path` (default: where the nightly run publishes), never the working file.

    Every route is behind the login of `acceso` (default: DASHBOARD_* of the config file, DWH_CONFIG).
    Interventions and the audit go to `appdb` (default: DWH_APP_DB, else app.sqlite beside the warehouse).
    """
    config = acceso if acceso is not None else cargar_acceso()
    publicado = Publicado(published_path if published_path is not None else ruta_publicada())
    app = Dash(__name__, title=t.TITULO, suppress_callback_exceptions=True, update_title=None)
    app.index_string = layout.INDEX
    # A function: each page load reads the current published file (filter choices, as-of date).
    app.layout = lambda: layout.pagina(publicado)
    callbacks.registrar(app, publicado, appdb if appdb is not None else AppDb.from_env())
    instalar(app.server, config)
    _precalentar_plotly()
    app.publicado = publicado  # type: ignore[attr-defined]
    return app
