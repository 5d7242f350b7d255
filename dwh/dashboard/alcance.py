"""What a dashboard user may see: names or not, and which programs and sites (checks and SQL predicates)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from werkzeug.exceptions import Forbidden

from dwh.dashboard.usuarios import ADMIN, TODAS, TUTOR, Usuario

log = logging.getLogger("dwh.dashboard.acceso")

# What the marts show for a missing program or site (queries.SIN_DATO; repeated to keep this module free of
# the query layer).
SIN_DATO = "sin dato"


class FueraDeAlcance(Forbidden):
    """A request for a student outside the user's programs and sites (HTTP 403 when it reaches Flask)."""

    description = "Ese estudiante no está en las propuestas y sedes a su cargo."


def _norma(valor: object) -> str:
    texto = "" if valor is None else str(valor).strip()
    # lower() and not casefold(): the SQL predicate uses DuckDB's lower(), and both must agree.
    return (texto or SIN_DATO).lower()


def puede_ver_nombres(u: Usuario | None) -> bool:
    """Only tutors see identified students (names, legajo, e-mail); direccion and admin see aggregates."""
    return u is not None and u.rol == TUTOR


def es_admin(u: Usuario | None) -> bool:
    """The admin role: the users list and the data status."""
    return u is not None and u.rol == ADMIN


def _cubre(declarados: tuple[str, ...], valor: object) -> bool:
    return TODAS in declarados or _norma(valor) in {_norma(d) for d in declarados}


def en_alcance(u: Usuario | None, propuesta: object, sede: object) -> bool:
    """The student of this program and site is in the user's scope (both must be covered; names compare
    trimmed and case-insensitively; a missing name is "sin dato"). No user: False."""
    return u is not None and _cubre(u.propuestas, propuesta) and _cubre(u.sedes, sede)


def exigir_alcance(u: Usuario | None, propuesta: object, sede: object, que: str = "") -> None:
    """Raise FueraDeAlcance (logged with the user) unless en_alcance; `que` says what was asked, for the log."""
    if not en_alcance(u, propuesta, sede):
        log.warning(
            "user %s asked for %s outside their scope (propuesta %r, sede %r)",
            u.usuario if u else "(none)",
            que or "a student",
            propuesta,
            sede,
        )
        raise FueraDeAlcance()


def filtro_sql(u: Usuario | None, propuesta: str = "propuesta", sede: str = "sede") -> tuple[str, list]:
    """A SQL predicate (no leading AND) and its `?` parameters keeping only rows in the user's scope.

    `propuesta` and `sede` are the caller's SQL expressions for the program and site names (as the
    dashboard shows them, "sin dato" for missing ones); they are pasted into the text, so pass only
    identifiers of your own, never user input. No user: FALSE.
    """
    if u is None:
        return "FALSE", []
    partes: list[str] = []
    params: list = []
    for declarados, columna in ((u.propuestas, propuesta), (u.sedes, sede)):
        if TODAS in declarados:
            continue
        nombre = f"lower(COALESCE(NULLIF(trim(CAST({columna} AS VARCHAR)), ''), '{SIN_DATO}'))"
        partes.append(f"list_contains(?, {nombre})")
        params.append(sorted({_norma(d) for d in declarados}))
    return (" AND ".join(partes) or "TRUE"), params


def opciones_en_alcance(declarados: tuple[str, ...], valores: Iterable[str]) -> list[str]:
    """The filter choices (program or site names) a user may pick, e.g. opciones_en_alcance(u.sedes, sedes)."""
    return [v for v in valores if _cubre(declarados, v)]
