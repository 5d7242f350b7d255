"""Serve the dashboard (python -m dwh.dashboard [--host H] [--port P]) or manage its users (usuarios ...)."""

from __future__ import annotations

import argparse
import getpass
import ipaddress
import json
import logging
import sys
from pathlib import Path

from dwh.dashboard.servidor import hilos_por_defecto, servir
from dwh.dashboard.usuarios import ROLES, TODAS, TUTOR, ConfigAcceso, cargar_acceso, entrada, hashear, verificar
from dwh.logs import setup_logging
from dwh.settings import ConfigError, dashboard_port, memory_limit

log = logging.getLogger("dwh.dashboard")

MINIMO_CLAVE = 10


def argumentos(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m dwh.dashboard",
        description=__doc__,
        epilog="Users, roles and the reverse proxy: dwh/docs/DASHBOARD_ACCESS.md. Environment: DWH_CONFIG, "
        "DWH_DASHBOARD_PORT, DWH_DASHBOARD_THREADS, DWH_DASHBOARD_SECRET, DWH_DASHBOARD_SECRET_FILE.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--port",
        type=int,
        # argparse converts a string default with `type`, so a bad variable is a usage error, not a traceback.
        default=dashboard_port() or 8050,
        help="port (default $DWH_DASHBOARD_PORT, else 8050)",
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="requests served at once (default $DWH_DASHBOARD_THREADS, else 8)"
    )
    parser.add_argument(
        "--sin-login",
        action="store_true",
        help="no login, for a local demo: everyone is 'direccion' (aggregates, no names); loopback addresses only",
    )
    comandos = parser.add_subparsers(dest="comando", metavar="usuarios")
    usuarios = comandos.add_parser("usuarios", help="make and check DASHBOARD_USERS entries")
    acciones = usuarios.add_subparsers(dest="accion", required=True, metavar="{agregar,verificar,listar}")

    agregar = acciones.add_parser(
        "agregar",
        help="hash a password and print the entry to paste into DASHBOARD_USERS (the config is not changed)",
    )
    agregar.add_argument("--usuario", required=True, help="the login name (or the name the SSO passes)")
    agregar.add_argument("--rol", required=True, choices=ROLES, help="direccion, tutor or admin")
    agregar.add_argument(
        "--propuesta", action="append", help="a program's name as the dashboard shows it (repeat; '*' = all)"
    )
    agregar.add_argument("--sede", action="append", help="a site's name as the dashboard shows it (repeat; '*' = all)")
    agregar.add_argument("--password-stdin", action="store_true", help="read the password from stdin (one line)")

    verificar_ = acciones.add_parser("verificar", help="check a user's password against the config (exit 0 or 1)")
    verificar_.add_argument("--usuario", required=True)
    verificar_.add_argument("--password-stdin", action="store_true", help="read the password from stdin (one line)")

    acciones.add_parser("listar", help="print the declared users with role and scope (no hashes)")
    args = parser.parse_args(argv)
    if args.threads is not None and not 1 <= args.threads <= 256:
        parser.error("--threads must be between 1 and 256")
    return args


def _leer_clave(desde_stdin: bool, confirmar: bool) -> str:
    if desde_stdin:
        clave = sys.stdin.readline().rstrip("\r\n")
    else:
        clave = getpass.getpass("Contraseña: ")
        if confirmar and getpass.getpass("Repita la contraseña: ") != clave:
            raise ConfigError("the two passwords differ; nothing was printed")
    return clave


def _agregar(args: argparse.Namespace) -> int:
    propuestas, sedes = args.propuesta, args.sede
    if args.rol == TUTOR and (not propuestas or not sedes):
        raise ConfigError("a tutor needs --propuesta and --sede (names as the dashboard shows them, or '*' for all)")
    clave = _leer_clave(args.password_stdin, confirmar=True)
    if len(clave) < MINIMO_CLAVE:
        raise ConfigError(f"the password must have at least {MINIMO_CLAVE} characters; nothing was printed")
    valor = entrada(args.usuario, args.rol, hashear(clave), propuestas, sedes)
    try:
        if cargar_acceso().cuenta(args.usuario) is not None:
            log.warning("%s is already in DASHBOARD_USERS: replace that entry with this one", args.usuario)
    except ConfigError:
        pass  # no config yet, or one being written: the entry is printed all the same
    print(json.dumps(valor, ensure_ascii=False) + ",")
    return 0


