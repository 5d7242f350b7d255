"""The dashboard's login over real HTTP (waitress on a free port): every route guarded, cookies, throttling,
REMOTE_USER, the users command and the config's validation."""

from __future__ import annotations

import io
import json
import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
import requests
from dashboard_login import (
    CLAVE,
    SECRETO,
    TUTORA,
    USUARIOS,
    acceso_de_prueba,
    app_con_usuarios,
    csrf,
    hash_de_prueba,
    iniciar_sesion,
    servidor_waitress,
)
from flask import jsonify

from dwh.dashboard import __main__ as cli
from dwh.dashboard.acceso import ANONIMO, COOKIE, usuario_actual
from dwh.dashboard.alcance import (
    FueraDeAlcance,
    en_alcance,
    exigir_alcance,
    filtro_sql,
    opciones_en_alcance,
    puede_ver_nombres,
)
from dwh.dashboard.app import create_app
from dwh.dashboard.limite import LIBRES, Limitador
from dwh.dashboard.secreto import clave_de_sesion, ruta_secreto
from dwh.dashboard.usuarios import (
    DIRECCION,
    TUTOR,
    ConfigAcceso,
    Cuenta,
    Usuario,
    cargar_acceso,
    hashear,
    usuario_generado,
    verificar,
)
from dwh.settings import ConfigError

RAIZ = Path(__file__).resolve().parent.parent
AUSENTE = "/nonexistent/published/warehouse.duckdb"


def _con_ruta_de_prueba(app):
    """A route of our own on the app's server, to see who the guard let in."""

    @app.server.route("/_prueba/quien")
    def quien():
        u = usuario_actual()
        return jsonify(usuario=u.usuario if u else None, rol=u.rol if u else None)

    return app


@pytest.fixture(scope="module")
def base() -> str:
    app = _con_ruta_de_prueba(app_con_usuarios(AUSENTE))
    with servidor_waitress(app) as url:
        yield url


def _url_de(regla: str) -> str:
    return "/" + "/".join("x.js" if "<" in parte else parte for parte in regla.strip("/").split("/"))


def _sin_sesion_rechazado(r: requests.Response) -> bool:
    if r.status_code == 401:
        return True
    return r.status_code == 302 and r.headers["Location"].startswith("/login?next=")


# --- every route ---------------------------------------------------------------------------------------------


def test_every_route_without_a_session_is_refused(base: str):
    app = app_con_usuarios(AUSENTE)
    reglas = [r for r in app.server.url_map.iter_rules() if r.endpoint not in ("dwh_login", "dwh_logout")]
    assert {"/_dash-update-component", "/_dash-layout", "/_dash-dependencies", "/", "/<path:path>"} <= {
        r.rule for r in reglas
    }
    rutas = {(_url_de(r.rule), m) for r in reglas for m in r.methods if m in ("GET", "POST")}
    rutas |= {("/cualquier/pagina", "GET"), ("/_dash-update-component", "POST"), ("/assets/estilo.css", "GET")}
    for ruta, metodo in sorted(rutas):
        r = requests.request(metodo, base + ruta, json={} if metodo == "POST" else None, allow_redirects=False)
        assert _sin_sesion_rechazado(r), (metodo, ruta, r.status_code)
        assert COOKIE not in r.headers.get("Set-Cookie", ""), (metodo, ruta)
    # Dash's own endpoints are XHR: 401, never an HTML redirect the renderer cannot follow
    for ruta in ("/_dash-layout", "/_dash-dependencies"):
        assert requests.get(base + ruta).status_code == 401
    assert requests.post(base + "/_dash-update-component", json={"output": "x"}).status_code == 401
    # a page goes to the login form and comes back after it
    r = requests.get(base + "/?pestana=riesgo", allow_redirects=False)
    assert r.headers["Location"] == "/login?next=%2F%3Fpestana%3Driesgo"


