"""The dashboard as its users meet it, in Chromium, on a real pipeline run with a trained model: the login, a
tutor's own students by name with reasons, direccion without names, a contact recorded through the form
that survives a restart and reaches bronze and gold, and a hand-edited address to another program's student."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest
from bronze_support import wh, write_config
from dashboard_login import (
    ADMINISTRADOR,
    CLAVE,
    DIRECTORA,
    acceso_de_prueba,
    elegir,
    iniciar_sesion_navegador,
    servidor_waitress,
)

pytest.importorskip("lightgbm", reason="the ML extra is not installed")
webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from dwh.app_db import AppDb  # noqa: E402
from dwh.app_db.validation import local_today  # noqa: E402
from dwh.dashboard import textos as t  # noqa: E402
from dwh.dashboard.app import create_app  # noqa: E402
from dwh.dashboard.usuarios import TUTOR, Usuario  # noqa: E402
from dwh.ops.contacts import contacts_path, read_contacts  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="needs Debian's chromium and chromedriver at /usr/bin (apt-get install chromium chromium-driver)",
)
ESPERA = 30
SALIDA = Path(__file__).resolve().parent.parent / "test-output" / "dashboard"
THREADS = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def _env(workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DWH_", "DLT__", "LOAD__", "EXTRACT__"))}
    env.update(
        THREADS,
        DWH_CONFIG=str(workdir / "config.py"),
        DWH_DUCKDB_PATH=str(workdir / "warehouse.duckdb"),
        DWH_APP_DB=str(workdir / "app.sqlite"),
    )
    return env


def run(workdir: Path, module: str, *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", module, *args], env=_env(workdir), capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, f"{module} {' '.join(args)} exited {done.returncode}:\n{done.stderr[-4000:]}"


@pytest.fixture(scope="module")
def workdir(make_synthetic, tmp_path_factory) -> Path:
    """A nightly run on 600 synthetic students, the tree trained and used, and the scores published."""
    sources = make_synthetic(students=600, sources=1, years=7, seed=29, moodle_years=2)
    workdir = tmp_path_factory.mktemp("tutor")
    config = write_config(
        workdir / "config.py", {n: (u, "moodle" if n == "moodle" else "guarani") for n, u in sources.items()}
    )
    # the interventions the dashboard records come back as a source (conn_string: DWH_APP_DB)
    config.write_text(
        config.read_text().replace("]\n", "    {'name': 'intervenciones', 'kind': 'intervenciones'},\n]\n")
    )
    run(workdir, "dwh.main")
    run(workdir, "dwh.ml", "train", "--models", "arbol", "--no-oracle", "--bootstrap", "50")
    run(workdir, "dwh.ml", "predict")
    run(workdir, "dwh.main")
    return workdir


@pytest.fixture(scope="module")
def publicado(workdir: Path) -> Path:
    return workdir / "published" / "warehouse.duckdb"


@pytest.fixture(scope="module")
def contactos(publicado: Path):
    return read_contacts(contacts_path(publicado))


@pytest.fixture(scope="module")
def tutora(contactos) -> Usuario:
    """A tutor of the program and site with the most students with a current career."""
    propuesta, sede = contactos.groupby(["propuesta", "sede"]).size().idxmax()
    return Usuario("tutora-propia", TUTOR, (propuesta,), (sede,))


@pytest.fixture(scope="module")
def appdb(workdir: Path) -> AppDb:
    return AppDb(f"sqlite:///{workdir / 'app.sqlite'}")


@contextmanager
def servidor(publicado: Path, tutora: Usuario, appdb: AppDb) -> Iterator[str]:
    app = create_app(publicado, acceso=acceso_de_prueba(tutora, DIRECTORA, ADMINISTRADOR), appdb=appdb)
    with servidor_waitress(app) as base:
        yield base


@pytest.fixture(scope="module")
def base(publicado: Path, tutora: Usuario, appdb: AppDb) -> Iterator[str]:
    with servidor(publicado, tutora, appdb) as url:
        yield url


@contextmanager
def navegador() -> Iterator[WebDriver]:
    """A fresh headless Chromium (its own profile: no session of another test)."""
    opciones = webdriver.ChromeOptions()
    for argumento in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"):
        opciones.add_argument(argumento)
    opciones.add_argument("--window-size=1400,1000")
    perfil = tempfile.mkdtemp(prefix="dwh-chromium-")
    opciones.add_argument(f"--user-data-dir={perfil}")
    opciones.binary_location = str(CHROMIUM)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opciones)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(perfil, ignore_errors=True)


def esperar(driver: WebDriver, condicion, mensaje: str = ""):
    # the grid re-renders its rows while data arrives: a row read mid-render is read again
    return WebDriverWait(driver, ESPERA, ignored_exceptions=(StaleElementReferenceException,)).until(condicion, mensaje)


def filas(driver: WebDriver, tabla: str = "tabla-seguimiento") -> list[dict[str, str]]:
    """The grid's rows on screen, in order, as {column id: text}."""
    cuerpo = driver.find_elements(By.CSS_SELECTOR, f"#{tabla} .ag-center-cols-container .ag-row")
    ordenadas = sorted(cuerpo, key=lambda fila: int(fila.get_attribute("row-index")))
    return [
        {c.get_attribute("col-id"): c.text for c in fila.find_elements(By.CSS_SELECTOR, ".ag-cell")}
        for fila in ordenadas
    ]


