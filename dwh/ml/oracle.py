"""The synthetic university's label-matched oracle and realised labels for the warehouse's rows."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from dwh import duck
from dwh.ops.keys import KeyFileError, pseudonym, read_key
from dwh.settings import ConfigError, SourceDatabase, load_config, scrub_passwords, warehouse_path
from dwh.synthetic import catalogs, futures
from dwh.synthetic.generate import source_sizes
from dwh.synthetic.guarani_shapes import local_days
from dwh.synthetic.labels import LabelRules
from dwh.synthetic.labels import realised_labels as realised_on
from dwh.synthetic.params import GeneratorConfig
from dwh.synthetic.profile import Shapes
from dwh.synthetic.simulate import SourceWorld, day_number

log = logging.getLogger("dwh.ml.oracle")
LABELS = ["abandono", "perdida_regularidad", "target"]


@dataclass(frozen=True)
class Synthetic:
    """A configured Guaraní source made by the generator: its name, index and own config, and its student count."""

    name: str
    index: int
    config: GeneratorConfig
    students: int
    cursadas: int  # sga_insc_cursada rows, to check the rebuilt simulation against the database


def matched_oracle(published: Path, rows: pd.DataFrame, replicas: int = 200, seed: int = 0) -> pd.DataFrame | None:
    """(alumno_key, time_idx, oracle, replicas_aceptadas) for `rows` (alumno_key, time_idx), or None when no
    configured Guaraní source is synthetic. oracle is NaN for rows of other sources, for rows gold cannot have
    (not entered, graduated) and where no replica matched what the freeze shows; frame.attrs["oracle"] counts
    them."""

    def one(world: SourceWorld, states: dict, stu: np.ndarray, t: np.ndarray, rules: LabelRules) -> dict:
        found = futures.matched(world, states, stu, t, rules, replicas=replicas, seed=seed)
        return {"oracle": found["oracle"], "replicas_aceptadas": found["accepted"], "simuladas": found["simulated"]}

    out = _per_source(published, rows, one, ["oracle", "replicas_aceptadas", "simuladas"], capture=True)
    if out is None:
        return None
    simulated = out.pop("simuladas").fillna(0)
    out["replicas_aceptadas"] = out["replicas_aceptadas"].fillna(0).astype(int)
    scored = out["oracle"].notna()
    out.attrs["oracle"] = {
        "replicas": replicas,
        "filas": len(out),
        "filas_con_oracle": int(scored.sum()),
        "filas_pocas_aceptadas": int((scored & (out["replicas_aceptadas"] < futures.MIN_ACCEPTED)).sum()),
        "filas_sin_aceptadas": int(((simulated > 0) & (out["replicas_aceptadas"] == 0)).sum()),
        "replicas_simuladas": int(simulated.sum()),
    }
    log.info("oracle: %s", out.attrs["oracle"])
    return out


def realised_labels(published: Path, rows: pd.DataFrame) -> pd.DataFrame | None:
    """(alumno_key, time_idx, abandono, perdida_regularidad, target) as gold would label `rows`, computed on the
    generator's own history (NaN where gold has no labelled row); None when no source is synthetic."""

    return _per_source(
        published, rows, lambda world, _states, stu, t, rules: realised_on(world, stu, t, rules), LABELS, False
    )


def _per_source(
    published: Path, rows: pd.DataFrame, compute: Callable, columns: list[str], capture: bool
) -> pd.DataFrame | None:
    """`compute` on each synthetic source's rows (each (alumno_key, time_idx) once), merged back onto `rows`."""
    sources = synthetic_sources()
    if not sources:
        return None
    origin, rules = _warehouse(published)
    keys = rows[["alumno_key", "time_idx"]].drop_duplicates().reset_index(drop=True)
    results = {name: np.full(len(keys), np.nan) for name in columns}
    try:
        secret = read_key(warehouse_path())
    except KeyFileError as exc:
        log.warning("no oracle: the alumno keys cannot be matched without the pseudonym key: %s", exc)
        return None
    for source in sources:
        stu_of = {pseudonym(secret, source.name, a + 1): a for a in range(source.students)}
        stu = keys["alumno_key"].map(stu_of).to_numpy()
        # time_idx counts from the origin year, a simulation semester from the source's first cohort
        t = keys["time_idx"].to_numpy().astype(np.int64) + 2 * (origin - source.config.first_year)
        mine = np.flatnonzero(pd.notna(stu) & (t >= 0) & (t < source.config.n_semesters))
        if mine.size == 0:
            continue
        stu, t = stu[mine].astype(np.int64), t[mine]
        world, states = futures.history(
            source.config, source.index, source.students, set(np.unique(t).tolist()) if capture else set()
        )
        _check(source, world)
        for name, values in compute(world, states, stu, t, rules).items():
            results[name][mine] = values
    found = keys.assign(**results)
    return (
        rows[["alumno_key", "time_idx"]].reset_index(drop=True).merge(found, on=["alumno_key", "time_idx"], how="left")
    )


