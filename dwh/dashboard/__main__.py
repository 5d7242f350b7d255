"""Serve the dashboard: python -m dwh.dashboard [--host H] [--port P] (default 127.0.0.1:8050)."""

from __future__ import annotations

import argparse
import logging
import os

from dwh.dashboard.app import create_app
from dwh.dashboard.publicado import ruta_publicada
from dwh.logs import setup_logging

log = logging.getLogger("dwh.dashboard")


def argumentos(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m dwh.dashboard", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--port",
        type=int,
        # argparse converts a string default with `type`, so a bad variable is a usage error, not a traceback.
        default=os.environ.get("DWH_DASHBOARD_PORT") or 8050,
        help="port (default $DWH_DASHBOARD_PORT, else 8050)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = argumentos(argv)
    setup_logging()
    ruta = ruta_publicada()
    log.info("dashboard on http://%s:%d/ reading %s (read-only)", args.host, args.port, ruta)
    if not ruta.is_file():
        log.warning("no published warehouse at %s yet: run python -m dwh.main", ruta)
    create_app(ruta).run(host=args.host, port=args.port, debug=False)


if __name__ == "__main__":
    main()