def test_a_forged_or_foreign_cookie_is_no_session(base: str):
    otra = app_con_usuarios(AUSENTE, secreto=b"another-secret-of-at-least-32-bytes!!")
    with otra.server.test_client() as cliente:
        cliente.get("/login")
        forma = cliente.get("/login").text
        cliente.post("/login", data={"usuario": "tutora", "clave": CLAVE, "csrf": csrf(forma)})
        ajena = cliente.get_cookie(COOKIE).value
    for valor in (ajena, "eyJ1c3VhcmlvIjoidHV0b3JhIn0.x.y", ""):
        r = requests.get(base + "/_dash-layout", cookies={COOKIE: valor})
        assert r.status_code == 401


# --- login and cookie ----------------------------------------------------------------------------------------


def test_a_wrong_password_is_refused_and_the_right_one_gives_a_hardened_cookie(base: str):
    s = requests.Session()
    forma = s.get(base + "/login")
    assert forma.status_code == 200 and forma.headers["Cache-Control"] == "no-store"
    assert forma.headers["X-Frame-Options"] == "DENY"
    r = s.post(base + "/login", data={"usuario": "tutora", "clave": "no-es-esta", "csrf": csrf(forma.text)})
    assert r.status_code == 401 and "Usuario o contraseña incorrectos." in r.text
    assert s.get(base + "/_dash-layout").status_code == 401
    # an unknown user gets the very same answer
    r = s.post(base + "/login", data={"usuario": "nadie", "clave": CLAVE, "csrf": csrf(forma.text)})
    assert r.status_code == 401 and "Usuario o contraseña incorrectos." in r.text

    r = s.post(
        base + "/login",
        data={"usuario": "Tutora", "clave": CLAVE, "csrf": csrf(forma.text), "next": "/?pestana=riesgo"},
        allow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["Location"] == "/?pestana=riesgo"
    galleta = r.headers["Set-Cookie"]
    assert galleta.startswith(f"{COOKIE}=") and "HttpOnly" in galleta and "SameSite=Lax" in galleta
    assert "Secure" not in galleta  # plain HTTP: a Secure cookie would never come back
    assert s.get(base + "/_dash-layout").status_code == 200
    assert s.get(base + "/_dash-dependencies").status_code == 200
    assert s.get(base + "/", allow_redirects=False).status_code == 200
    assert s.get(base + "/_prueba/quien").json() == {"usuario": "tutora", "rol": TUTOR}
    # logout ends it
    assert s.get(base + "/logout", allow_redirects=False).headers["Location"] == "/login?salida=1"
    assert s.get(base + "/_dash-layout").status_code == 401


def test_each_role_logs_in_as_itself(base: str):
    for u in USUARIOS:
        s = iniciar_sesion(base, u.usuario)
        assert s.get(base + "/_prueba/quien").json() == {"usuario": u.usuario, "rol": u.rol}


def test_the_login_form_needs_its_csrf_token_and_never_redirects_off_site(base: str):
    s = requests.Session()
    forma = s.get(base + "/login")
    r = s.post(base + "/login", data={"usuario": "tutora", "clave": CLAVE})
    assert r.status_code == 400 and "venció" in r.text
    r = requests.post(base + "/login", data={"usuario": "tutora", "clave": CLAVE, "csrf": csrf(forma.text)})
    assert r.status_code == 400  # the token of another session
    for siguiente in ("//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
        r = s.post(
            base + "/login",
            data={"usuario": "tutora", "clave": CLAVE, "csrf": csrf(forma.text), "next": siguiente},
            allow_redirects=False,
        )
        assert r.status_code == 303 and r.headers["Location"] == "/", siguiente
        s.get(base + "/logout")
        forma = s.get(base + "/login")


def test_the_cookie_is_secure_over_tls(tmp_path: Path):
    def galleta(base: str, **cabeceras: str) -> str:
        forma = requests.get(base + "/login", headers=cabeceras)
        # sent by hand: a client keeps a Secure cookie from going back over the test's plain HTTP
        r = requests.post(
            base + "/login",
            data={"usuario": "tutora", "clave": CLAVE, "csrf": csrf(forma.text)},
            headers=cabeceras,
            cookies={COOKIE: forma.cookies[COOKIE]},
            allow_redirects=False,
        )
        assert r.status_code == 303
        return r.headers["Set-Cookie"]

    # behind one trusted proxy that terminates TLS
    with servidor_waitress(app_con_usuarios(AUSENTE, proxies=1), proxies=1) as base:
        assert "Secure" in galleta(base, **{"X-Forwarded-Proto": "https"})
        assert "Secure" not in galleta(base)
    # no proxy declared: a client claiming TLS is not believed
    with servidor_waitress(app_con_usuarios(AUSENTE)) as base:
        assert "Secure" not in galleta(base, **{"X-Forwarded-Proto": "https"})
    # forced by the config
    with servidor_waitress(app_con_usuarios(AUSENTE, cookie_segura=True)) as base:
        assert "Secure" in galleta(base)


def test_sessions_end_when_the_users_entry_changes(tmp_path: Path):
    app = app_con_usuarios(AUSENTE)
    with app.server.test_client() as c:
        forma = c.get("/login").text
        c.post("/login", data={"usuario": "tutora", "clave": CLAVE, "csrf": csrf(forma)})
        galleta = c.get_cookie(COOKIE).value
        assert c.get("/_dash-layout").status_code == 200
    # the server restarts with tutora's scope narrowed: her old cookie no longer works
    angosta = Usuario("tutora", TUTOR, ("Carrera B",), ("*",))
    for cambiado in (app_con_usuarios(AUSENTE, angosta), app_con_usuarios(AUSENTE, USUARIOS[1])):
        with cambiado.server.test_client() as c:
            c.set_cookie(COOKIE, galleta)
            assert c.get("/_dash-layout").status_code == 401


# --- throttling ----------------------------------------------------------------------------------------------


def test_failed_logins_are_throttled_per_user_and_per_address():
    with servidor_waitress(app_con_usuarios(AUSENTE, proxies=1), proxies=1) as base:

        def intento(usuario: str, clave: str, ip: str) -> requests.Response:
            s = requests.Session()
            forma = s.get(base + "/login", headers={"X-Forwarded-For": ip})
            return s.post(
                base + "/login",
                data={"usuario": usuario, "clave": clave, "csrf": csrf(forma.text)},
                headers={"X-Forwarded-For": ip},
                allow_redirects=False,
            )

        for _ in range(LIBRES):
            assert intento("tutora", "mala", "10.0.0.1").status_code == 401
        # locked out: even the right password is refused, with how long to wait
        r = intento("tutora", CLAVE, "10.0.0.1")
        assert r.status_code == 429 and 0 < int(r.headers["Retry-After"]) <= 60
        assert "Demasiados intentos" in r.text
        # per user: from another address too
        assert intento("tutora", CLAVE, "10.0.0.2").status_code == 429
        # per address: another user from the locked address
        assert intento("directora", CLAVE, "10.0.0.1").status_code == 429
        # another user from another address is not affected
        assert intento("directora", CLAVE, "10.0.0.3").status_code == 303


def test_the_lockout_doubles_and_expires():
    ahora = [1000.0]
    limite = Limitador(reloj=lambda: ahora[0])
    for _ in range(LIBRES - 1):
        limite.fallo("u:ana")
    assert limite.espera("u:ana") == 0
    limite.fallo("u:ana")
    assert limite.espera("u:ana", "ip:x") == 60
    ahora[0] += 61
    assert limite.espera("u:ana") == 0
    limite.fallo("u:ana")
    assert limite.espera("u:ana") == 120
    for _ in range(10):
        limite.fallo("u:ana")
    assert limite.espera("u:ana") == 15 * 60
    limite.exito("u:ana")
    assert limite.espera("u:ana") == 0


def test_an_unknown_user_costs_a_hash_verify_too():
    h = hash_de_prueba()
    t0 = time.perf_counter()
    assert not verificar(h, "mala")
    conocido = time.perf_counter() - t0
    verificar(None, "calentar")
    t0 = time.perf_counter()
    assert not verificar(None, CLAVE)
    desconocido = time.perf_counter() - t0
    assert desconocido > conocido / 4
    assert verificar(h, CLAVE) and not verificar("$argon2id$roto", CLAVE)


# --- REMOTE_USER ---------------------------------------------------------------------------------------------


def test_remote_user_maps_to_a_declared_user():
    sso = Usuario("ana@uni.edu.ar", TUTOR, ("Carrera B",), ("Sede Norte",))
    acceso = ConfigAcceso(
        cuentas=(Cuenta(sso, None), Cuenta(TUTORA, hash_de_prueba())),
        confiar_remote_user=True,
        cabecera_remote_user="X-Remote-User",
        secreto=SECRETO,
    )
    app = _con_ruta_de_prueba(create_app(AUSENTE, acceso=acceso))
    with servidor_waitress(app) as base:
        r = requests.get(base + "/_prueba/quien", headers={"X-Remote-User": "Ana@uni.edu.ar"})
        assert r.json() == {"usuario": "ana@uni.edu.ar", "rol": TUTOR}
        assert requests.get(base + "/_dash-layout", headers={"X-Remote-User": "ana@uni.edu.ar"}).status_code == 200
        r = requests.get(base + "/", headers={"X-Remote-User": "intruso"}, allow_redirects=False)
        assert r.status_code == 403 and "no tiene acceso" in r.text
        assert requests.get(base + "/_dash-layout", headers={"X-Remote-User": "intruso"}).status_code == 403
        # no header: the login form, where an SSO-only user (no hash) cannot get in
        assert _sin_sesion_rechazado(requests.get(base + "/", allow_redirects=False))
        s = requests.Session()
        forma = s.get(base + "/login")
        r = s.post(base + "/login", data={"usuario": "ana@uni.edu.ar", "clave": "", "csrf": csrf(forma.text)})
        assert r.status_code == 401
        assert iniciar_sesion(base, "tutora").get(base + "/_dash-layout").status_code == 200
    # not trusted: the header means nothing
    with servidor_waitress(app_con_usuarios(AUSENTE)) as base:
        r = requests.get(base + "/_dash-layout", headers={"Remote-User": "tutora"})
        assert r.status_code == 401


# --- no users, the users command, the config -----------------------------------------------------------------


def _config(tmp_path: Path, texto: str) -> Path:
    ruta = tmp_path / "config.py"
    ruta.write_text("SOURCE_DATABASES = []\n" + texto, encoding="utf-8")
    os.environ["DWH_CONFIG"] = str(ruta)
    return ruta


def test_without_users_the_dashboard_refuses_to_start_unless_sin_login(tmp_path: Path, capsys):
    _config(tmp_path, "")
    assert cli.main([]) == 2
    assert "DASHBOARD_USERS is empty or not defined" in capsys.readouterr().err
    assert cli.main(["--sin-login", "--host", "0.0.0.0"]) == 2
    assert "--sin-login serves only on a loopback address" in capsys.readouterr().err
    # --sin-login: everyone is an anonymous direccion, who never sees names
    app = _con_ruta_de_prueba(create_app(AUSENTE, acceso=ConfigAcceso(sin_login=True, secreto=SECRETO)))
    with app.server.test_client() as c:
        assert c.get("/_prueba/quien").json == {"usuario": ANONIMO.usuario, "rol": DIRECCION}
        assert c.get("/").status_code == 200 and c.get("/_dash-layout").status_code == 200
    assert not puede_ver_nombres(ANONIMO)


def _agregar(*args: str, clave: str = CLAVE + "\n") -> subprocess.CompletedProcess:
    """The real command, its password on stdin."""
    return subprocess.run(
        [sys.executable, "-m", "dwh.dashboard", "usuarios", "agregar", *args],
        input=clave,
        capture_output=True,
        text=True,
        cwd=RAIZ,
        env=os.environ.copy(),
        timeout=120,
    )


def test_usuarios_agregar_prints_an_entry_whose_hash_verifies(tmp_path: Path, capsys, monkeypatch):
    config = _config(tmp_path, "")
    antes = config.read_bytes()
    r = _agregar("--usuario", "ana", "--rol", "tutor", "--propuesta", "Carrera B", "--sede", "*", "--password-stdin")
    assert r.returncode == 0, r.stderr
    assert config.read_bytes() == antes  # the user's config is never rewritten
    linea = r.stdout.strip()
    assert linea.endswith(",") and CLAVE not in r.stdout + r.stderr
    valor = json.loads(linea.rstrip(","))
    assert valor["usuario"] == "ana" and valor["rol"] == "tutor" and valor["hash"].startswith("$argon2id$")
    assert valor["propuestas"] == ["Carrera B"] and valor["sedes"] == ["*"]
    assert verificar(valor["hash"], CLAVE) and not verificar(valor["hash"], CLAVE + "x")
    # pasted into the config it loads, and `usuarios verificar` agrees
    config.write_text(f"SOURCE_DATABASES = []\nDASHBOARD_USERS = [\n    {linea}\n]\n", encoding="utf-8")
    (cuenta,) = cargar_acceso().cuentas
    assert cuenta.usuario == Usuario("ana", TUTOR, ("Carrera B",), ("*",))
    monkeypatch.setattr(sys, "stdin", io.StringIO(CLAVE + "\n"))
    assert cli.main(["usuarios", "verificar", "--usuario", "ana", "--password-stdin"]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO("otra-clave-larga\n"))
    assert cli.main(["usuarios", "verificar", "--usuario", "ana", "--password-stdin"]) == 1
    assert cli.main(["usuarios", "listar"]) == 0
    assert "ana\ttutor\tpropuestas: Carrera B\tsedes: *" in capsys.readouterr().out
    # bad input: exit 2, nothing printed
    capsys.readouterr()
    for args, clave, motivo in (
        (("--usuario", "ana", "--rol", "tutor", "--password-stdin"), CLAVE, "a tutor needs --propuesta and --sede"),
        (("--usuario", "ana", "--rol", "admin", "--password-stdin"), "corta", "at least 10 characters"),
        (("--usuario", "con espacio", "--rol", "admin", "--password-stdin"), CLAVE, "is invalid"),
    ):
        monkeypatch.setattr(sys, "stdin", io.StringIO(clave + "\n"))
        assert cli.main(["usuarios", "agregar", *args]) == 2
        salida = capsys.readouterr()
        assert motivo in salida.err and salida.out == "", (args, salida.err)
    with pytest.raises(SystemExit) as salida:
        cli.main(["usuarios", "agregar", "--usuario", "ana", "--rol", "jefe"])
    assert salida.value.code == 2 and "invalid choice: 'jefe'" in capsys.readouterr().err


H = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA"
MALOS = [
    ("DASHBOARD_USERS = {'usuario': 'ana'}", "DASHBOARD_USERS must be a list of dicts, got dict"),
    ("DASHBOARD_USERS = ['ana']", "DASHBOARD_USERS[0]: each entry must be a dict, got str"),
    (f"DASHBOARD_USERS = [{{'usuario': 'ana', 'hash': '{H}'}}]", "DASHBOARD_USERS[0] ('ana'): missing key(s): rol"),
    (f"DASHBOARD_USERS = [{{'usuario': 'ana', 'rol': 'jefa', 'hash': '{H}'}}]", "rol 'jefa' is invalid"),
    ("DASHBOARD_USERS = [{'usuario': 'ana', 'rol': 'admin'}]", "('ana'): missing hash"),
    (
        "DASHBOARD_USERS = [{'usuario': 'ana', 'rol': 'admin', 'hash': 'secreto123'}]",
        "('ana'): hash is not an argon2 hash",
    ),
    (
        f"DASHBOARD_USERS = [{{'usuario': 'ana', 'rol': 'tutor', 'hash': '{H}', 'propuestas': ['*']}}]",
        "('ana'): a tutor needs sedes",
    ),
    (
        f"DASHBOARD_USERS = [{{'usuario': 'ana', 'rol': 'tutor', 'hash': '{H}', 'propuestas': [], 'sedes': ['*']}}]",
        "('ana'): propuestas is empty",
    ),
    (
        f"DASHBOARD_USERS = [{{'usuario': 'ana', 'rol': 'tutor', 'hash': '{H}', 'propuestas': 'Carrera B', "
        "'sedes': ['*']}]",
        "('ana'): propuestas must be a list of names",
    ),
    (
        f"DASHBOARD_USERS = [{{'usuario': 'ana', 'rol': 'admin', 'hash': '{H}', 'sedes': ['*', 'Norte']}}]",
        "sedes mixes '*' (all) with names",
    ),
    (f"DASHBOARD_USERS = [{{'usuario': 'ana', 'rol': 'admin', 'hash': '{H}', 'clave': 'x'}}]", "unknown key(s): clave"),
    (
        f"DASHBOARD_USERS = [{{'usuario': 'ana', 'rol': 'admin', 'hash': '{H}'}}, "
        f"{{'usuario': 'ANA', 'rol': 'direccion', 'hash': '{H}'}}]",
        "DASHBOARD_USERS[1] ('ANA'): duplicate usuario, already used by DASHBOARD_USERS[0]",
    ),
    ("DASHBOARD_TRUST_REMOTE_USER = 'yes'", "DASHBOARD_TRUST_REMOTE_USER must be True or False"),
    ("DASHBOARD_PROXIES = -1", "DASHBOARD_PROXIES must be the number of proxies"),
    ("DASHBOARD_SESSION_HOURS = 0", "DASHBOARD_SESSION_HOURS must be a number of hours"),
]


@pytest.mark.parametrize(("texto", "mensaje"), MALOS, ids=[f"malo{i}" for i in range(len(MALOS))])
def test_a_bad_users_entry_stops_the_dashboard_with_exit_2(tmp_path: Path, capsys, texto: str, mensaje: str):
    ruta = _config(tmp_path, texto + "\n")
    with pytest.raises(ConfigError, match=None) as error:
        cargar_acceso()
    assert mensaje in str(error.value) and str(ruta) in str(error.value)
    assert cli.main([]) == 2
    err = capsys.readouterr().err
    assert mensaje in err and "secreto123" not in err


def test_python_m_dwh_dashboard_serves_through_waitress_and_exits_2_on_bad_users(tmp_path: Path):
    ruta = _config(tmp_path, "DASHBOARD_USERS = [{'usuario': 'ana', 'rol': 'jefa'}]\n")
    entorno = os.environ.copy()
    r = subprocess.run(
        [sys.executable, "-m", "dwh.dashboard"], capture_output=True, text=True, cwd=RAIZ, env=entorno, timeout=120
    )
    assert r.returncode == 2 and f"{ruta}: DASHBOARD_USERS[0] ('ana'): rol 'jefa' is invalid" in r.stderr

    entrada = {"usuario": "ana", "rol": "admin", "hash": hash_de_prueba()}
    ruta.write_text(f"SOURCE_DATABASES = []\nDASHBOARD_USERS = [{entrada!r}]\n", encoding="utf-8")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        puerto = s.getsockname()[1]
    proceso = subprocess.Popen(
        [sys.executable, "-m", "dwh.dashboard", "--port", str(puerto), "--threads", "2"],
        cwd=RAIZ,
        env=entorno,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{puerto}"
        limite = time.monotonic() + 90
        while True:
            try:
                r = requests.get(base + "/", allow_redirects=False, timeout=5)
                break
            except requests.ConnectionError:
                assert proceso.poll() is None and time.monotonic() < limite, "the dashboard did not start"
                time.sleep(0.3)
        assert r.status_code == 302 and r.headers["Server"] == "waitress"
        assert iniciar_sesion(base, "ana").get(base + "/_dash-layout").status_code == 200
    finally:
        proceso.terminate()
        proceso.wait(30)
    assert "dashboard listening on" in proceso.stderr.read()


# --- the session key -----------------------------------------------------------------------------------------


def test_the_session_key_is_made_once_0400_beside_the_warehouse(tmp_path: Path):
    ruta = ruta_secreto()
    assert ruta == (tmp_path / "dashboard_session.key").resolve()
    clave = clave_de_sesion()
    assert stat.S_IMODE(ruta.stat().st_mode) == 0o400 and len(clave) >= 32
    assert clave_de_sesion() == clave
    ruta.chmod(0o440)
    with pytest.raises(ConfigError, match="readable by others"):
        clave_de_sesion()
    os.environ["DWH_DASHBOARD_SECRET"] = "corta"
    with pytest.raises(ConfigError, match="too short"):
        clave_de_sesion()
    os.environ["DWH_DASHBOARD_SECRET"] = "x" * 40
    assert clave_de_sesion() == b"x" * 40


# --- scope ---------------------------------------------------------------------------------------------------


def test_scope_checks_and_sql_predicate():
    ana = Usuario("ana", TUTOR, ("Carrera B", "sin dato"), ("Sede Norte",))
    assert en_alcance(ana, "carrera b ", "SEDE NORTE") and en_alcance(ana, None, "Sede Norte")
    assert not en_alcance(ana, "Carrera A", "Sede Norte") and not en_alcance(ana, "Carrera B", "Sede Sur")
    assert not en_alcance(None, "Carrera B", "Sede Norte")
    assert en_alcance(TUTORA, "lo que sea", None)
    assert puede_ver_nombres(ana) and not puede_ver_nombres(USUARIOS[1]) and not puede_ver_nombres(USUARIOS[2])
    with pytest.raises(FueraDeAlcance) as error:
        exigir_alcance(ana, "Carrera A", "Sede Norte", "student k1")
    assert error.value.code == 403
    assert opciones_en_alcance(ana.sedes, ["Sede Norte", "Sede Sur"]) == ["Sede Norte"]

    con = duckdb.connect()
    con.execute(
        "CREATE TABLE r AS SELECT * FROM (VALUES ('a', 'Carrera B', 'Sede Norte'), ('b', 'Carrera B', 'Sede Sur'), "
        "('c', 'Carrera A', 'Sede Norte'), ('d', NULL, 'sede norte'), ('e', 'Carrera B', NULL)) t(k, propuesta, sede)"
    )

    def claves(u: Usuario | None) -> list[str]:
        predicado, params = filtro_sql(u, "propuesta", "sede")
        return [f[0] for f in con.execute(f"SELECT k FROM r WHERE {predicado} ORDER BY k", params).fetchall()]

    assert claves(ana) == ["a", "d"]
    assert claves(TUTORA) == ["a", "b", "c", "d", "e"]
    assert claves(None) == []
    assert claves(Usuario("x", TUTOR, ("*",), ("Sede Sur",))) == ["b"]


def test_usuario_actual_outside_a_request_is_none():
    assert usuario_actual() is None
    assert acceso_de_prueba(TUTORA).cuenta("TUTORA").usuario == TUTORA
    assert hashear(CLAVE) != hash_de_prueba()  # salted
    valor, clave = usuario_generado("demo_tutor", TUTOR, ["*"], ["*"])
    assert len(clave) >= 16 and verificar(valor["hash"], clave) and valor["rol"] == TUTOR


# --- in a real browser ---------------------------------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


@pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()), reason="needs Debian's chromium and chromedriver at /usr/bin"
)
def test_in_chromium_the_login_is_required_and_a_wrong_password_refused(tmp_path: Path):
    from dashboard_login import iniciar_sesion_navegador
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    opciones = webdriver.ChromeOptions()
    for argumento in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        opciones.add_argument(argumento)
    opciones.add_argument(f"--user-data-dir={tmp_path / 'perfil'}")
    opciones.binary_location = str(CHROMIUM)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opciones)
    try:
        with servidor_waitress(app_con_usuarios(AUSENTE)) as base:
            driver.get(base + "/")
            assert "/login?next=" in driver.current_url
            driver.find_element(By.ID, "usuario").send_keys("tutora")
            driver.find_element(By.ID, "clave").send_keys("no-es-esta")
            driver.find_element(By.ID, "ingresar").click()
            mensaje = WebDriverWait(driver, 15).until(lambda d: d.find_element(By.ID, "mensaje-login"))
            assert mensaje.text == "Usuario o contraseña incorrectos." and "/login" in driver.current_url
            iniciar_sesion_navegador(driver, base, "tutora")
            # the dashboard itself (no published file here: its notice)
            WebDriverWait(driver, 15).until(lambda d: d.find_element(By.ID, "sin-publicado"))
            galleta = driver.get_cookie("dwh_sesion")
            assert galleta["httpOnly"] and galleta["sameSite"] == "Lax"
            driver.get(base + "/logout")
            driver.get(base + "/")
            assert "/login" in driver.current_url
    finally:
        driver.quit()
