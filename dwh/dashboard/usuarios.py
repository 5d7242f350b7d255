"""The dashboard's users and access settings, read from the config file (DASHBOARD_*), and password hashing."""

from __future__ import annotations

import functools
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from dwh.settings import ConfigError, _run_config_file, default_config_path

DIRECCION = "direccion"
TUTOR = "tutor"
ADMIN = "admin"
ROLES = (DIRECCION, TUTOR, ADMIN)
TODAS = "*"

_CLAVES_USUARIO = frozenset({"usuario", "hash", "rol", "propuestas", "sedes"})
# SSO user names are often e-mail addresses; nothing that could split a header or a log line.
_USUARIO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")
_CABECERA_RE = re.compile(r"^[A-Za-z0-9-]+$")
_HORAS_SESION = 8.0


@dataclass(frozen=True)
class Usuario:
    """Who is using the dashboard: role and scope, never the password hash.

    `propuestas` and `sedes` are the programs' and sites' names as the dashboard shows them (the marts'
    propuesta_nombre / sede_nombre, "sin dato" when missing); ("*",) covers all of them.
    """

    usuario: str
    rol: str
    propuestas: tuple[str, ...] = (TODAS,)
    sedes: tuple[str, ...] = (TODAS,)


@dataclass(frozen=True, repr=False)
class Cuenta:
    """A declared user with its argon2 hash (None: only through REMOTE_USER)."""

    usuario: Usuario
    hash: str | None

    def __repr__(self) -> str:
        return f"Cuenta({self.usuario!r}, hash={'***' if self.hash else None})"


@dataclass(frozen=True)
class ConfigAcceso:
    """Everything the login needs: the users and how the dashboard sits behind a proxy.

    `sin_login`: no login at all, every request is an anonymous `direccion` (local demos only).
    `secreto`: the session-signing key; None reads it from DWH_DASHBOARD_SECRET or the key file.
    """

    cuentas: tuple[Cuenta, ...] = ()
    confiar_remote_user: bool = False
    cabecera_remote_user: str = "Remote-User"
    proxies: int = 0
    cookie_segura: bool = False
    horas_sesion: float = _HORAS_SESION
    sin_login: bool = False
    secreto: bytes | None = field(default=None, repr=False)
    origen: str = "(in code)"

    def cuenta(self, nombre: str) -> Cuenta | None:
        """The account named `nombre` (user names compare case-insensitively)."""
        clave = nombre.strip().lower()
        return next((c for c in self.cuentas if c.usuario.usuario.lower() == clave), None)

    @property
    def usuarios(self) -> tuple[Usuario, ...]:
        return tuple(c.usuario for c in self.cuentas)


# --- hashing ---------------------------------------------------------------------------------------------------


@functools.cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()


def hashear(clave: str) -> str:
    """The argon2id hash of a password (argon2-cffi's defaults, salted)."""
    return _hasher().hash(clave)


@functools.cache
def _hash_senuelo() -> str:
    return hashear(secrets.token_urlsafe(24))


def verificar(hash_: str | None, clave: str) -> bool:
    """The password matches the hash; an unknown user (hash None) costs the same verify and fails."""
    try:
        if hash_ is None:
            _hasher().verify(_hash_senuelo(), clave)
            return False
        return _hasher().verify(hash_, clave)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def entrada(usuario: str, rol: str, hash_: str, propuestas: list[str] | None, sedes: list[str] | None) -> dict:
    """The DASHBOARD_USERS entry for a user (validated as the config loader would)."""
    valor: dict[str, Any] = {"usuario": usuario, "hash": hash_, "rol": rol}
    if propuestas is not None:
        valor["propuestas"] = list(propuestas)
    if sedes is not None:
        valor["sedes"] = list(sedes)
    _cuenta(Path("(command line)"), 0, valor, requiere_hash=True)
    return valor


def usuario_generado(
    usuario: str, rol: str, propuestas: list[str] | None = None, sedes: list[str] | None = None
) -> tuple[dict, str]:
    """A DASHBOARD_USERS entry with a fresh random password, and that password (e.g. the demo's users)."""
    clave = secrets.token_urlsafe(12)
    return entrada(usuario, rol, hashear(clave), propuestas, sedes), clave


# --- loading ---------------------------------------------------------------------------------------------------


def cargar_acceso(path: str | Path | None = None) -> ConfigAcceso:
    """Read and validate DASHBOARD_* from the config file (DWH_CONFIG, else dwh/config.py)."""
    ruta = (Path(path) if path is not None else default_config_path()).expanduser().resolve()
    return acceso_desde(_run_config_file(ruta), ruta)


