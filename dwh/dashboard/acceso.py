"""Login, session cookie and the guard that puts every route of the dashboard's Flask server behind them."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import math
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from flask import Flask, Response, current_app, g, has_request_context, jsonify, redirect, request, session
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

from dwh.dashboard import pagina_login as pl
from dwh.dashboard import textos as t
from dwh.dashboard.limite import Limitador
from dwh.dashboard.secreto import clave_de_sesion
from dwh.dashboard.usuarios import DIRECCION, ConfigAcceso, Cuenta, Usuario, verificar

log = logging.getLogger("dwh.dashboard.acceso")

EXTENSION = "dwh_acceso"
COOKIE = "dwh_sesion"
LOGIN = "/login"
LOGOUT = "/logout"
# Who everyone is with --sin-login: the aggregate views, never a name.
ANONIMO = Usuario("sin-login", DIRECCION)
_PUBLICOS = frozenset({"dwh_login", "dwh_logout"})
# Responses that carry data or a form: never kept by a browser or proxy cache.
_SIN_CACHE = ("/_dash-update-component", "/_dash-layout", LOGIN)
_MAX_USUARIO = 128
_MAX_CLAVE = 1024


@dataclass
class _Estado:
    config: ConfigAcceso
    limitador: Limitador


class _SesionCookie(SecureCookieSessionInterface):
    """Flask's signed cookie, Secure when configured so or when the request came over TLS (through a
    trusted proxy's X-Forwarded-Proto when DASHBOARD_PROXIES is set)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or (has_request_context() and request.is_secure)


def instalar(server: Flask, config: ConfigAcceso) -> None:
    """Put `server` behind the login of `config`: /login, /logout, the guard and the session settings."""
    server.secret_key = config.secreto if config.secreto is not None else clave_de_sesion()
    server.config.update(
        SESSION_COOKIE_NAME=COOKIE,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.cookie_segura,
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=config.horas_sesion),
    )
    server.session_interface = _SesionCookie()
    if config.proxies:
        n = config.proxies
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=n, x_proto=n, x_host=n, x_prefix=n)  # type: ignore[method-assign]
    server.extensions[EXTENSION] = _Estado(config, Limitador())
    server.add_url_rule(LOGIN, "dwh_login", _login, methods=["GET", "POST"])
    server.add_url_rule(LOGOUT, "dwh_logout", _logout, methods=["GET", "POST"])
    # First of all hooks: nothing of Dash runs for a request without a user.
    server.before_request_funcs.setdefault(None, []).insert(0, _guardia)
    server.after_request(_cabeceras)


# --- the API for views and callbacks ------------------------------------------------------------------------


def usuario_actual() -> Usuario | None:
    """The user of the current request (None outside a request, e.g. in a test calling a view directly)."""
    if not has_request_context():
        return None
    return g.get("dwh_usuario")


def acceso_de(server: Flask | None = None) -> ConfigAcceso | None:
    """The access settings the server (default: the current app) was installed with."""
    app = server if server is not None else (current_app if has_request_context() else None)
    estado = app.extensions.get(EXTENSION) if app is not None else None
    return estado.config if estado is not None else None


def usuarios_declarados() -> tuple[Usuario, ...]:
    """The declared users (role and scope, no hashes) of the current app, for the admin's users view."""
    config = acceso_de()
    return config.usuarios if config is not None else ()


# --- the guard ----------------------------------------------------------------------------------------------


def _estado() -> _Estado:
    return current_app.extensions[EXTENSION]


def _huella(cuenta: Cuenta) -> str:
    """Changes when the user's hash, role or scope changes: their older sessions stop working."""
    u = cuenta.usuario
    texto = "\x1f".join([u.usuario, u.rol, *u.propuestas, "|", *u.sedes, cuenta.hash or ""])
    return hashlib.sha256(texto.encode()).hexdigest()[:24]


def _de_sesion(config: ConfigAcceso) -> Usuario | None:
    nombre = session.get("usuario")
    if not isinstance(nombre, str):
        return None
    cuenta = config.cuenta(nombre)
    if cuenta is None or not hmac.compare_digest(str(session.get("huella", "")), _huella(cuenta)):
        session.clear()
        return None
    return cuenta.usuario


def _remoto(config: ConfigAcceso) -> str | None:
    """The name a trusted proxy (or the WSGI container) passed, when DASHBOARD_TRUST_REMOTE_USER is on."""
    if not config.confiar_remote_user:
        return None
    nombre = request.environ.get("REMOTE_USER") or request.headers.get(config.cabecera_remote_user)
    return nombre.strip() if nombre and nombre.strip() else None


def _guardia() -> Response | tuple | None:
    config = _estado().config
    if config.sin_login:
        g.dwh_usuario = ANONIMO
        return None
    if request.endpoint in _PUBLICOS:
        return None
    remoto = _remoto(config)
    if remoto is not None:
        cuenta = config.cuenta(remoto)
        if cuenta is None:
            log.warning("REMOTE_USER %r is not in DASHBOARD_USERS: 403 for %s", remoto[:_MAX_USUARIO], request.path)
            return _prohibido(remoto)
        g.dwh_usuario = cuenta.usuario
        return None
    usuario = _de_sesion(config)
    if usuario is None:
        return _sin_sesion()
    g.dwh_usuario = usuario
    return None


