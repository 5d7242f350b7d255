"""Time travel: what gold says about day C must not change when the future arrives.

One synthetic university is generated twice from the same GeneratorConfig: the full sources (`until`)
and a snapshot of them as they stood on day C (`snapshot=C`, same calendar, same cohorts, same random
draws; rows known after C do not exist yet, state columns are read on C). Both go through the real
pipeline (bronze, silver and gold subprocesses) with the same hash salt. Both profiles run: the simple
one, and the realistic one whose shapes (annual courses, actas closed weeks after the exam, second
careers, late certificates, readmissions, late bajas, censuses changed in place, migrated history,
date-type variants) are in the compared rows. The as-of settings:

- the truncated build runs with DWH_AS_OF = C, the full build with DWH_AS_OF = until. A build "as of"
  a day after its data ends would read the missing future as inactivity, so the honest comparison is
  between what a build run on day C could see and what the full build says about day C;
- C is a semester as-of date (gold.seed_semester_calendar: 31 July and 31 December; both kinds are
  tested), so a row frozen on C that used anything dated after C would differ between the builds; the
  test checks C is one. A leak only shows in rows frozen shortly before C (earlier rows see the same
  leaked data in both builds), which is why C is an as-of date and not a day some weeks later.

Invariant (every column, no exclusions): every gold_tft row whose as-of date is on or before C is
identical in both builds, and no such row appears or disappears:

- gold_tft_temporal_features: rows with as_of_date <= C, key (alumno_key, time_idx);
- gold_tft_static_features: rows of the students with a temporal row dated <= C;
- gold_tft_training_dataset: rows whose label is known by C (label_as_of_date <= C), target included;
  and every full-build training row with as_of_date <= C carries exactly the truncated build's
  temporal and static features;
- training dataset union the inference frame's risk-set rows (`en_riesgo`), on the feature columns
  (all but the label columns), rows with as_of_date <= C: every truncated row is in the full build,
  unless the full build knows the student graduated by that semester (a certificate issued after C:
  as far as C could tell the student was at risk); a full-build row may be missing from the truncated
  build only if its label was not known on C (label_as_of_date > C) and its student is not in the
  truncated inference frame (graduated or out of the risk set by C);
- gold_tft_known_future: rows with as_of_date <= C.

The first test checks the generator side of the premise: each event table of the snapshot is exactly
the full build's rows known on or before C (same ids, same values). The last tests plant a leak of each
kind in a copy of the SQL (annual attendance placed by its course's start, a Moodle account relinked to
the latest career, results bucketed by the exam day instead of the acta's recording, a cancellation read
as of today) and check that the comparison catches it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from bronze_support import run_bronze, write_config
from pg_util import query

log = logging.getLogger(__name__)

UNTIL = dt.date(2025, 11, 27)
CS = (dt.date(2023, 12, 31), dt.date(2024, 7, 31))  # mid-history, after a second and a first cuatrimestre
SALT = "time-travel-salt"
GENERATOR = dict(students=1500, sources=2, years=5, seed=21, moodle_years=4, until=UNTIL)
MIN_ROWS = 1000  # compared rows per table, so that equality is not vacuous
LOCAL = "AT TIME ZONE 'America/Argentina/Buenos_Aires'"
SHOWN_DIFFERENCES = 8
LABELS = ("target", "abandono", "perdida_regularidad", "label_as_of_date")  # not features

PROFILES_TESTED = ("simple", "realistic")

# Event tables of the sources: the full build's rows known on or before C (local day): by their own date, or
# where Guaraní records them later (actas closed after the exam, certificates issued months after the last
# exam) by the day they were recorded, from the ground truth. Queries run on Buenos Aires time, so a date
# cast of a TIMESTAMPTZ (or of the variant source's wall-clock TIMESTAMP) is the local day.
TRUTH = "dwh_synthetic"
SIMPLE_EVENTS = {
    "sga_eval_detalle_cursadas": "fecha_regular <= :c",
    "sga_actas_detalle": "fecha::date <= :c",
    "sga_actas": "id_acta IN (SELECT id_acta FROM negocio.sga_actas_detalle WHERE fecha::date <= :c)",
    "sga_certificados_otorg": "fecha_egreso + 20 <= :c",
}
GUARANI_EVENTS = {
    "sga_propuestas_aspira": "fecha_inscripcion <= :c",
    "mdp_datos_censales": "fecha_relevamiento <= :c",
    "mdp_datos_economicos": "dato_censal IN (SELECT dato_censal FROM negocio.mdp_datos_censales "
    "WHERE fecha_relevamiento <= :c)",
    "sga_alumnos_hist_calidad": "fecha::date <= :c",
    "sga_perdida_regularidad": "fecha <= :c",
    "sga_reinscripciones": "fecha_reinscripcion::date <= :c",
    "sga_insc_cursada": "fecha_inscripcion::date <= :c",
    "sga_eval_detalle_cursadas": "ultimo_cambio::date <= :c",
    "sga_insc_examen": "fecha_inscripcion::date <= :c",
    "sga_actas_detalle": f"id_acta IN (SELECT id_acta FROM {TRUTH}.acta_truth WHERE fecha_registro <= :c)",
    "sga_actas": f"id_acta IN (SELECT id_acta FROM {TRUTH}.acta_truth WHERE fecha_registro <= :c)",
    "sga_certificados_otorg": f"alumno IN (SELECT alumno FROM {TRUTH}.graduation_truth WHERE fecha_certificado <= :c)",
}
_UPDATED_AFTER_C = (
    f"EXISTS (SELECT 1 FROM {TRUTH}.census_truth t WHERE t.dato_censal = negocio.mdp_datos_economicos.dato_censal "
    "AND t.version = 2 AND t.vigente_desde > :c)"
)
# What the full build knows later about an event of C: an aspirant rejected after C was still pending; an
# inscription cancelled after C was still accepted; a census answered again in place after C had its first
# answers (kept in the ground truth).
GUARANI_AS_KNOWN_ON_C = {
    "sga_propuestas_aspira": {
        "situacion_asp": "CASE WHEN fecha_rechazo > :c THEN 1 ELSE situacion_asp END",
        "fecha_rechazo": "CASE WHEN fecha_rechazo > :c THEN NULL ELSE fecha_rechazo END",
    },
    "sga_insc_cursada": {
        "estado": f"CASE WHEN inscripcion IN (SELECT inscripcion FROM {TRUTH}.cursada_truth WHERE fecha_baja > :c) "
        "THEN 'A' ELSE estado END",
    },
    "mdp_datos_censales": {
        "fecha_actualizacion": "CASE WHEN fecha_actualizacion > :c THEN fecha_relevamiento "
        "ELSE fecha_actualizacion END",
    },
    "mdp_datos_economicos": {
        column: f"CASE WHEN {_UPDATED_AFTER_C} THEN (SELECT t.{column} FROM {TRUTH}.census_truth t "
        f"WHERE t.dato_censal = negocio.mdp_datos_economicos.dato_censal AND t.version = 1) ELSE {column} END"
        for column in (
            "trabajo_existe",
            "trabajo_hace",
            "trabajo_carrera",
            "trabajo_hora_sem",
            "costeo_estudios_trabajo",
        )
    },
}
MOODLE_EVENTS = {
    "mdl_user": f"(to_timestamp(timecreated) {LOCAL})::date <= :c",
    "mdl_course": f"id = 1 OR (to_timestamp(timecreated) {LOCAL})::date <= :c",
    "mdl_user_enrolments": f"(to_timestamp(timecreated) {LOCAL})::date <= :c",
    "mdl_logstore_standard_log": f"(to_timestamp(timecreated) {LOCAL})::date <= :c",
    "mdl_attendance_log": f"(to_timestamp(timetaken) {LOCAL})::date <= :c",
}
# Rows that exist once something uses them: every snapshot row is a full-build row.
GUARANI_SUBSETS = (
    "mdp_personas",
    "mdp_personas_documentos",
    "mdp_datos_estudios",
    "sga_comisiones",
    "sga_llamados_mesa",
    "sga_mesas_examen",
    "sga_periodos",
    "sga_anios_academicos",
)
MOODLE_SUBSETS = ("mdl_enrol", "mdl_context", "mdl_role_assignments", "mdl_attendance_sessions")


# -- builds ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module", params=PROFILES_TESTED)
def profile(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def sources(make_synthetic, profile) -> dict[object, dict[str, str]]:
    """{'full': {source: url}, C: {source: url} for each C}: one university, read on `until` and on each C."""
    from dwh.synthetic.profile import PROFILES

    started = time.perf_counter()
    generator = dict(GENERATOR, shapes=PROFILES[profile])
    out: dict[object, dict[str, str]] = {"full": make_synthetic(**generator)}
    for c in CS:
        out[c] = make_synthetic(**generator, snapshot=c)
    log.info("generated %d source sets (%s) in %.1fs", len(out), profile, time.perf_counter() - started)
    return out


@pytest.fixture(params=CS, ids=str)
def c(request) -> dt.date:
    """The day C of the comparison."""
    return request.param


def _step_env(config: Path, warehouse: Path, as_of: dt.date) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DWH_", "DLT__", "LOAD__", "EXTRACT__"))}
    env.update(DWH_CONFIG=str(config), DWH_DUCKDB_PATH=str(warehouse), DWH_AS_OF=as_of.isoformat(), DWH_HASH_SALT=SALT)
    return env


def _build(urls: dict[str, str], base: Path, as_of: dt.date) -> tuple[Path, dict[str, float]]:
    """bronze, silver and gold of one source set, as cron runs them; returns the warehouse and step times."""
    base.mkdir(parents=True)
    kinds = {name: (url, "moodle" if name == "moodle" else "guarani") for name, url in urls.items()}
    config = write_config(base / "config.py", kinds)
    warehouse = base / "warehouse.duckdb"
    times = {}
    t0 = time.perf_counter()
    bronze = run_bronze(config, warehouse, DWH_AS_OF=as_of.isoformat(), DWH_HASH_SALT=SALT)
    assert bronze.returncode == 0, f"bronze ({base.name}) failed:\n{bronze.stderr[-4000:]}"
    times["bronze"] = time.perf_counter() - t0
    for step, module in (("silver", "dwh.pipelines.silver_transform"), ("gold", "dwh.pipelines.gold_aggregates")):
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", module],
            env=_step_env(config, warehouse, as_of),
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, f"{module} ({base.name}) failed:\n{proc.stderr[-4000:]}"
        times[step] = time.perf_counter() - t0
    return warehouse, times


@pytest.fixture(scope="module")
def warehouses(sources, tmp_path_factory) -> dict[object, Path]:
    """{'full': warehouse as of until, C: warehouse of the snapshot as of C}, built side by side."""
    base = tmp_path_factory.mktemp("time_travel")
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(sources)) as pool:
        futures = {
            name: pool.submit(_build, urls, base / str(name), UNTIL if name == "full" else name)
            for name, urls in sources.items()
        }
        built = {name: f.result() for name, f in futures.items()}
    for name, (_, times) in built.items():
        log.info("%s build: %s", name, ", ".join(f"{k} {v:.1f}s" for k, v in times.items()))
    log.info("%d builds in %.1fs", len(built), time.perf_counter() - started)
    return {name: warehouse for name, (warehouse, _) in built.items()}


# -- comparison helpers --------------------------------------------------------------------------------------
def _fetch(warehouse: Path, sql: str, c: dt.date | None = None) -> pa.Table:
    """Run sql (`:c` stands for DATE C) on a warehouse, read-only."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.sql(sql if c is None else sql.replace(":c", f"DATE '{c}'")).to_arrow_table()


