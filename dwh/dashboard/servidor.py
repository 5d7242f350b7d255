"""Serve the dashboard's WSGI app with waitress (a production server), not Flask's development server."""

from __future__ import annotations

import logging
from typing import Any

from waitress import create_server

from dwh.settings import ConfigError, dashboard_threads

log = logging.getLogger("dwh.dashboard")

HILOS = 8


def hilos_por_defecto() -> int:
    """$DWH_DASHBOARD_THREADS, else 8: requests served at once (each callback holds one thread)."""
    raw = dashboard_threads()
    if not raw:
        return HILOS
    if not raw.isdigit() or not 1 <= int(raw) <= 256:
        raise ConfigError(f"DWH_DASHBOARD_THREADS={raw!r} is not a whole number of threads between 1 and 256")
    return int(raw)


def crear_servidor(wsgi: Any, host: str, port: int, hilos: int = HILOS, proxies: int = 0) -> Any:
    """A bound waitress server (not yet serving: call .run(); .effective_port is the port bound).

    With `proxies` > 0 the X-Forwarded-* headers are passed on to the app, which trusts that many hops
    (werkzeug's ProxyFix, installed by acceso.instalar); otherwise waitress strips them, so a client
    cannot pretend to come over TLS or from another address.
    """
    return create_server(
        wsgi,
        host=host,
        port=port,
        threads=hilos,
        clear_untrusted_proxy_headers=proxies == 0,
    )


def parar(servidor: Any, espera: float = 10.0) -> None:
    """Stop a server whose run() is looping in another thread: everything is closed from inside its loop
    (closing sockets from this thread would pull them from under select), then its worker threads end."""

    def cerrar_todo() -> None:
        for dispatcher in list(servidor._map.values()):
            dispatcher.close()

    servidor.trigger.pull_trigger(cerrar_todo)
    servidor.task_dispatcher.shutdown(timeout=espera)


def servir(wsgi: Any, host: str, port: int, hilos: int = HILOS, proxies: int = 0) -> None:
    """Serve until interrupted."""
    servidor = crear_servidor(wsgi, host, port, hilos, proxies)
    log.info("dashboard listening on http://%s:%s/ (waitress, %d threads)", host, servidor.effective_port, hilos)
    try:
        servidor.run()
    except KeyboardInterrupt:
        log.info("dashboard stopped")
    finally:
        servidor.close()