def lista(driver: WebDriver, n: int | None = None) -> list[dict[str, str]]:
    def leer(d: WebDriver) -> list[dict[str, str]] | bool:
        vistas = filas(d)
        return vistas if vistas and (n is None or len(vistas) == n) else False

    return esperar(driver, leer, "the tutor's list never showed")


def capacidad(driver: WebDriver, n: int) -> None:
    campo = driver.find_element(By.ID, "capacidad")
    campo.send_keys(Keys.CONTROL, "a")
    campo.send_keys(str(n), Keys.ENTER)


# --- tests -------------------------------------------------------------------------------------------------


def test_login_is_required_and_a_wrong_password_refused(base: str):
    with navegador() as d:
        d.get(base + "/")
        esperar(d, lambda d: "/login" in d.current_url, "an anonymous visit was not sent to the login")
        d.find_element(By.ID, "usuario").send_keys("tutora-propia")
        d.find_element(By.ID, "clave").send_keys(CLAVE + "x")
        d.find_element(By.ID, "ingresar").click()
        esperar(d, lambda d: d.find_elements(By.ID, "mensaje-login"))
        assert "/login" in d.current_url
        assert not d.find_elements(By.ID, "pestanas")


def test_a_tutor_sees_their_own_students_by_name_with_reasons_cut_at_their_capacity(
    base: str, tutora: Usuario, contactos, appdb: AppDb, publicado: Path
):
    with navegador() as d:
        iniciar_sesion_navegador(d, base, tutora.usuario)
        pestana = esperar(d, lambda d: d.find_element(By.ID, "pestana-seguimiento"))
        assert t.PESTANA_SEGUIMIENTO in pestana.text
        todas = lista(d)
        assert len(todas) <= 40
        capacidad(d, 5)
        cinco = lista(d, 5)
        SALIDA.mkdir(parents=True, exist_ok=True)
        d.save_screenshot(str(SALIDA / "seguimiento.png"))
    assert [f["estudiante"] for f in cinco] == [f["estudiante"] for f in todas[:5]]  # the same order, cut
    # only the tutor's program and site
    assert {f["propuesta"] for f in todas} == set(tutora.propuestas)
    assert {f["sede"] for f in todas} == set(tutora.sedes)
    # names and legajo are the contact file's, for exactly these students
    personas = {
        (f"{a}, {n}", str(leg)) for a, n, leg in contactos[["apellido", "nombres", "legajo"]].itertuples(index=False)
    }
    assert all((f["estudiante"], f["legajo"]) in personas for f in todas)
    # the model's calibrated probability, highest first, and its reasons in Spanish
    probabilidades = [float(f["probabilidad"].rstrip(" %").replace(",", ".")) for f in todas]
    assert probabilidades == sorted(probabilidades, reverse=True)
    assert all(f["razones"] and "(" in f["razones"] and "_" not in f["razones"] for f in todas)
    # each list shown was audited, with the students it showed
    vistos = appdb.auditoria()
    propios = vistos[(vistos["usuario"] == tutora.usuario) & (vistos["accion"] == "ver_lista")]
    assert len(propios) >= 2 and propios.iloc[-1]["n_alumnos"] == 5


def test_direccion_sees_the_aggregates_and_no_names(base: str, contactos):
    with navegador() as d:
        iniciar_sesion_navegador(d, base, DIRECTORA.usuario)
        esperar(d, lambda d: d.find_elements(By.ID, "kpi-activos"))
        assert not d.find_elements(By.ID, "pestana-seguimiento")
        d.find_element(By.ID, "pestana-riesgo").click()
        esperar(d, lambda d: d.find_elements(By.CSS_SELECTOR, "#tabla-riesgo .ag-row"))
        pagina = d.page_source
    apellidos = [a for a in contactos["apellido"].dropna().unique() if len(a) > 3]
    assert apellidos and not [a for a in apellidos if a in pagina]
    assert not [leg for leg in contactos["legajo"].dropna().astype(str).unique() if f">{leg}<" in pagina]