def _columns(warehouse: Path, table: str) -> list[str]:
    rows = _fetch(
        warehouse,
        f"SELECT column_name FROM information_schema.columns WHERE table_schema = 'gold' "
        f"AND table_name = '{table}' ORDER BY ordinal_position",
    )
    return rows.column(0).to_pylist()


def _cols_sql(columns: list[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def _differences(full: pa.Table, truncated: pa.Table, key: list[str]) -> tuple[pa.Table, pa.Table]:
    """(rows only in full, rows only in truncated), multiset semantics (EXCEPT ALL both ways)."""
    assert full.column_names == truncated.column_names, (
        f"the builds have different columns: {full.column_names} vs {truncated.column_names}"
    )
    con = duckdb.connect()
    con.register("f", full)
    con.register("t", truncated)
    order = _cols_sql(key)
    only_full = con.sql(f"SELECT * FROM (SELECT * FROM f EXCEPT ALL SELECT * FROM t) ORDER BY {order}").to_arrow_table()
    only_trunc = con.sql(
        f"SELECT * FROM (SELECT * FROM t EXCEPT ALL SELECT * FROM f) ORDER BY {order}"
    ).to_arrow_table()
    con.close()
    return only_full, only_trunc


def _explain(label: str, only_full: pa.Table, only_trunc: pa.Table, key: list[str]) -> str:
    """A readable report: which columns differ how often, then the first differing rows column by column."""
    full_rows = {tuple(r[k] for k in key): r for r in only_full.to_pylist()}
    trunc_rows = {tuple(r[k] for k in key): r for r in only_trunc.to_pylist()}
    both = [k for k in full_rows if k in trunc_rows]
    per_column = Counter(
        col for k in both for col in full_rows[k] if full_rows[k][col] != trunc_rows[k][col] and col not in key
    )
    lines = [
        f"{label}: {only_full.num_rows} rows only in the full build, {only_trunc.num_rows} only in the truncated "
        f"build; {len(both)} keys {tuple(key)} in both with different values",
    ]
    if per_column:
        lines.append("  differing columns (rows): " + ", ".join(f"{c} ({n})" for c, n in per_column.most_common()))
    for k in both[:SHOWN_DIFFERENCES]:
        changes = [
            f"{col}: full={full_rows[k][col]!r} truncated={trunc_rows[k][col]!r}"
            for col in full_rows[k]
            if full_rows[k][col] != trunc_rows[k][col]
        ]
        lines.append(f"  {k}: " + "; ".join(changes))
    for name, rows, other in (("full", full_rows, trunc_rows), ("truncated", trunc_rows, full_rows)):
        alone = [k for k in rows if k not in other]
        if alone:
            lines.append(f"  keys only in the {name} build ({len(alone)}): {alone[:SHOWN_DIFFERENCES]}")
            sample = rows[alone[0]]
            lines.append(f"    first such row: {sample}")
    return "\n".join(lines)


def _same_keys(rows: pa.Table, keys_of: pa.Table, key: list[str]) -> pa.Table:
    """The rows of `rows` whose key appears in `keys_of`."""
    con = duckdb.connect()
    con.register("r", rows)
    con.register("k", keys_of)
    out = con.sql(f"SELECT * FROM r SEMI JOIN k USING ({_cols_sql(key)})").to_arrow_table()
    con.close()
    return out


def _assert_identical(label: str, full: pa.Table, truncated: pa.Table, key: list[str]) -> None:
    only_full, only_trunc = _differences(full, truncated, key)
    log.info("%s: compared %d rows (full) with %d rows (truncated)", label, full.num_rows, truncated.num_rows)
    assert only_full.num_rows == 0 and only_trunc.num_rows == 0, _explain(label, only_full, only_trunc, key)


# -- the generator premise: a snapshot is a prefix ------------------------------------------------------------
def _pg_columns(url: str, schema: str, table: str) -> list[str]:
    return [
        r[0]
        for r in query(
            url,
            "SELECT column_name FROM information_schema.columns WHERE table_schema = :s AND table_name = :t "
            "ORDER BY ordinal_position",
            s=schema,
            t=table,
        )
    ]


def _pg_rows(
    url: str, schema: str, table: str, c: dt.date, where: str = "TRUE", overrides: dict | None = None
) -> Counter:
    """The table's rows as a multiset; `where` and `overrides` ({column: expression}) may use `:c`."""
    cols = [f"{(overrides or {}).get(name, name)} AS {name}" for name in _pg_columns(url, schema, table)]
    qualified = f"{schema}.{table}" if schema != "public" else table
    sql = f"SELECT {', '.join(cols)} FROM {qualified} WHERE {where}".replace(":c", f"DATE '{c}'")
    return Counter(query(url, sql, time_zone="America/Argentina/Buenos_Aires"))


def test_snapshot_sources_are_the_full_sources_cut_at_c(sources, c, profile):
    full, snap = sources["full"], sources[c]
    events = GUARANI_EVENTS | (SIMPLE_EVENTS if profile == "simple" else {})
    # Without the shapes nothing is cancelled or answered again later: only the aspirants' state changes.
    known = (
        GUARANI_AS_KNOWN_ON_C
        if profile == "realistic"
        else {"sga_propuestas_aspira": GUARANI_AS_KNOWN_ON_C["sga_propuestas_aspira"]}
    )
    checks = [(s, "negocio", t, w, known.get(t)) for s in full if s != "moodle" for t, w in events.items()]
    checks += [("moodle", "public", t, w, None) for t, w in MOODLE_EVENTS.items()]
    compared = 0
    for source, schema, table, where, overrides in checks:
        expected = _pg_rows(full[source], schema, table, c, where, overrides)
        actual = _pg_rows(snap[source], schema, table, c)
        missing, extra = expected - actual, actual - expected
        assert not missing and not extra, (
            f"{source}.{table}: the snapshot is not the full build cut at {c}: {sum(missing.values())} rows "
            f"missing (e.g. {list(missing)[:3]}), {sum(extra.values())} extra (e.g. {list(extra)[:3]})"
        )
        compared += sum(expected.values())
        log.info("%s.%s: %d rows dated <= %s identical", source, table, sum(expected.values()), c)
    assert compared > 20 * MIN_ROWS
    for source in full:
        schema, tables = ("public", MOODLE_SUBSETS) if source == "moodle" else ("negocio", GUARANI_SUBSETS)
        for table in tables:
            extra = _pg_rows(snap[source], schema, table, c) - _pg_rows(full[source], schema, table, c)
            assert not extra, f"{source}.{table}: snapshot rows that the full build does not have: {list(extra)[:3]}"
    # The future was really cut: later students, events and results are missing from the snapshot.
    for source in (s for s in full if s != "moodle"):
        for table in ("sga_alumnos", "sga_insc_cursada", "sga_actas_detalle"):
            n_full = query(full[source], f"SELECT count(*) FROM negocio.{table}")[0][0]
            n_snap = query(snap[source], f"SELECT count(*) FROM negocio.{table}")[0][0]
            assert 0 < n_snap < n_full, f"{source}.{table}: {n_snap} rows in the snapshot, {n_full} in the full build"
        kept = "SELECT alumno, persona, propuesta, ubicacion, plan_version, modalidad FROM negocio.sga_alumnos"
        assert not Counter(query(snap[source], kept)) - Counter(query(full[source], kept))


def test_snapshot_must_lie_within_the_calendar():
    from dwh.synthetic.params import GeneratorConfig

    cfg = GeneratorConfig(**GENERATOR)
    with pytest.raises(ValueError, match="snapshot"):
        dataclasses.replace(cfg, snapshot=UNTIL + dt.timedelta(days=1))
    with pytest.raises(ValueError, match="snapshot"):
        dataclasses.replace(cfg, snapshot=dt.date(cfg.first_year, 2, 28))
    assert dataclasses.replace(cfg, snapshot=CS[0]).n_semesters == cfg.n_semesters  # the calendar stays


# -- gold ----------------------------------------------------------------------------------------------------
def test_c_is_a_semester_as_of_date_and_the_future_exists(warehouses, c):
    full, trunc = warehouses["full"], warehouses[c]
    as_of_dates = set(_fetch(trunc, "SELECT as_of_date FROM gold.gold_tft_known_future").column(0).to_pylist())
    assert c in as_of_dates, f"C={c} must be a semester as-of date of gold_tft_known_future: {sorted(as_of_dates)}"
    later = _fetch(full, "SELECT count(*) FROM gold.gold_tft_temporal_features WHERE as_of_date > :c", c)
    assert later.column(0)[0].as_py() > MIN_ROWS, "the full build must have rows after C (the future)"
    latest = _fetch(trunc, "SELECT max(as_of_date) FROM gold.gold_tft_temporal_features").column(0)[0].as_py()
    assert latest <= c, f"the truncated build (as of {c}) has a temporal row frozen on {latest}"


def test_temporal_features_up_to_c_do_not_change(warehouses, c):
    sql = "SELECT * FROM gold.gold_tft_temporal_features WHERE as_of_date <= :c"
    full, trunc = _fetch(warehouses["full"], sql, c), _fetch(warehouses[c], sql, c)
    assert full.num_rows > MIN_ROWS, f"only {full.num_rows} rows to compare"
    _assert_identical(f"gold_tft_temporal_features (as_of_date <= {c})", full, trunc, ["alumno_key", "time_idx"])


def test_static_features_of_students_seen_by_c_do_not_change(warehouses, c):
    sql = (
        "SELECT * FROM gold.gold_tft_static_features WHERE alumno_key IN "
        "(SELECT alumno_key FROM gold.gold_tft_temporal_features WHERE as_of_date <= :c)"
    )
    full, trunc = _fetch(warehouses["full"], sql, c), _fetch(warehouses[c], sql, c)
    assert full.num_rows > MIN_ROWS // 2, f"only {full.num_rows} rows to compare"
    _assert_identical(f"gold_tft_static_features (students with a row <= {c})", full, trunc, ["alumno_key"])


def test_known_future_up_to_c_does_not_change(warehouses, c):
    sql = "SELECT * FROM gold.gold_tft_known_future WHERE as_of_date <= :c"
    full, trunc = _fetch(warehouses["full"], sql, c), _fetch(warehouses[c], sql, c)
    assert full.num_rows >= 6, f"only {full.num_rows} semesters to compare"
    _assert_identical(f"gold_tft_known_future (as_of_date <= {c})", full, trunc, ["time_idx"])


def test_labels_known_by_c_do_not_change(warehouses, c):
    sql = "SELECT * FROM gold.gold_tft_training_dataset WHERE label_as_of_date <= :c"
    full, trunc = _fetch(warehouses["full"], sql, c), _fetch(warehouses[c], sql, c)
    assert full.num_rows > MIN_ROWS, f"only {full.num_rows} rows to compare"
    all_trunc = _fetch(warehouses[c], "SELECT count(*) FROM gold.gold_tft_training_dataset")
    assert all_trunc.column(0)[0].as_py() == trunc.num_rows, "the truncated build has labels known after C"
    _assert_identical(f"gold_tft_training_dataset (label_as_of_date <= {c})", full, trunc, ["alumno_key", "time_idx"])


def test_full_training_rows_up_to_c_carry_the_features_seen_on_c(warehouses, c):
    """Every full-build training row dated <= C has exactly the truncated build's temporal and static features."""
    full_wh, trunc_wh = warehouses["full"], warehouses[c]
    training = set(_columns(full_wh, "gold_tft_training_dataset"))
    for table, key in (
        ("gold_tft_temporal_features", ["alumno_key", "time_idx"]),
        ("gold_tft_static_features", ["alumno_key"]),
    ):
        shared = [col for col in _columns(trunc_wh, table) if col in training]
        assert set(key) <= set(shared)
        cols = _cols_sql(shared)
        full = _fetch(full_wh, f"SELECT DISTINCT {cols} FROM gold.gold_tft_training_dataset WHERE as_of_date <= :c", c)
        trunc = _fetch(
            trunc_wh,
            f"SELECT {cols} FROM gold.{table} WHERE alumno_key IN "
            f"(SELECT alumno_key FROM gold.gold_tft_temporal_features WHERE as_of_date <= :c)"
            + (" AND as_of_date <= :c" if "as_of_date" in shared else ""),
            c,
        )
        only_full, _ = _differences(full, trunc, key)
        log.info("full training rows <= C against truncated %s: %d rows, %d columns", table, full.num_rows, len(shared))
        assert full.num_rows > MIN_ROWS // 2, f"only {full.num_rows} rows to compare"
        assert only_full.num_rows == 0, _explain(
            f"full gold_tft_training_dataset (as_of_date <= {c}) against truncated {table} on {len(shared)} columns",
            only_full,
            _same_keys(trunc, only_full, key),
            key,
        )


def test_training_and_inference_rows_up_to_c_keep_their_features(warehouses, c):
    full_wh, trunc_wh = warehouses["full"], warehouses[c]
    features = [col for col in _columns(full_wh, "gold_tft_training_dataset") if col not in LABELS]
    assert features == [col for col in _columns(trunc_wh, "gold_tft_training_dataset") if col not in LABELS]
    cols = _cols_sql(features)
    union = (
        f"SELECT {cols} FROM gold.gold_tft_training_dataset WHERE as_of_date <= :c "
        f"UNION SELECT {cols} FROM gold.gold_tft_inference_frame WHERE as_of_date <= :c AND en_riesgo"
    )
    full, trunc = _fetch(full_wh, union, c), _fetch(trunc_wh, union, c)
    key = ["alumno_key", "time_idx"]
    only_full, only_trunc = _differences(full, trunc, key)
    # Allowed: full-build rows whose label was unknown on C, of students the truncated build does not score;
    # truncated rows of students who, the full build knows, graduated by that semester (a certificate that
    # came after C: the student was at risk as far as C could tell).
    labels = _fetch(full_wh, "SELECT alumno_key, time_idx, label_as_of_date FROM gold.gold_tft_training_dataset")
    scored = _fetch(trunc_wh, "SELECT DISTINCT alumno_key FROM gold.gold_tft_inference_frame")
    graduated = _fetch(
        full_wh,
        "SELECT alumno_key AS alumno_key, min(gold.semestre_idx(silver.anio_academico(fecha_evento), "
        "silver.cuatrimestre(fecha_evento))) AS semestre FROM silver.fact_dropout WHERE tipo_evento = 'egreso' "
        "GROUP BY ALL",
    )
    con = duckdb.connect()
    con.register("only_full", only_full)
    con.register("only_trunc_rows", only_trunc)
    con.register("labels", labels)
    con.register("scored", scored)
    con.register("graduated", graduated)
    unexplained = con.sql(
        f"""SELECT o.* FROM only_full o LEFT JOIN labels l USING (alumno_key, time_idx)
            WHERE l.label_as_of_date IS NULL OR l.label_as_of_date <= DATE '{c}'
               OR o.alumno_key IN (SELECT alumno_key FROM scored)"""
    ).to_arrow_table()
    only_trunc = con.sql(
        """SELECT o.* FROM only_trunc_rows o LEFT JOIN graduated g USING (alumno_key)
           WHERE g.semestre IS NULL OR o.time_idx < g.semestre"""
    ).to_arrow_table()
    con.close()
    log.info(
        "training + inference (as_of_date <= C): %d rows full, %d truncated; %d full rows with a label unknown on C",
        full.num_rows,
        trunc.num_rows,
        only_full.num_rows - unexplained.num_rows,
    )
    assert trunc.num_rows > MIN_ROWS, f"only {trunc.num_rows} rows to compare"
    assert unexplained.num_rows == 0 and only_trunc.num_rows == 0, _explain(
        f"training + inference frame features (as_of_date <= {c})", unexplained, only_trunc, key
    )


# -- planted leaks ------------------------------------------------------------------------------------------
PLANTED_C = CS[1]  # 31 July: annual courses run on, July exams are closed in August, bajas come later
LEAKS = {
    # Guaraní's accumulated attendance placed in its course's first cuatrimestre, whatever it holds
    "annual_attendance": (
        "gold",
        "13_gold_tft_temporal_features.sql",
        "ASOF JOIN cal k ON f.fecha <= k.as_of_date",
        "ASOF JOIN cal k ON make_date(f.anio_academico, CASE WHEN f.cuatrimestre = 2 THEN 8 ELSE 3 END, 1)"
        " <= k.as_of_date",
    ),
    # every day of a Moodle account given to the person's latest career
    "moodle_relink": (
        "silver",
        "12_map_moodle_user_dia.sql",
        "ORDER BY abierta DESC, ingresada DESC,",
        "ORDER BY desde DESC,",
    ),
    # final results counted on the exam day, not when their acta was recorded
    "late_acta": (
        "gold",
        "13_gold_tft_temporal_features.sql",
        "ASOF JOIN cal k ON COALESCE(e.fecha_conocido, e.fecha_evaluacion) <= k.as_of_date",
        "ASOF JOIN cal k ON e.fecha_evaluacion <= k.as_of_date",
    ),
    # today's status of an inscription used as its past: cancelled ones left out of the count
    "current_status": (
        "gold",
        "13_gold_tft_temporal_features.sql",
        "count(*) AS cursadas_inscriptas,",
        "count(*) FILTER (WHERE NOT e.es_baja) AS cursadas_inscriptas,",
    ),
}


def _patched_sql(root: Path, layer: str, name: str, old: str, new: str) -> Path:
    """A copy of dwh/sql with one file's text changed."""
    from dwh.layers.sql_files import SQL_ROOT

    for each in ("silver", "gold"):
        (root / each).mkdir(parents=True)
        for path in (SQL_ROOT / each).glob("*.sql"):
            (root / each / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    target = root / layer / name
    text = target.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{name}: the text to replace must occur once"
    target.write_text(text.replace(old, new), encoding="utf-8")
    return root


def _rebuild(warehouse: Path, copy: Path, sql_root: Path, as_of: dt.date) -> Path:
    """Silver and gold of a copy of the warehouse, from the patched SQL."""
    import shutil

    from dwh.layers.runner import build_layer
    from dwh.layers.sql_files import layer_files
    from dwh.pipelines.silver_transform import bronze_placeholders

    shutil.copy(warehouse, copy)
    build_layer(
        copy,
        "silver",
        as_of,
        files=layer_files("silver", sql_root),
        variables={"hash_salt": SALT},
        prepare=bronze_placeholders(),
    )
    build_layer(copy, "gold", as_of, files=layer_files("gold", sql_root))
    return copy


@pytest.mark.parametrize("leak", ["none", *sorted(LEAKS)])
def test_a_planted_leak_is_caught(warehouses, profile, leak, tmp_path):
    """`none` rebuilds from the unchanged SQL: the copies themselves agree, so a difference is the leak's."""
    if profile != "realistic":
        pytest.skip("the shapes the leaks need are in the realistic profile")
    layer, name, old, new = LEAKS.get(leak, ("gold", "13_gold_tft_temporal_features.sql", "WITH cal AS", "WITH cal AS"))
    sql_root = _patched_sql(tmp_path / "sql", layer, name, old, new)
    c = PLANTED_C
    full = _rebuild(warehouses["full"], tmp_path / "full.duckdb", sql_root, UNTIL)
    trunc = _rebuild(warehouses[c], tmp_path / "truncated.duckdb", sql_root, c)
    sql = "SELECT * FROM gold.gold_tft_temporal_features WHERE as_of_date <= :c"
    only_full, only_trunc = _differences(_fetch(full, sql, c), _fetch(trunc, sql, c), ["alumno_key", "time_idx"])
    log.info("planted %s: %d rows differ", leak, only_full.num_rows)
    if leak == "none":
        assert only_full.num_rows == only_trunc.num_rows == 0
    else:
        assert only_full.num_rows > 0 and only_trunc.num_rows > 0, f"the planted leak {leak} went unnoticed"
