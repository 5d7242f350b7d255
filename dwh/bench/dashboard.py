"""Time every dashboard view (its callback's work) on a published warehouse, with and without filters."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from dwh.dashboard import callbacks, queries, vistas
from dwh.dashboard.publicado import Publicado
from dwh.logs import setup_logging

log = logging.getLogger("dwh.bench.dashboard")
TARGET_MS = 300.0


def measure(path: Path, repeat: int = 5) -> dict[str, float]:
    """Worst time in ms of each view over `repeat` warm calls, per filter set (all data, one cohort+program)."""
    publicado = Publicado(path)
    with publicado.conexion() as con:
        opciones = queries.opciones(con)
    filtro_sets = {"sin filtros": queries.Filtros()}
    if opciones["cohortes"] and opciones["propuestas"]:
        filtro_sets["cohorte+carrera"] = queries.Filtros(
            cohortes=(opciones["cohortes"][-2],), propuestas=(opciones["propuestas"][0],)
        )
    worst: dict[str, float] = {}
    worst |= _seguimiento(publicado, filtro_sets, repeat)
    for etiqueta, f in filtro_sets.items():
        for vista in vistas.VISTAS:
            callbacks.contenido(publicado, vista, f)  # warm-up: first query plans, plotly setup
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                callbacks.contenido(publicado, vista, f)
                times.append((time.perf_counter() - t0) * 1000)
            worst[f"{vista} ({etiqueta})"] = max(times)
    return worst


def _seguimiento(publicado: Publicado, filtro_sets: dict, repeat: int) -> dict[str, float]:
    """The tutor's list (40 students, every program and site) with its audit row, on a scratch application
    database: the names from contactos.duckdb, the last contacts and the audit write are part of the callback."""
    import tempfile

    from dwh.app_db import AppDb
    from dwh.dashboard import seguimiento
    from dwh.dashboard.usuarios import TUTOR, Usuario

    tutor = Usuario("bench", TUTOR, ("*",), ("*",))
    worst = {}
    with tempfile.TemporaryDirectory() as tmp:
        appdb = AppDb(f"sqlite:///{Path(tmp) / 'app.sqlite'}")
        for etiqueta, f in filtro_sets.items():
            times = []
            for _ in range(repeat + 1):
                t0 = time.perf_counter()
                with publicado.conexion() as con:
                    df, _ = seguimiento.listado(con, publicado, appdb, tutor, f, seguimiento.CAPACIDAD_DEFECTO)
                appdb.auditar(tutor.usuario, "ver_lista", seguimiento.VISTA, list(df["alumno_key"]), {})
                times.append((time.perf_counter() - t0) * 1000)
            worst[f"seguimiento ({etiqueta})"] = max(times[1:])  # the first call is the warm-up
        appdb.close()
    return worst


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dwh.bench.dashboard", description=__doc__)
    parser.add_argument("published", type=Path, help="a published warehouse file")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    setup_logging()
    worst = measure(args.published, args.repeat)
    for name, ms in sorted(worst.items(), key=lambda kv: -kv[1]):
        log.info("%-40s %7.1f ms", name, ms)
    slowest = max(worst.values())
    log.info(
        "slowest view: %.1f ms (target < %.0f ms: %s)", slowest, TARGET_MS, "PASS" if slowest < TARGET_MS else "MISS"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