def _quiere_json() -> bool:
    if request.path.startswith("/_dash-") or request.is_json:
        return True
    mejor = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return mejor == "application/json" or request.headers.get("X-Requested-With") == "XMLHttpRequest"


def _sin_sesion() -> Response | tuple:
    if _quiere_json() or request.method not in ("GET", "HEAD"):
        respuesta = jsonify(error="sesión requerida", login=request.script_root + LOGIN)
        return respuesta, 401
    destino = request.path + (f"?{request.query_string.decode('latin-1')}" if request.query_string else "")
    return redirect(f"{request.script_root}{LOGIN}?{_consulta(next=destino)}", code=302)


def _prohibido(remoto: str) -> tuple:
    mensaje = pl.REMOTE_USER_DESCONOCIDO.format(usuario=remoto[:_MAX_USUARIO])
    if _quiere_json():
        return jsonify(error=mensaje), 403
    return pl.pagina(t.TITULO, mensaje=mensaje, formulario=False), 403


def _consulta(**valores: str) -> str:
    return urlencode(valores)


def _cabeceras(respuesta: Response) -> Response:
    respuesta.headers.setdefault("X-Content-Type-Options", "nosniff")
    respuesta.headers.setdefault("X-Frame-Options", "DENY")
    respuesta.headers.setdefault("Referrer-Policy", "same-origin")
    if request.path in _SIN_CACHE:
        respuesta.headers["Cache-Control"] = "no-store"
    return respuesta


# --- /login and /logout -------------------------------------------------------------------------------------


def _siguiente(valor: object) -> str:
    """Where to go after the login: only a path of this site (never //host or an absolute URL)."""
    if not isinstance(valor, str) or not valor.startswith("/") or valor.startswith("//") or "\\" in valor:
        return "/"
    partes = urlsplit(valor)
    if partes.scheme or partes.netloc or any(ord(c) < 32 for c in valor):
        return "/"
    return valor


def _csrf() -> str:
    token = session.get("csrf")
    if not isinstance(token, str):
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def _formulario(siguiente: str, mensaje: str = "", usuario: str = "", aviso: bool = False) -> str:
    return pl.pagina(
        t.TITULO,
        accion=request.script_root + LOGIN,
        csrf=_csrf(),
        siguiente=siguiente,
        usuario=usuario,
        mensaje=mensaje,
        aviso=aviso,
    )


def _login() -> Response | tuple | str:
    estado = _estado()
    config = estado.config
    siguiente = _siguiente(request.values.get("next"))
    remoto = _remoto(config)
    if config.sin_login or _de_sesion(config) is not None or (remoto is not None and config.cuenta(remoto)):
        return redirect(request.script_root + siguiente, code=303)
    if request.method == "GET":
        aviso = request.args.get("salida") == "1"
        return _formulario(siguiente, pl.SESION_CERRADA if aviso else "", aviso=aviso)

    nombre = (request.form.get("usuario") or "").strip()[:_MAX_USUARIO]
    clave = (request.form.get("clave") or "")[:_MAX_CLAVE]
    enviado = request.form.get("csrf") or ""
    esperado = session.get("csrf")
    if not isinstance(esperado, str) or not hmac.compare_digest(enviado.encode(), esperado.encode()):
        return _formulario(siguiente, pl.FORMULARIO_VENCIDO, nombre), 400

    direccion = request.remote_addr or "?"
    claves = (f"u:{nombre.lower()}", f"ip:{direccion}")
    espera = estado.limitador.espera(*claves)
    if espera > 0:
        log.warning("login refused for %s: throttled for %.0f s more", direccion, espera)
        mensaje = pl.DEMASIADOS_INTENTOS.format(minutos=max(1, math.ceil(espera / 60)))
        cuerpo = _formulario(siguiente, mensaje, nombre)
        return cuerpo, 429, {"Retry-After": str(math.ceil(espera))}

    cuenta = config.cuenta(nombre) if nombre else None
    # Always one argon2 verify, known user or not: the time taken does not tell which names exist.
    if not verificar(cuenta.hash if cuenta is not None else None, clave) or cuenta is None:
        estado.limitador.fallo(*claves)
        # An unknown "user name" may be a password typed in the wrong box: only declared names are logged.
        quien = repr(cuenta.usuario.usuario) if cuenta is not None else "an unknown user"
        log.warning("failed login for %s from %s", quien, direccion)
        return _formulario(siguiente, pl.CREDENCIALES_INVALIDAS, nombre), 401

    estado.limitador.exito(claves[0])
    session.clear()
    session.permanent = True
    session["usuario"] = cuenta.usuario.usuario
    session["huella"] = _huella(cuenta)
    log.info("login of %s (%s) from %s", cuenta.usuario.usuario, cuenta.usuario.rol, direccion)
    return redirect(request.script_root + siguiente, code=303)


def _logout() -> Response:
    nombre = session.get("usuario")
    session.clear()
    if nombre:
        log.info("logout of %s", nombre)
    return redirect(f"{request.script_root}{LOGIN}?salida=1", code=303)
