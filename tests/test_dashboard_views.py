"""The dashboard without a browser: the published file's re-opening, every view on odd data, timing, CLI."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import duckdb
import pytest
from dash.development.base_component import Component
from dash.exceptions import PreventUpdate
from dashboard_login import acceso_de_prueba
from test_dashboard_queries import PREDICTIONS, build_warehouse, with_predictions

from dwh.dashboard import __main__ as cli
from dwh.dashboard import callbacks, vistas
from dwh.dashboard import textos as t
from dwh.dashboard.app import create_app
from dwh.dashboard.publicado import Publicado, ruta_publicada
from dwh.dashboard.queries import Filtros
from dwh.ops.publish import publish


def texto(componente: object) -> str:
    """All the text of a component tree (what the browser would show), space-separated."""
    if componente is None:
        return ""
    if isinstance(componente, (list, tuple)):
        return " ".join(texto(c) for c in componente)
    if isinstance(componente, Component):
        partes = [texto(getattr(componente, "children", None))]
        if isinstance(getattr(componente, "rowData", None), list):  # grid rows
            partes += [str(v) for fila in componente.rowData for v in fila.values()]
        if isinstance(getattr(componente, "columnDefs", None), list):
            partes += [c["headerName"] for c in componente.columnDefs]
        return " ".join(p for p in partes if p)
    return str(componente)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_warehouse(tmp_path_factory.mktemp("dashboard_views") / "warehouse.duckdb")


def _valor(path: Path, v: int) -> Path:
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE OR REPLACE TABLE valor AS SELECT ? AS v", [v])
    return path


def test_the_default_file_is_the_published_copy_never_the_working_one(tmp_path, monkeypatch):
    # conftest points DWH_DUCKDB_PATH at tmp_path/warehouse.duckdb
    monkeypatch.delenv("DWH_PUBLISHED_PATH", raising=False)
    assert ruta_publicada() == (tmp_path / "published" / "warehouse.duckdb").resolve()
    assert create_app(acceso=acceso_de_prueba()).publicado.path == ruta_publicada()
    monkeypatch.setenv("DWH_PUBLISHED_PATH", str(tmp_path / "otro.duckdb"))
    assert create_app(acceso=acceso_de_prueba()).publicado.path == (tmp_path / "otro.duckdb").resolve()


def test_a_new_publish_is_read_once_the_callbacks_on_the_old_file_finish(tmp_path, monkeypatch):
    monkeypatch.delenv("DWH_PUBLISHED_PATH", raising=False)
    working = _valor(tmp_path / "warehouse.duckdb", 1)
    publicado = Publicado(publish(working).path)
    leidos: list[int] = []
    with publicado.conexion() as con:
        assert con.execute("SELECT v FROM valor").fetchone()[0] == 1
        # a run publishes while a callback still reads the old file
        publish(_valor(working, 2))
        assert con.execute("SELECT v FROM valor").fetchone()[0] == 1

        def leer() -> None:
            with publicado.conexion() as nueva:
                leidos.append(nueva.execute("SELECT v FROM valor").fetchone()[0])

        otro = threading.Thread(target=leer)
        otro.start()
        time.sleep(0.2)  # the new reader must wait for this callback, not read the old instance
        assert leidos == []
    otro.join(5)
    assert leidos == [2]
    with publicado.conexion() as con:
        assert con.execute("SELECT v FROM valor").fetchone()[0] == 2
    publicado.cerrar()


def test_every_view_renders_on_the_fixture(warehouse):
    publicado = Publicado(warehouse)
    for vista in vistas.VISTAS:
        contenido = callbacks.contenido(publicado, vista, Filtros())
        assert t.ERROR_CONSULTA not in texto(contenido), vista
        assert t.SIN_DATOS not in texto(contenido), vista
    publicado.cerrar()


@pytest.mark.parametrize(
    "filtros", [Filtros(propuestas=("No existe",)), Filtros(cohortes=(1990,), anio=1990)], ids=["programa", "cohorte"]
)
def test_a_filter_that_matches_nothing_shows_a_message(warehouse, filtros):
    publicado = Publicado(warehouse)
    for vista in ("resumen", "cohortes", "comparacion", "riesgo", "rendimiento"):
        assert t.SIN_DATOS in texto(callbacks.contenido(publicado, vista, filtros)), vista
    publicado.cerrar()


def test_an_empty_warehouse_shows_messages_not_errors(tmp_path):
    path = tmp_path / "vacio.duckdb"
    duckdb.connect(str(path)).close()
    publicado = Publicado(path)
    for vista in vistas.VISTAS:
        contenido = texto(callbacks.contenido(publicado, vista, Filtros()))
        assert t.SIN_DATOS in contenido and t.ERROR_CONSULTA not in contenido, vista
    publicado.cerrar()


def test_a_missing_file_or_a_failing_query_is_a_message(tmp_path, monkeypatch, warehouse):
    ausente = Publicado(tmp_path / "published" / "warehouse.duckdb")
    for vista in vistas.VISTAS:
        assert "python -m dwh.main" in texto(callbacks.contenido(ausente, vista, Filtros()))

    def falla(con, f):
        raise duckdb.CatalogException("boom")

    monkeypatch.setitem(vistas.VISTAS, "resumen", falla)
    publicado = Publicado(warehouse)
    assert texto(callbacks.contenido(publicado, "resumen", Filtros())) == t.ERROR_CONSULTA
    publicado.cerrar()


def test_model_scores_are_labelled_as_the_model(warehouse, tmp_path):
    publicado = Publicado(with_predictions(warehouse, tmp_path, PREDICTIONS))
    riesgo = texto(callbacks.contenido(publicado, "riesgo", Filtros()))
    assert t.FUENTE_MODELO in riesgo and t.PUNTAJE_MODELO in riesgo and t.FUENTE_HEURISTICA not in riesgo
    assert t.FUENTE_MODELO in texto(callbacks.contenido(publicado, "resumen", Filtros()))
    publicado.cerrar()
    # without predictions: the heuristic, said so
    publicado = Publicado(warehouse)
    riesgo = texto(callbacks.contenido(publicado, "riesgo", Filtros()))
    assert t.FUENTE_HEURISTICA in riesgo and t.PUNTAJE_HEURISTICO in riesgo
    publicado.cerrar()


def test_callbacks_are_timed(monkeypatch):
    monkeypatch.setattr(callbacks, "DURACIONES", type(callbacks.DURACIONES)(list))

    @callbacks.cronometrado("prueba")
    def rapido(x: int) -> int:
        return x + 1

    @callbacks.cronometrado("oculto")
    def oculto() -> None:
        raise PreventUpdate

    assert rapido(1) == 2 and rapido(2) == 3
    with pytest.raises(PreventUpdate):
        oculto()
    assert len(callbacks.DURACIONES["prueba"]) == 2 and "oculto" not in callbacks.DURACIONES
    resumen = callbacks.tiempos()
    assert list(resumen) == ["prueba"] and resumen["prueba"]["llamadas"] == 2
    assert resumen["prueba"]["max_ms"] >= resumen["prueba"]["media_ms"] >= 0


def test_command_line(monkeypatch):
    monkeypatch.delenv("DWH_DASHBOARD_PORT", raising=False)
    args = cli.argumentos([])
    assert (args.host, args.port) == ("127.0.0.1", 8050)
    monkeypatch.setenv("DWH_DASHBOARD_PORT", "9000")
    assert cli.argumentos([]).port == 9000
    assert cli.argumentos(["--host", "0.0.0.0", "--port", "8123"]).port == 8123
