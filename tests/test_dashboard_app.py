"""The dashboard in headless Chromium, served from a published copy of the query tests' hand-built warehouse.

Every expected figure comes from the query layer (or plain SQL) on the same file, then is compared with the
text the browser shows. Screenshots of each view go to test-output/dashboard/<view>.png, and the callbacks'
durations to test-output/dashboard/tiempos.json.
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import tempfile
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest
from dashboard_login import DIRECTORA, abrir_con_sesion, app_con_usuarios, elegir
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait
from test_dashboard_queries import build_warehouse
from werkzeug.serving import make_server

from dwh.dashboard import callbacks
from dwh.dashboard import queries as q
from dwh.dashboard import textos as t
from dwh.dashboard.publicado import Publicado
from dwh.dashboard.queries import Filtros
from dwh.ops.publish import publish

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="needs Debian's chromium and chromedriver at /usr/bin (apt-get install chromium chromium-driver)",
)

SALIDA = Path(__file__).resolve().parent.parent / "test-output" / "dashboard"
ESPERA = 15
B = "Carrera B"

# Tab -> the charts it draws (each must have its CSV button) and an element that shows it rendered.
VISTAS = {
    "resumen": ((), "kpi-riesgo"),
    "cohortes": (("retencion_cohortes", "curvas_retencion"), "tabla-cohortes"),
    "comparacion": (("comparacion_propuesta", "comparacion_sede"), "tabla-comparacion_sede"),
    "riesgo": (("distribucion_riesgo",), "tabla-riesgo"),
    "rendimiento": (
        ("rendimiento_aprobacion", "rendimiento_notas", "rendimiento_asistencia", "rendimiento_moodle"),
        "grafico-rendimiento_moodle",
    ),
    "estado": ((), "tabla-pruebas"),
}


# --- fixtures ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def publicado(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture warehouse, published as the nightly run does (published/warehouse.duckdb, read-only)."""
    base = tmp_path_factory.mktemp("dashboard_app")
    guardado = os.environ.pop("DWH_PUBLISHED_PATH", None)
    try:
        return publish(build_warehouse(base / "warehouse.duckdb")).path
    finally:
        if guardado is not None:
            os.environ["DWH_PUBLISHED_PATH"] = guardado


@contextmanager
def servir(path: Path) -> Iterator[str]:
    """The app on `path`, served on a free port in a background thread; yields its URL once it answers."""
    servidor = make_server("127.0.0.1", 0, app_con_usuarios(path).server, threaded=True)
    hilo = threading.Thread(target=servidor.serve_forever, daemon=True)
    hilo.start()
    url = f"http://127.0.0.1:{servidor.server_port}/"
    try:
        with urllib.request.urlopen(url, timeout=ESPERA) as respuesta:
            assert respuesta.status == 200
        yield url
    finally:
        servidor.shutdown()
        hilo.join(ESPERA)


@pytest.fixture(scope="module")
def url(publicado: Path) -> Iterator[str]:
    callbacks.DURACIONES.clear()
    with servir(publicado) as direccion:
        yield direccion
    SALIDA.mkdir(parents=True, exist_ok=True)
    (SALIDA / "tiempos.json").write_text(json.dumps(callbacks.tiempos(), indent=2), encoding="utf-8")


@pytest.fixture(scope="module")
def descargas(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("descargas")


@pytest.fixture(scope="module")
def navegador(descargas: Path) -> Iterator[WebDriver]:
    opciones = webdriver.ChromeOptions()
    for argumento in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1400,1000",
    ):
        opciones.add_argument(argumento)
    perfil = tempfile.mkdtemp(prefix="dwh-chromium-")
    opciones.add_argument(f"--user-data-dir={perfil}")
    opciones.binary_location = str(CHROMIUM)
    opciones.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opciones)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(descargas)})
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(perfil, ignore_errors=True)


@pytest.fixture()
def pagina(navegador: WebDriver, url: str) -> WebDriver:
    """The dashboard freshly loaded (logged in as direccion: the aggregate views): default filters, first tab."""
    abrir_con_sesion(navegador, url, DIRECTORA.usuario)
    esperar_id(navegador, "kpi-activos")
    return navegador


