"""Generate the synthetic university: simulate, build rows and load every source database."""

from __future__ import annotations

import datetime as dt
import logging
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from dwh import devdb
from dwh.synthetic import ddl, load, shapes
from dwh.synthetic.arrow_util import dates, floats, ints, table, texts
from dwh.synthetic.guarani import build_guarani
from dwh.synthetic.moodle import MoodleLink, build_moodle
from dwh.synthetic.params import GeneratorConfig, semester_start
from dwh.synthetic.profile import PROFILES
from dwh.synthetic.simulate import ACTIVE, DROPPED, GRADUATED, PAUSED, SourceWorld, day_number, simulate_source
from dwh.synthetic.snapshot import snapshot_guarani, snapshot_moodle, snapshot_truth

log = logging.getLogger(__name__)
SOURCE_NAMES = ("guarani_a", "guarani_b", "guarani_c")
MOODLE_NAME = "moodle"
TRUTH_SCHEMA = "dwh_synthetic"
DNI_SPACING = 5_000_000


@dataclass(frozen=True)
class GeneratedSource:
    name: str
    kind: str
    url: str
    rows: int


def source_sizes(cfg: GeneratorConfig) -> list[int]:
    """Students per Guaraní source: an even split, the first sources taking the remainder."""
    base, extra = divmod(cfg.students, cfg.sources)
    return [base + (1 if i < extra else 0) for i in range(cfg.sources)]


def is_timestamptz_variant(index: int) -> bool:
    """The second source stores exam dates as TIMESTAMPTZ, as some real deployments do."""
    return index == 1


