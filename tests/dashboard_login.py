"""Dashboard test helpers: an app with given users, waitress on a free port, logging in (requests, Chromium),
picking a dropdown option in Chromium."""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from dash import Dash

from dwh.dashboard.app import create_app
from dwh.dashboard.servidor import crear_servidor, parar
from dwh.dashboard.usuarios import ADMIN, DIRECCION, TUTOR, ConfigAcceso, Cuenta, Usuario, hashear

CLAVE = "clave-de-prueba-123"
# One key for every test server: cookies do not depend on the port, so a browser logged in on one test
# server is logged in on the others too.
SECRETO = b"0123456789abcdef0123456789abcdef-pruebas"

TUTORA = Usuario("tutora", TUTOR, ("*",), ("*",))
DIRECTORA = Usuario("directora", DIRECCION)
ADMINISTRADOR = Usuario("admin", ADMIN)
USUARIOS = (TUTORA, DIRECTORA, ADMINISTRADOR)


@functools.cache
def hash_de_prueba() -> str:
    """The hash of CLAVE (argon2 takes ~0.3 s: made once per test session)."""
    return hashear(CLAVE)


def acceso_de_prueba(*usuarios: Usuario, **opciones: Any) -> ConfigAcceso:
    """Access settings whose users (default USUARIOS) all have the password CLAVE; options as ConfigAcceso's."""
    cuentas = tuple(Cuenta(u, hash_de_prueba()) for u in (usuarios or USUARIOS))
    opciones.setdefault("secreto", SECRETO)
    return ConfigAcceso(cuentas=cuentas, **opciones)


def app_con_usuarios(path: str | Path, *usuarios: Usuario, **opciones: Any) -> Dash:
    """The dashboard on `path` behind a login with these users (password CLAVE)."""
    return create_app(path, acceso=acceso_de_prueba(*usuarios, **opciones))


@contextmanager
def servidor_waitress(app: Dash, proxies: int = 0) -> Iterator[str]:
    """The app served by waitress (as python -m dwh.dashboard does) on a free port; yields its base URL."""
    servidor = crear_servidor(app.server, "127.0.0.1", 0, hilos=4, proxies=proxies)
    hilo = threading.Thread(target=servidor.run, daemon=True)
    hilo.start()
    try:
        yield f"http://127.0.0.1:{servidor.effective_port}"
    finally:
        parar(servidor)
        hilo.join(10)


def csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def iniciar_sesion(base: str, usuario: str, clave: str = CLAVE) -> requests.Session:
    """A requests session logged in as `usuario` (raises if the login fails)."""
    s = requests.Session()
    formulario = s.get(f"{base}/login", timeout=30)
    r = s.post(
        f"{base}/login",
        data={"usuario": usuario, "clave": clave, "csrf": csrf(formulario.text), "next": "/"},
        allow_redirects=False,
        timeout=30,
    )
    if r.status_code != 303:
        raise AssertionError(f"login of {usuario} failed: {r.status_code}")
    return s


def iniciar_sesion_navegador(driver: Any, base: str, usuario: str, clave: str = CLAVE, espera: float = 15) -> None:
    """Log a Selenium browser in through the login form; returns once it has left /login."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(f"{base.rstrip('/')}/login")
    driver.find_element(By.ID, "usuario").clear()
    driver.find_element(By.ID, "usuario").send_keys(usuario)
    driver.find_element(By.ID, "clave").send_keys(clave)
    driver.find_element(By.ID, "ingresar").click()
    WebDriverWait(driver, espera).until(lambda d: "/login" not in d.current_url, f"login of {usuario} failed")


def abrir_con_sesion(driver: Any, url: str, usuario: str = TUTORA.usuario, clave: str = CLAVE) -> None:
    """driver.get(url), logging in first when the dashboard sends the browser to its login form."""
    driver.get(url)
    if "/login" in driver.current_url:
        partes = urlsplit(url)
        iniciar_sesion_navegador(driver, f"{partes.scheme}://{partes.netloc}", usuario, clave)
        driver.get(url)


def elegir(driver: Any, dropdown: str, opcion: str, espera: float = 30) -> None:
    """Pick an option of a dcc.Dropdown through the DOM, as a user does, and close its menu."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    esperar = WebDriverWait(driver, espera, ignored_exceptions=(StaleElementReferenceException,)).until
    driver.find_element(By.ID, dropdown).click()
    menu = esperar(lambda d: d.find_element(By.CSS_SELECTOR, ".dash-dropdown-options"))
    esperar(lambda d: [o for o in menu.find_elements(By.CSS_SELECTOR, ".dash-dropdown-option") if o.text == opcion])[
        0
    ].click()
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