def test_the_admin_sees_the_users_and_no_names(base: str, tutora: Usuario, contactos):
    with navegador() as d:
        iniciar_sesion_navegador(d, base, ADMINISTRADOR.usuario)
        assert not d.find_elements(By.ID, "pestana-seguimiento")
        esperar(d, lambda d: d.find_element(By.ID, "pestana-estado")).click()
        usuarios = esperar(d, lambda d: filas(d, "tabla-usuarios") or False, "no users table for the admin")
        pagina = d.page_source
    assert {u["usuario"]: u["rol"] for u in usuarios} == {
        "tutora-propia": "tutor",
        "directora": "direccion",
        "admin": "admin",
    }
    assert "$argon2" not in pagina
    assert not [a for a in contactos["apellido"].dropna().unique() if len(a) > 3 and a in pagina]


def test_a_contact_survives_a_restart_and_a_pipeline_run(
    base: str, publicado: Path, tutora: Usuario, appdb: AppDb, workdir: Path
):
    with navegador() as d:
        iniciar_sesion_navegador(d, base, tutora.usuario)
        primera = lista(d)[0]
        d.find_element(By.CSS_SELECTOR, "#tabla-seguimiento .ag-center-cols-container .ag-row[row-index='0']").click()
        esperar(d, lambda d: primera["estudiante"] in d.find_element(By.ID, "ficha-seguimiento").text)
        elegir(d, "contacto-canal", t.CANALES["telefono"])
        elegir(d, "contacto-resultado", t.RESULTADOS["no_responde"])
        d.find_element(By.ID, "contacto-nota").send_keys("Llamar de nuevo el lunes")
        d.find_element(By.ID, "contacto-guardar").click()
        esperar(d, lambda d: d.find_elements(By.ID, "contacto-ok"), "the contact was not saved")
        hoy = local_today().strftime("%d/%m/%Y")
        esperar(d, lambda d: lista(d)[0]["ultima_intervencion"].startswith(hoy))
    guardada = appdb.intervenciones_de(appdb.auditoria().iloc[-1]["alumnos"][0])
    assert guardada.iloc[0][["usuario", "canal", "resultado", "nota"]].tolist() == [
        tutora.usuario,
        "telefono",
        "no_responde",
        "Llamar de nuevo el lunes",
    ]
    clave = guardada.iloc[0]["alumno_key"]
    # a new dashboard process on the same application database
    with servidor(publicado, tutora, AppDb(appdb.url)) as otra, navegador() as d:
        iniciar_sesion_navegador(d, otra, tutora.usuario)
        assert lista(d)[0]["ultima_intervencion"] == f"{hoy} · Teléfono · No responde"
    # the nightly run reads it back: bronze, then each student's history in gold
    run(workdir, "dwh.main")
    warehouse = workdir / "warehouse.duckdb"
    assert wh(warehouse, "SELECT alumno_key, canal, resultado FROM bronze.intervenciones") == [
        (clave, "telefono", "no_responde")
    ]
    assert wh(
        warehouse,
        "SELECT intervenciones, contactos_logrados, ultimo_canal, ultima_fecha FROM gold.mart_intervenciones "
        "WHERE alumno_key = ?",
        [clave],
    ) == [(1, 0, "telefono", local_today())]
    # the notes stay in the application database: never in the published warehouse
    with duckdb.connect(str(publicado), read_only=True) as con:
        columnas = {
            r[0]
            for r in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name LIKE '%interv%'").fetchall()
        }
    assert "nota" not in columnas


def test_an_address_edited_to_another_programs_student_is_refused(base: str, tutora: Usuario, contactos):
    ajeno = contactos[(contactos["propuesta"] != tutora.propuestas[0]) | (contactos["sede"] != tutora.sedes[0])]
    propio = contactos[(contactos["propuesta"] == tutora.propuestas[0]) & (contactos["sede"] == tutora.sedes[0])]
    assert len(ajeno) and len(propio)
    with navegador() as d:
        iniciar_sesion_navegador(d, base, tutora.usuario)
        d.get(f"{base}/?alumno={ajeno.iloc[0]['alumno_key']}")
        esperar(d, lambda d: d.find_elements(By.ID, "fuera-de-alcance"), "another program's student was shown")
        assert ajeno.iloc[0]["apellido"] not in d.page_source
        d.get(f"{base}/?alumno={propio.iloc[0]['alumno_key']}")
        esperar(d, lambda d: d.find_elements(By.ID, "ficha-alumno-nombre"))
        assert propio.iloc[0]["apellido"] in d.find_element(By.ID, "ficha-alumno-nombre").text