def synthetic_sources() -> list[Synthetic]:
    """The configured Guaraní sources that hold the generator's dwh_synthetic schema (others are skipped)."""
    try:
        configured = [s for s in load_config() if s.kind == "guarani"]
    except ConfigError as exc:
        log.info("no oracle: %s", exc)
        return []
    found = []
    for source in configured:
        synthetic = _read_source(source)
        if synthetic is None:
            log.info("source %s is not synthetic: no oracle for its rows", source.name)
        else:
            found.append(synthetic)
    return found


def _read_source(source: SourceDatabase) -> Synthetic | None:
    """The source's generation parameters checked against its truth tables; None when it has none."""
    engine = create_engine(source.conn_string, poolclass=NullPool)
    try:
        with engine.connect() as con:
            if con.execute(text("SELECT to_regclass('dwh_synthetic.generation')")).scalar() is None:
                return None
            params = dict(con.execute(text("SELECT key, value FROM dwh_synthetic.generation")).fetchall())
            counts = dict(con.execute(text("SELECT table_name, row_count FROM dwh_synthetic.table_counts")).fetchall())
            students = con.execute(text("SELECT count(*) FROM dwh_synthetic.student_truth")).scalar()
            first_career = con.execute(text("SELECT nombre FROM negocio.sga_propuestas ORDER BY propuesta")).scalar()
    except SQLAlchemyError as exc:  # a source that cannot be read has no truth to offer; evaluate goes on
        log.info("source %s not read for the oracle: %s", source.name, scrub_passwords(str(exc).splitlines()[0]))
        return None
    finally:
        engine.dispose()
    index = next((i for i, f in enumerate(catalogs.FACULTADES) if f["propuestas"][0][0] == first_career), None)
    run = _config(params)
    if index is None or index >= run.sources:
        raise ValueError(f"source {source.name}: its careers ({first_career!r}) are no synthetic source's")
    own = run.for_source(index)
    n = source_sizes(run)[index]
    if n != students or ("cohorts_from" in params and int(params["cohorts_from"]) != own.first_year):
        raise ValueError(
            f"source {source.name}: the generation parameters give {n:,} students from {own.first_year}, "
            f"the database has {students:,} (cohorts from {params.get('cohorts_from', '?')})"
        )
    return Synthetic(source.name, index, own, n, int(counts.get("sga_insc_cursada", -1)))


def _config(params: dict[str, str]) -> GeneratorConfig:
    """The run's GeneratorConfig from dwh_synthetic.generation (profile and shapes included)."""
    on = set(filter(None, params.get("shapes", "").split(",")))
    snapshot = params.get("snapshot")
    return GeneratorConfig(
        students=int(params["students"]),
        sources=int(params["sources"]),
        years=int(params["years"]),
        seed=int(params["seed"]),
        until=dt.date.fromisoformat(params["until"]),
        moodle=params.get("moodle") == "True",
        snapshot=dt.date.fromisoformat(snapshot) if snapshot else None,
        shapes=Shapes(**{name: name in on for name in Shapes.names()}),
    )


def _check(source: Synthetic, world: SourceWorld) -> None:
    """The rebuilt simulation must be the database's: same course inscriptions known on the day it was read."""
    known = int((local_days(world.cursadas["inscr_time"]) <= day_number(source.config.today)).sum())
    if known != source.cursadas:
        raise ValueError(
            f"source {source.name}: the rebuilt simulation has {known:,} course inscriptions, the database "
            f"{source.cursadas:,}: it was not made by this generator with the parameters it records"
        )


def _warehouse(published: Path) -> tuple[int, LabelRules]:
    """The origin year of time_idx and gold's label parameters and calendar, as the warehouse has them."""
    with duck.connect(str(published), read_only=True, stage="ml") as con:
        origin = con.execute("SELECT value FROM silver.seed_settings WHERE name = 'anio_relativo_origen'").fetchone()
        params = dict(con.execute("SELECT nombre, valor FROM gold.seed_label_params").fetchall())
        calendar = con.execute(
            "SELECT as_of_mes, as_of_dia, cierre_mes, cierre_dia FROM gold.seed_semester_calendar "
            "ORDER BY CAST(cuatrimestre AS INTEGER)"
        ).fetchall()
    rules = LabelRules(
        horizon=int(params["horizonte_semestres"]),
        loss_is_dropout=int(params["perdida_regularidad_es_abandono"]) == 1,
        as_of=tuple((int(r[0]), int(r[1])) for r in calendar),
        closing=tuple((int(r[2]), int(r[3])) for r in calendar),
    )
    return int(origin[0]), rules