@pytest.fixture()
def con(publicado: Path):
    with q.conectar(publicado) as connection:
        yield connection


# --- helpers -----------------------------------------------------------------------------------------------


def esperar(driver: WebDriver, condicion, mensaje: str = ""):
    return WebDriverWait(driver, ESPERA).until(condicion, mensaje)


def esperar_id(driver: WebDriver, id_: str):
    return esperar(driver, lambda d: d.find_element(By.ID, id_), f"#{id_} never appeared")


def esperar_texto(driver: WebDriver, id_: str, texto: str) -> None:
    esperar(
        driver,
        lambda d: d.find_elements(By.ID, id_) and d.find_element(By.ID, id_).text == texto,
        f"#{id_} never showed {texto!r}",
    )


def abrir(driver: WebDriver, vista: str) -> None:
    driver.find_element(By.ID, f"pestana-{vista}").click()
    esperar_id(driver, VISTAS[vista][1])


def captura(driver: WebDriver, archivo: Path) -> None:
    """A screenshot of the whole page, beyond the window's height (Chrome DevTools' full-page capture)."""
    tamano = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    recorte = {"x": 0, "y": 0, "width": tamano["width"], "height": tamano["height"], "scale": 1}
    imagen = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": recorte}
    )
    archivo.write_bytes(base64.b64decode(imagen["data"]))


def errores_consola(driver: WebDriver) -> list[dict]:
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def filas(driver: WebDriver, tabla: str) -> list[list[str]]:
    """The grid's rows on screen, in their displayed order, each as its cells' texts in column order."""
    cuerpo = driver.find_elements(By.CSS_SELECTOR, f"#{tabla} .ag-center-cols-container .ag-row")
    ordenadas = sorted(cuerpo, key=lambda fila: int(fila.get_attribute("row-index")))
    return [[c.text for c in fila.find_elements(By.CSS_SELECTOR, ".ag-cell")] for fila in ordenadas]


def graficos_dibujados(driver: WebDriver, nombres: tuple[str, ...]) -> bool:
    return all(driver.find_elements(By.CSS_SELECTOR, f"#grafico-{n} .main-svg") for n in nombres)


def botones_csv(driver: WebDriver) -> dict[str, WebElement]:
    """The CSV buttons shown, by chart (their ids are Dash pattern-matching ids, JSON in the DOM)."""
    botones = driver.find_elements(By.CSS_SELECTOR, "button.boton-csv")
    return {json.loads(b.get_attribute("id"))["grafico"]: b for b in botones}


def boton_csv(driver: WebDriver, grafico: str) -> WebElement:
    return botones_csv(driver)[grafico]


# --- tests -------------------------------------------------------------------------------------------------


def test_the_page_loads_without_console_errors(pagina: WebDriver):
    assert pagina.title == t.TITULO
    assert pagina.find_element(By.ID, "datos-al").text == "Datos al 15/05/2024"
    for vista in ("cohortes", "riesgo"):
        abrir(pagina, vista)
    assert errores_consola(pagina) == []


def test_every_view_renders_with_a_csv_button_per_chart(pagina: WebDriver):
    SALIDA.mkdir(parents=True, exist_ok=True)
    for vista, (graficos, marca) in VISTAS.items():
        abrir(pagina, vista)
        esperar(pagina, lambda d: graficos_dibujados(d, graficos), f"charts of {vista} not drawn")
        assert pagina.find_element(By.ID, marca).is_displayed()
        assert "Filtros que se aplican" in pagina.page_source or vista == "estado"
        dibujados = {
            g.get_attribute("id").removeprefix("grafico-")
            for g in pagina.find_elements(By.CSS_SELECTOR, '[id^="grafico-"]')
        }
        assert set(graficos) == dibujados, vista
        assert set(graficos) <= set(botones_csv(pagina)), vista
        captura(pagina, SALIDA / f"{vista}.png")
        assert (SALIDA / f"{vista}.png").stat().st_size > 0
    assert errores_consola(pagina) == []