def _verificar(args: argparse.Namespace) -> int:
    config = cargar_acceso()
    cuenta = config.cuenta(args.usuario)
    clave = _leer_clave(args.password_stdin, confirmar=False)
    if cuenta is None or not verificar(cuenta.hash, clave):
        log.error("%s: no user %r with that password", config.origen, args.usuario)
        return 1
    log.info("%s: the password of %s (%s) is right", config.origen, cuenta.usuario.usuario, cuenta.usuario.rol)
    return 0


def _listar() -> int:
    for u in cargar_acceso().usuarios:
        print(f"{u.usuario}\t{u.rol}\tpropuestas: {', '.join(u.propuestas)}\tsedes: {', '.join(u.sedes)}")
    return 0


def _es_local(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _acceso(args: argparse.Namespace) -> ConfigAcceso:
    if args.sin_login:
        if not _es_local(args.host):
            raise ConfigError(f"--sin-login serves only on a loopback address (127.0.0.1, ::1), not {args.host}")
        log.warning("no login (--sin-login): everyone who reaches the port sees the aggregate views, never names")
        return ConfigAcceso(sin_login=True, origen="--sin-login")
    config = cargar_acceso()
    if not config.cuentas:
        raise ConfigError(
            f"{config.origen}: DASHBOARD_USERS is empty or not defined: add users (python -m dwh.dashboard usuarios "
            "agregar --usuario U --rol R, then paste the entry it prints), or pass --sin-login for a local demo"
        )
    return config


def _avisar_alcance(config: ConfigAcceso, ruta: Path) -> None:
    """Warn about scope names the published data does not have (a typo would silently show nothing)."""
    from dwh.dashboard import queries as q

    try:
        with q.conectar(ruta) as con:
            opciones = q.opciones(con)
    except Exception:
        return
    for clave, conocidos in (("propuestas", opciones["propuestas"]), ("sedes", opciones["sedes"])):
        normales = {str(c).strip().lower() for c in conocidos}
        for u in config.usuarios:
            for nombre in getattr(u, clave):
                if nombre != TODAS and nombre.lower() not in normales:
                    log.warning("user %s: %s has %r, which the published data does not have", u.usuario, clave, nombre)


def _servir(args: argparse.Namespace) -> int:
    # Imported here: Dash and Plotly take seconds to load, which `usuarios ...` does not need.
    from dwh.dashboard.app import create_app
    from dwh.dashboard.publicado import ruta_publicada

    hilos = args.threads if args.threads is not None else hilos_por_defecto()
    memory_limit()  # a bad DWH_MEMORY_LIMIT stops here (exit 2), not at the first query
    config = _acceso(args)
    ruta = ruta_publicada()
    log.info("dashboard reading %s (read-only); users from %s", ruta, config.origen)
    if not ruta.is_file():
        log.warning("no published warehouse at %s yet: run python -m dwh.main", ruta)
    else:
        _avisar_alcance(config, ruta)
    app = create_app(ruta, acceso=config)
    servir(app.server, args.host, args.port, hilos, config.proxies)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = argumentos(argv)
    setup_logging()
    try:
        if args.comando == "usuarios":
            return {"agregar": _agregar, "verificar": _verificar, "listar": lambda _: _listar()}[args.accion](args)
        return _servir(args)
    except ConfigError as exc:
        log.error("%s", exc)
        return 2
    except OSError as exc:
        log.error("cannot serve the dashboard on %s:%s: %s", args.host, args.port, exc.strerror or exc)
        return 1


if __name__ == "__main__":
    sys.exit(main())