def acceso_desde(ns: dict[str, Any], ruta: Path) -> ConfigAcceso:
    """Validate the DASHBOARD_* names of an executed config file; ConfigError names the entry at fault."""
    confiar = ns.get("DASHBOARD_TRUST_REMOTE_USER", False)
    if not isinstance(confiar, bool):
        raise ConfigError(f"{ruta}: DASHBOARD_TRUST_REMOTE_USER must be True or False, got {confiar!r}")
    cabecera = ns.get("DASHBOARD_REMOTE_USER_HEADER", "Remote-User")
    if not isinstance(cabecera, str) or not _CABECERA_RE.match(cabecera):
        raise ConfigError(f"{ruta}: DASHBOARD_REMOTE_USER_HEADER must be an HTTP header name, got {cabecera!r}")
    proxies = ns.get("DASHBOARD_PROXIES", 0)
    if isinstance(proxies, bool) or not isinstance(proxies, int) or not 0 <= proxies <= 5:
        raise ConfigError(f"{ruta}: DASHBOARD_PROXIES must be the number of proxies in front (0-5), got {proxies!r}")
    segura = ns.get("DASHBOARD_COOKIE_SECURE", False)
    if not isinstance(segura, bool):
        raise ConfigError(f"{ruta}: DASHBOARD_COOKIE_SECURE must be True or False, got {segura!r}")
    horas = ns.get("DASHBOARD_SESSION_HOURS", _HORAS_SESION)
    if isinstance(horas, bool) or not isinstance(horas, (int, float)) or not 0 < horas <= 24 * 31:
        raise ConfigError(f"{ruta}: DASHBOARD_SESSION_HOURS must be a number of hours in (0, 744], got {horas!r}")

    entradas = ns.get("DASHBOARD_USERS", [])
    if not isinstance(entradas, (list, tuple)):
        raise ConfigError(f"{ruta}: DASHBOARD_USERS must be a list of dicts, got {type(entradas).__name__}")
    cuentas: list[Cuenta] = []
    primero: dict[str, int] = {}
    for i, e in enumerate(entradas):
        cuenta = _cuenta(ruta, i, e, requiere_hash=not confiar)
        clave = cuenta.usuario.usuario.lower()
        if clave in primero:
            raise ConfigError(
                f"{_donde(ruta, i, cuenta.usuario.usuario)}: duplicate usuario, "
                f"already used by DASHBOARD_USERS[{primero[clave]}]"
            )
        primero[clave] = i
        cuentas.append(cuenta)
    return ConfigAcceso(
        cuentas=tuple(cuentas),
        confiar_remote_user=confiar,
        cabecera_remote_user=cabecera,
        proxies=proxies,
        cookie_segura=segura,
        horas_sesion=float(horas),
        origen=str(ruta),
    )


def _donde(ruta: Path, i: int, nombre: object = None) -> str:
    etiqueta = f"{ruta}: DASHBOARD_USERS[{i}]"
    if isinstance(nombre, str) and nombre:
        etiqueta += f" ({nombre!r})"
    return etiqueta


def _cuenta(ruta: Path, i: int, e: object, requiere_hash: bool) -> Cuenta:
    if not isinstance(e, dict):
        raise ConfigError(f"{_donde(ruta, i)}: each entry must be a dict, got {type(e).__name__}")
    donde = _donde(ruta, i, e.get("usuario"))
    faltan = sorted({"usuario", "rol"} - e.keys())
    if faltan:
        raise ConfigError(f"{donde}: missing key(s): {', '.join(faltan)}")
    sobran = sorted(str(k) for k in e.keys() - _CLAVES_USUARIO)
    if sobran:
        raise ConfigError(
            f"{donde}: unknown key(s): {', '.join(sobran)} (allowed: {', '.join(sorted(_CLAVES_USUARIO))})"
        )
    nombre = e["usuario"]
    if not isinstance(nombre, str) or not _USUARIO_RE.match(nombre):
        raise ConfigError(
            f"{donde}: usuario {nombre!r} is invalid: use letters, digits and . _ @ + - (at most 128, no spaces)"
        )
    rol = e["rol"]
    if rol not in ROLES:
        raise ConfigError(f"{donde}: rol {rol!r} is invalid: expected one of {', '.join(ROLES)}")
    hash_ = e.get("hash")
    if hash_ is None:
        if requiere_hash:
            raise ConfigError(
                f"{donde}: missing hash (make one with python -m dwh.dashboard usuarios agregar; "
                "only users who come through DASHBOARD_TRUST_REMOTE_USER may go without)"
            )
    elif not isinstance(hash_, str) or not hash_.startswith("$argon2") or not _hash_legible(hash_):
        # The value itself is never echoed: a pasted password must not end up in a log.
        raise ConfigError(
            f"{donde}: hash is not an argon2 hash (make one with python -m dwh.dashboard usuarios agregar)"
        )
    if rol == TUTOR:
        faltan = [k for k in ("propuestas", "sedes") if k not in e]
        if faltan:
            raise ConfigError(
                f"{donde}: a tutor needs {' and '.join(faltan)}: the names the dashboard shows, or ['*'] for all"
            )
    propuestas = _alcance(donde, "propuestas", e.get("propuestas", [TODAS]))
    sedes = _alcance(donde, "sedes", e.get("sedes", [TODAS]))
    return Cuenta(Usuario(nombre, rol, propuestas, sedes), hash_)


def _hash_legible(hash_: str) -> bool:
    try:
        extract_parameters(hash_)
    except (InvalidHashError, ValueError):
        return False
    return True


def _alcance(donde: str, clave: str, valor: object) -> tuple[str, ...]:
    if not isinstance(valor, (list, tuple)) or not all(isinstance(v, str) and v.strip() for v in valor):
        raise ConfigError(f"{donde}: {clave} must be a list of names (strings), got {valor!r}")
    if not valor:
        raise ConfigError(f"{donde}: {clave} is empty: list the names it covers, or ['*'] for all")
    nombres = tuple(v.strip() for v in valor)
    if TODAS in nombres and len(nombres) > 1:
        raise ConfigError(f"{donde}: {clave} mixes '*' (all) with names; use ['*'] alone or the names alone")
    return nombres