def test_the_kpis_are_the_warehouse_figures(pagina: WebDriver, con):
    r = q.resumen(con, Filtros())
    (activos,) = con.execute(
        "SELECT count(*) FROM gold.mart_student_risk_features WHERE anio_academico = 2023 AND actividad_academica"
    ).fetchone()
    assert r["estudiantes_activos"] == activos == 12
    esperar_texto(pagina, "kpi-activos", q.formato_numero(activos))
    esperar_texto(pagina, "kpi-retencion-1", q.formato_porcentaje(r["retencion_1_anio"]))  # 12/16
    assert pagina.find_element(By.ID, "kpi-retencion-1").text == "75.0 %"
    esperar_texto(pagina, "kpi-retencion-2", q.formato_porcentaje(r["retencion_2_anios"]))
    # 2024 is still running: the dropout of 2023 is unknown, shown as such and not as 0 %
    esperar_texto(pagina, "kpi-abandono", "—")
    esperar_texto(pagina, "kpi-riesgo", q.formato_numero(r["estudiantes_en_riesgo"]))
    assert t.FUENTE_HEURISTICA in pagina.find_element(By.CLASS_NAME, "kpis").text


def test_filters_change_the_figures(pagina: WebDriver, con):
    solo_b = q.resumen(con, Filtros(propuestas=(B,)))
    assert solo_b["estudiantes_activos"] == 1  # b1
    elegir(pagina, "filtro-propuestas", B)
    esperar_texto(pagina, "kpi-activos", q.formato_numero(solo_b["estudiantes_activos"]))
    esperar_texto(pagina, "kpi-retencion-1", q.formato_porcentaje(solo_b["retencion_1_anio"]))  # 1/2 = 50.0 %
    # the risk list follows the same filters
    abrir(pagina, "riesgo")
    esperados, _ = q.riesgo(con, Filtros(propuestas=(B,)))
    esperar(pagina, lambda d: [f[0] for f in filas(d, "tabla-riesgo")] == list(esperados["alumno_key"]))
    # a cohort too: cohort 2022 of program B has nobody
    elegir(pagina, "filtro-cohortes", "2022")
    esperar(pagina, lambda d: t.SIN_DATOS in d.find_element(By.ID, "vista-riesgo").text)
    # and the year: 2022 on every program and cohort (a new page), 13 active, 3 gone the year after
    pagina.refresh()
    esperar_id(pagina, "kpi-activos")
    elegir(pagina, "filtro-anio", "2022")
    r = q.resumen(con, Filtros(anio=2022))
    esperar_texto(pagina, "kpi-activos", q.formato_numero(r["estudiantes_activos"]))
    esperar_texto(pagina, "kpi-abandono", q.formato_porcentaje(r["tasa_abandono"]))
    assert errores_consola(pagina) == []


def test_risk_is_labelled_heuristic_and_sortable(pagina: WebDriver, con):
    abrir(pagina, "riesgo")
    assert pagina.find_element(By.ID, "fuente-riesgo").text == "Puntaje heurístico (no es un modelo)"
    cabecera = pagina.find_element(By.CSS_SELECTOR, '#tabla-riesgo .ag-header-cell[col-id="puntaje"]').text
    assert cabecera.endswith(t.PUNTAJE_HEURISTICO)
    esperados, fuente = q.riesgo(con, Filtros())
    assert fuente == q.FUENTE_HEURISTICA
    claves = [f[0] for f in filas(pagina, "tabla-riesgo")]
    assert claves == list(esperados["alumno_key"])[: len(claves)]
    # native sorting: ascending on the score puts a zero first
    columna = pagina.find_element(
        By.CSS_SELECTOR, '#tabla-riesgo .ag-header-cell[col-id="puntaje"] .ag-header-cell-label'
    )
    columna.click()
    esperar(pagina, lambda d: filas(d, "tabla-riesgo")[0][4] == "0")


