"""The rules a recorded intervention and an audit row must meet; messages in Spanish, shown to tutors as is."""

from __future__ import annotations

import datetime as dt
import json
import re
import zoneinfo
from collections.abc import Mapping, Sequence
from typing import Any

from dwh.settings import time_zone

CANALES = ("telefono", "email", "presencial", "mensajeria", "otro")
RESULTADOS = ("contactado", "no_responde", "derivado", "otro")
ACCIONES = ("ver_lista", "ver_alumno", "exportar", "registrar_intervencion")
MAX_NOTA = 4000
MAX_USUARIO = 200
MAX_VISTA = 100
EARLIEST = dt.date(2000, 1, 1)
# The warehouse's pseudonymous key (hex or url-safe text); never a name, a DNI or a legajo.
_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{16,128}$")


class InvalidIntervention(ValueError):
    """Some values break the rules; `errores` maps each field to what is wrong with it."""

    def __init__(self, errores: dict[str, str]) -> None:
        self.errores = errores
        super().__init__("datos inválidos: " + "; ".join(f"{campo}: {texto}" for campo, texto in errores.items()))


def key_problem(value: object) -> str | None:
    if not isinstance(value, str) or not _KEY_RE.match(value) or value.isdigit():
        return f"{str(value)[:40]!r} no es una clave seudónima de alumno (la del warehouse, no un nombre, DNI o legajo)"
    return None


def local_today() -> dt.date:
    return dt.datetime.now(zoneinfo.ZoneInfo(time_zone())).date()


def _date(value: object, field: str, errores: dict[str, str]) -> dt.date | None:
    if isinstance(value, dt.datetime):
        errores[field] = "debe ser una fecha, sin hora"
        return None
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    errores[field] = f"{str(value)[:40]!r} no es una fecha AAAA-MM-DD"
    return None


def _usuario(value: object, errores: dict[str, str]) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > MAX_USUARIO or not text.isprintable():
        errores["usuario"] = f"falta el usuario o no es válido (hasta {MAX_USUARIO} caracteres imprimibles)"
    return text


def intervention_row(
    *,
    alumno_key: object,
    usuario: object,
    fecha: object,
    canal: object,
    resultado: object,
    seguimiento: object,
    nota: object,
    registrada: dt.datetime | None,
) -> dict[str, Any]:
    """The row to insert, or InvalidIntervention listing every problem at once."""
    errores: dict[str, str] = {}
    if problem := key_problem(alumno_key):
        errores["alumno_key"] = problem
    user = _usuario(usuario, errores)
    if registrada is None:
        registrada = dt.datetime.now(dt.timezone.utc)
    elif registrada.tzinfo is None:
        errores["registrada"] = "debe llevar zona horaria"
    zone = zoneinfo.ZoneInfo(time_zone())
    registrada_dia = registrada.astimezone(zone).date() if registrada.tzinfo else local_today()
    day = _date(fecha, "fecha", errores)
    if day is not None and not EARLIEST <= day <= registrada_dia:
        errores["fecha"] = (
            f"{day} no puede ser posterior al día en que se registra ({registrada_dia}) ni anterior a {EARLIEST}"
        )
    if canal not in CANALES:
        errores["canal"] = f"{str(canal)[:40]!r} no es un canal válido ({', '.join(CANALES)})"
    if resultado not in RESULTADOS:
        errores["resultado"] = f"{str(resultado)[:40]!r} no es un resultado válido ({', '.join(RESULTADOS)})"
    follow_up = None
    if seguimiento not in (None, ""):
        follow_up = _date(seguimiento, "seguimiento", errores)
        if follow_up is not None and day is not None and follow_up < day:
            errores["seguimiento"] = f"el seguimiento ({follow_up}) no puede ser anterior al contacto ({day})"
    text = "" if nota is None else nota
    if not isinstance(text, str) or len(text) > MAX_NOTA:
        errores["nota"] = f"la nota debe ser texto de hasta {MAX_NOTA} caracteres"
    if errores:
        raise InvalidIntervention(errores)
    return {
        "alumno_key": alumno_key,
        "usuario": user,
        "fecha": day,
        "canal": canal,
        "resultado": resultado,
        "seguimiento": follow_up,
        "nota": text.strip(),
        "registrada": registrada,
    }


def audit_row(
    usuario: object, accion: object, vista: object, alumnos: Sequence[str], params: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The audit row to insert; the students must be pseudonymous keys, so the audit holds no identity either."""
    errores: dict[str, str] = {}
    user = _usuario(usuario, errores)
    if accion not in ACCIONES:
        errores["accion"] = f"{str(accion)[:40]!r} no es una acción auditada ({', '.join(ACCIONES)})"
    if not isinstance(vista, str) or not vista.strip() or len(vista) > MAX_VISTA:
        errores["vista"] = f"falta la vista o tiene más de {MAX_VISTA} caracteres"
    keys = list(alumnos) if not isinstance(alumnos, str) else [alumnos]
    bad = [k for k in keys if key_problem(k)]
    if bad:
        errores["alumnos"] = key_problem(bad[0]) or ""
    try:
        encoded = json.dumps(dict(params or {}), sort_keys=True, default=str, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        errores["params"] = f"no se puede guardar como JSON: {exc}"
        encoded = "{}"
    if errores:
        raise InvalidIntervention(errores)
    return {
        "usuario": user,
        "momento": dt.datetime.now(dt.timezone.utc),
        "accion": accion,
        "vista": vista.strip(),
        "n_alumnos": len(keys),
        "alumnos": json.dumps(keys),
        "params": encoded,
    }