def _truth_tables(
    cfg: GeneratorConfig,
    world: SourceWorld,
    ids: dict,
    counts: dict[str, int],
    variants: dict[tuple[str, str], str],
) -> dict[str, pa.Table]:
    """Ground truth of one source; `cfg` is the run's config, the world carries the source's own (a migrated
    source's cohorts start earlier)."""
    params = _generation_params(cfg, world, variants)
    cfg = world.config
    st = world.students
    state, graduation_day, t = st["state"], st["graduation_day"], world.truth
    if cfg.snapshot is not None:
        # Truth as known on the snapshot day: the state at the end of its cuatrimestre.
        state = st["state_by_sem"][:, cfg.known_semesters - 1]
        graduation_day = np.where(shapes.certificate_days(world) > day_number(cfg.snapshot), -1, graduation_day)
        keep = t["sem"] < cfg.known_semesters
        t = {name: values[keep] for name, values in t.items()}
    outcome = np.select(
        [state == GRADUATED, state == DROPPED, state == PAUSED, state == ACTIVE],
        ["graduated", "dropped_out", "stopped_out", "active"],
        "not_entered",
    )
    outcome = np.where((outcome == "graduated") & (graduation_day < 0), "active", outcome)
    starts = np.array([day_number(semester_start(s, cfg.first_year)) for s in range(cfg.n_semesters + 4)])
    dsem = st["dropout_sem"]
    late = dsem >= cfg.known_semesters  # leaving after the snapshot is not known yet
    dsem = np.where(late, -1, dsem)
    outcome = np.where(late & (outcome == "dropped_out"), "active", outcome)
    return {
        "student_truth": table(
            alumno=ints(ids["alumno"]),
            persona=ints(ids["persona"]),
            cohort=ints(st["cohort"]),
            propuesta=ints(st["propuesta"] + 1),
            latent_risk=floats(st["z"]),
            ability=floats(st["ability"]),
            engagement=floats(st["engagement"]),
            outcome=texts(outcome.astype(object)),
            dropout_semester=ints(dsem, null=dsem < 0),
            dropout_semester_start=dates(starts[np.maximum(dsem, 0)], null=dsem < 0),
            graduation_date=dates(np.maximum(graduation_day, 0), null=graduation_day < 0),
        ),
        "semester_truth": table(
            alumno=ints(ids["alumno"][t["stu"]]),
            semester=ints(t["sem"]),
            anio_academico=ints(cfg.first_year + t["sem"] // 2),
            cuatrimestre=ints(t["sem"] % 2 + 1),
            semester_start=dates(starts[t["sem"]]),
            next_semester_hazard=floats(t["hazard"]),
            latent_risk=floats(t["z"]),
        ),
        "generation": table(
            key=texts(np.array(list(params), dtype=object)),
            value=texts(np.array([str(v) for v in params.values()], dtype=object)),
        ),
        "table_counts": table(
            table_name=texts(np.array(list(counts), dtype=object)), row_count=ints(np.array(list(counts.values())))
        ),
        **ids["truth"],
    }


def _generation_params(
    cfg: GeneratorConfig, world: SourceWorld, variants: dict[tuple[str, str], str]
) -> dict[str, object]:
    params: dict[str, object] = {
        "students": cfg.students,
        "sources": cfg.sources,
        "years": cfg.years,
        "seed": cfg.seed,
        "until": cfg.until.isoformat(),
        "moodle": cfg.moodle,
        "generator_version": 1,
    }
    if cfg.snapshot is not None:
        params["snapshot"] = cfg.snapshot.isoformat()
    if cfg.shapes.any:
        params["profile"] = next((name for name, s in PROFILES.items() if s == cfg.shapes), "custom")
        params["shapes"] = ",".join(cfg.shapes.on)
        params["column_variants"] = ";".join(f"{t}.{c}={typ}" for (t, c), typ in sorted(variants.items()))
        if world.config.detail_from is not None:
            params["cohorts_from"] = world.config.first_year
            params["detail_from"] = world.config.detail_from.isoformat()
    return params


_ARROW_TO_PG = {
    "int64": "bigint",
    "string": "text",
    "date32[day]": "date",
    "bool": "boolean",
    "double": "double precision",
}


def _truth_ddl(extra: dict[str, pa.Table]) -> str:
    """CREATE TABLE statements for the shapes' truth tables, from their Arrow types."""
    return "\n".join(
        f"CREATE TABLE {TRUTH_SCHEMA}.{name} ("
        + ", ".join(f"{f.name} {_ARROW_TO_PG[str(f.type)]}" for f in data.schema)
        + ");"
        for name, data in extra.items()
    )


_TRUTH_DDL = f"""
CREATE SCHEMA {TRUTH_SCHEMA};
COMMENT ON SCHEMA {TRUTH_SCHEMA} IS 'Generator ground truth; not part of Guaraní. Never extracted by dwh.';
CREATE TABLE {TRUTH_SCHEMA}.student_truth (alumno integer PRIMARY KEY, persona integer, cohort integer,
    propuesta integer, latent_risk double precision, ability double precision, engagement double precision,
    outcome text, dropout_semester integer, dropout_semester_start date, graduation_date date);
CREATE TABLE {TRUTH_SCHEMA}.semester_truth (alumno integer, semester integer, anio_academico integer,
    cuatrimestre integer, semester_start date, next_semester_hazard double precision,
    latent_risk double precision, PRIMARY KEY (alumno, semester));
CREATE TABLE {TRUTH_SCHEMA}.generation (key text PRIMARY KEY, value text);
CREATE TABLE {TRUTH_SCHEMA}.table_counts (table_name text PRIMARY KEY, row_count bigint);
"""


def _generate_guarani(cfg: GeneratorConfig, index: int, n: int, url: str) -> tuple[MoodleLink, int]:
    started = time.perf_counter()
    world = simulate_source(cfg.for_source(index), index, n)
    tstz = is_timestamptz_variant(index)
    variants = cfg.shapes.column_variants() if tstz else {}
    tables, ids = build_guarani(world, index * DNI_SPACING, tstz)
    if cfg.snapshot is not None:
        tables = snapshot_guarani(tables, world, ids, cfg.snapshot)
        ids["truth"] = snapshot_truth(ids["truth"], tables, cfg.snapshot)
    ordered = {name: tables[name] for name in ddl.guarani_tables()}
    counts = load.load_database(
        url, ddl.guarani_create_sql(variants), ordered, ddl.guarani_post_load_sql(variants), "negocio"
    )
    truth = _truth_tables(cfg, world, ids, counts, variants)
    load.load_database(url, _TRUTH_DDL + _truth_ddl(ids["truth"]), truth, [], TRUTH_SCHEMA)
    log.info(
        "source %s: %s students, %s rows in %.1fs",
        SOURCE_NAMES[index],
        f"{n:,}",
        f"{sum(counts.values()):,}",
        time.perf_counter() - started,
    )
    link = MoodleLink(
        world=world,
        source_name=SOURCE_NAMES[index],
        usuario=ids["usuario"],
        has_usuario=ids["has_usuario"],
        elemento_codes=ids["elemento_codes"],
    )
    return link, sum(counts.values())


def generate(cfg: GeneratorConfig, admin_url: str, db_prefix: str = "", jobs: int = 2) -> list[GeneratedSource]:
    """Create (replacing) one database per source on the server and fill it; returns where they are."""
    started = time.perf_counter()
    names = [db_prefix + SOURCE_NAMES[i] for i in range(cfg.sources)]
    urls = [devdb.create_database(admin_url, name, drop_existing=True) for name in names]
    sizes = source_sizes(cfg)
    with ProcessPoolExecutor(max_workers=max(1, min(jobs, cfg.sources))) as pool:
        futures = [pool.submit(_generate_guarani, cfg, i, sizes[i], urls[i]) for i in range(cfg.sources)]
        results = [f.result() for f in futures]
    out = [GeneratedSource(SOURCE_NAMES[i], "guarani", urls[i], results[i][1]) for i in range(cfg.sources)]
    if cfg.moodle:
        moodle_url = devdb.create_database(admin_url, db_prefix + MOODLE_NAME, drop_existing=True)
        moodle_from = max(cfg.first_year, cfg.last_year - cfg.moodle_years + 1)
        tables = build_moodle(
            [r[0] for r in results], cfg.seed, cfg.first_year, moodle_from, cfg.moodle_events_per_course
        )
        if cfg.snapshot is not None:
            tables = snapshot_moodle(tables, cfg.snapshot)
        ordered = {name: tables.get(name) for name in ddl.schema_facts("moodle")}
        counts = load.load_database(
            moodle_url,
            ddl.moodle_create_sql(),
            {k: v for k, v in ordered.items() if v is not None},
            ddl.moodle_post_load_sql(),
            None,
        )
        out.append(GeneratedSource(MOODLE_NAME, "moodle", moodle_url, sum(counts.values())))
    log.info(
        "generated %s students in %d sources (%s rows) in %.1fs",
        f"{cfg.students:,}",
        len(out),
        f"{sum(s.rows for s in out):,}",
        time.perf_counter() - started,
    )
    return out


def write_config(path, sources: list[GeneratedSource]) -> None:
    """A dwh config file pointing at the generated databases."""
    lines = [
        '"""dwh sources: the synthetic university made by `python -m dwh.synthetic`."""',
        "",
        "SOURCE_DATABASES = [",
    ]
    for s in sources:
        lines.append(f'    {{"name": "{s.name}", "conn_string": "{s.url}", "kind": "{s.kind}"}},')
    lines.append("]")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def parse_date(text: str) -> dt.date:
    return dt.date.fromisoformat(text)