def test_cohorts_show_incomplete_follow_up_and_small_groups(pagina: WebDriver, con):
    abrir(pagina, "cohortes")
    df = q.retencion_por_cohorte(con, Filtros())
    tabla = filas(pagina, "tabla-cohortes")
    assert [f[0] for f in tabla] == ["2021", "2022 *", "2023 *"]  # small cohorts marked, not hidden
    assert tabla[0][2] == f"{q.formato_porcentaje(df.loc[0, 'tasa_retencion_1_anio'])} (n = 12)"
    assert tabla[2][2] == tabla[2][3] == tabla[1][3] == t.SEGUIMIENTO_INCOMPLETO  # never 0 % or 100 %
    assert t.GRUPO_PEQUENO in pagina.find_element(By.ID, "vista-cohortes").text


def test_a_csv_button_downloads_the_charts_frame(pagina: WebDriver, descargas: Path, con):
    abrir(pagina, "cohortes")
    boton_csv(pagina, "retencion_cohortes").click()
    archivo = descargas / "retencion_cohortes.csv"
    esperar(pagina, lambda d: archivo.is_file() and archivo.stat().st_size > 0, "no CSV downloaded")
    esperado = q.retencion_por_cohorte(con, Filtros())
    bajado = pd.read_csv(archivo)
    assert list(bajado.columns) == list(q.COLUMNAS_RETENCION)
    assert bajado["estudiantes"].tolist() == esperado["estudiantes"].tolist() == [12, 4, 2]


def test_a_table_sorts_filters_and_exports_what_it_shows(pagina: WebDriver, descargas: Path):
    abrir(pagina, "cohortes")
    esperar(pagina, lambda d: len(filas(d, "tabla-cohortes")) == 3)
    # sorting on a column header: descending cohort after two clicks
    cabecera = pagina.find_element(
        By.CSS_SELECTOR, '#tabla-cohortes .ag-header-cell[col-id="cohorte"] .ag-header-cell-label'
    )
    cabecera.click()
    cabecera.click()
    esperar(pagina, lambda d: [f[0] for f in filas(d, "tabla-cohortes")] == ["2023 *", "2022 *", "2021"])
    pagina.find_element(By.ID, "exportar-tabla-cohortes").click()
    archivo = descargas / "tabla-cohortes.csv"
    esperar(pagina, lambda d: archivo.is_file() and archivo.stat().st_size > 0, "the table's CSV was not downloaded")
    bajado = pd.read_csv(archivo, dtype=str)
    # the rows as shown (sorted), with the headers on screen
    assert bajado.iloc[:, 0].tolist() == ["2023 *", "2022 *", "2021"]
    assert bajado.columns[0] == t.COLUMNAS_COHORTES["cohorte"]


def test_the_download_callback_returns_each_charts_csv(publicado: Path):
    fuente = Publicado(publicado)
    try:
        f = Filtros(sedes=("Sede Norte",))
        for grafico in callbacks.vistas.DATOS:
            enviado = callbacks.csv(fuente, grafico, f)
            assert enviado["filename"] == f"{grafico}.csv"
            texto = base64.b64decode(enviado["content"]).decode() if enviado["base64"] else enviado["content"]
            df = pd.read_csv(io.StringIO(texto))
            assert len(df.columns) > 0, grafico
        texto = callbacks.csv(fuente, "comparacion_sede", f)["content"]
        assert pd.read_csv(io.StringIO(texto))[["grupo", "estudiantes"]].values.tolist() == [["Sede Norte", 6]]
    finally:
        fuente.cerrar()


def test_a_missing_published_file_shows_how_to_build_it(navegador: WebDriver, tmp_path: Path, publicado: Path):
    ausente = tmp_path / "published" / "warehouse.duckdb"
    with servir(ausente) as direccion:
        abrir_con_sesion(navegador, direccion, DIRECTORA.usuario)
        aviso = esperar_id(navegador, "sin-publicado")
        assert "python -m dwh.main" in aviso.text and t.SIN_PUBLICADO_TITULO in aviso.text
        assert "Traceback" not in navegador.page_source
        assert errores_consola(navegador) == []
        # once a run publishes, a reload shows the dashboard
        ausente.parent.mkdir()
        shutil.copyfile(publicado, ausente)
        navegador.refresh()
        esperar_texto(navegador, "kpi-activos", "12")
