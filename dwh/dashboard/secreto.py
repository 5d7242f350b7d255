"""The key that signs the dashboard's session cookies: from the environment, else a 0400 file made once."""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

from dwh.settings import ConfigError, dashboard_secret, dashboard_secret_file, warehouse_path

log = logging.getLogger("dwh.dashboard.acceso")

MINIMO = 32  # characters of DWH_DASHBOARD_SECRET / bytes of the file


def ruta_secreto() -> Path:
    """$DWH_DASHBOARD_SECRET_FILE, else dashboard_session.key in the warehouse's directory (never inside the
    published copy, which readers of the warehouse can open)."""
    ruta = dashboard_secret_file() or warehouse_path().parent / "dashboard_session.key"
    return ruta.expanduser().resolve()


def clave_de_sesion() -> bytes:
    """$DWH_DASHBOARD_SECRET, else the key file's bytes (created with 64 random hex characters, mode 0400)."""
    env = dashboard_secret()
    if env:
        if len(env) < MINIMO:
            raise ConfigError(f"DWH_DASHBOARD_SECRET is too short: use at least {MINIMO} random characters")
        return env.encode()
    ruta = ruta_secreto()
    try:
        _crear(ruta)
    except FileExistsError:
        pass
    except OSError as exc:
        raise ConfigError(f"{ruta}: cannot create the session key file: {exc.strerror or exc}") from None
    return _leer(ruta)


def _crear(ruta: Path) -> None:
    if ruta.exists():
        raise FileExistsError(ruta)
    ruta.parent.mkdir(parents=True, exist_ok=True)
    temporal = ruta.with_name(f".{ruta.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporal, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
    try:
        try:
            os.write(fd, secrets.token_hex(MINIMO).encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        # link() fails if the name exists: two servers starting together agree on one complete key.
        os.link(temporal, ruta)
    finally:
        temporal.unlink(missing_ok=True)
    log.info("created the dashboard's session key %s (mode 0400)", ruta)


def _leer(ruta: Path) -> bytes:
    try:
        modo = ruta.stat().st_mode
        clave = ruta.read_bytes().strip()
    except OSError as exc:
        raise ConfigError(f"{ruta}: cannot read the session key file: {exc.strerror or exc}") from None
    if modo & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"{ruta}: the session key file is readable by others: chmod 400 it")
    if len(clave) < MINIMO:
        raise ConfigError(f"{ruta}: the session key file holds fewer than {MINIMO} bytes: delete it to make a new one")
    return clave
