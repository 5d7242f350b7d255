"""The synthetic generator's true hazard per student and semester: the score no model can beat."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import duckdb
import pandas as pd
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from dwh.settings import ConfigError, load_config

log = logging.getLogger("dwh.ml.oracle")


def _origin(published: Path) -> int:
    with duckdb.connect(str(published), read_only=True) as con:
        row = con.execute("SELECT value FROM silver.seed_settings WHERE name = 'anio_relativo_origen'").fetchone()
    return int(row[0])


def true_hazard(published: Path) -> pd.DataFrame | None:
    """(alumno_key, time_idx, oracle) from every configured source that is synthetic, else None.

    The hazard at semester s is the generator's probability that the student leaves at s + 1.
    """
    try:
        sources = [s for s in load_config() if s.kind == "guarani"]
    except ConfigError as exc:
        log.info("no oracle: %s", exc)
        return None
    origin = _origin(published)
    parts = []
    for source in sources:
        engine = create_engine(source.conn_string, poolclass=NullPool)
        try:
            with engine.connect() as con:
                exists = con.execute(text("SELECT to_regclass('dwh_synthetic.semester_truth')")).scalar()
                if exists is None:
                    continue
                rows = con.execute(
                    text(
                        "SELECT alumno, anio_academico, cuatrimestre, next_semester_hazard "
                        "FROM dwh_synthetic.semester_truth"
                    )
                ).fetchall()
        except Exception as exc:  # noqa: BLE001 - a real source has no truth; the oracle is optional
            log.info("no oracle from %s: %s", source.name, str(exc).splitlines()[0])
            continue
        finally:
            engine.dispose()
        frame = pd.DataFrame(rows, columns=["alumno", "anio", "cuatrimestre", "oracle"])
        frame["alumno_key"] = [hashlib.md5(f"{source.name}|{a}".encode()).hexdigest() for a in frame["alumno"]]
        frame["time_idx"] = (frame["anio"] - origin) * 2 + frame["cuatrimestre"] - 1
        parts.append(frame[["alumno_key", "time_idx", "oracle"]])
    if not parts:
        return None
    return pd.concat(parts, ignore_index=True)
