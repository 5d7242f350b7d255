"""The synthetic sources are deterministic, overlap their ids across sources and look like real Guaraní."""

from __future__ import annotations

import numpy as np
import pytest
from pg_util import query, scalar, table_checksums


@pytest.fixture(scope="module")
def twin(make_synthetic):
    """The same small university generated twice with one seed, and once with another seed."""
    params = dict(students=300, sources=2, years=3)
    return make_synthetic(seed=11, **params), make_synthetic(seed=11, **params), make_synthetic(seed=12, **params)


def test_same_seed_gives_identical_databases(twin):
    first, second, _ = twin
    for source, schema in (
        ("guarani_a", "negocio"),
        ("guarani_b", "negocio"),
        ("moodle", "public"),
        ("guarani_a", "dwh_synthetic"),
    ):
        a, b = table_checksums(first[source], schema), table_checksums(second[source], schema)
        assert a == b, f"{source}.{schema}: {[t for t in a if a[t] != b.get(t)]}"
    views = "SELECT md5(string_agg(v::text, '|' ORDER BY v::text)) FROM negocio.vw_hist_academica v"
    assert scalar(first["guarani_b"], views) == scalar(second["guarani_b"], views)


def test_another_seed_gives_other_data(twin):
    first, _, other = twin
    a, b = table_checksums(first["guarani_a"], "negocio"), table_checksums(other["guarani_a"], "negocio")
    assert a["sga_insc_cursada"] != b["sga_insc_cursada"]
    assert a["mug_provincias"] == b["mug_provincias"]  # catalogues do not depend on the seed


def test_sources_reuse_ids_for_different_people(synthetic_small):
    a, b = synthetic_small["guarani_a"], synthetic_small["guarani_b"]
    sql = (
        "SELECT al.alumno, al.persona, p.usuario FROM negocio.sga_alumnos al JOIN negocio.mdp_personas p "
        "USING (persona) ORDER BY al.alumno"
    )
    rows_a, rows_b = query(a, sql), query(b, sql)
    alumnos_a, alumnos_b = {r[0] for r in rows_a}, {r[0] for r in rows_b}
    assert len(alumnos_a & alumnos_b) >= 350, "alumno numbers should overlap across sources"
    personas_a = {r[1] for r in rows_a}
    assert len(personas_a & {r[1] for r in rows_b}) >= 300, "persona numbers should overlap across sources"
    dni_a, dni_b = {r[2] for r in rows_a if r[2]}, {r[2] for r in rows_b if r[2]}
    assert not dni_a & dni_b, "the same number must be a different person: DNIs never repeat"
    by_alumno_a = {r[0]: r[2] for r in rows_a}
    assert any(by_alumno_a[r[0]] != r[2] for r in rows_b if r[0] in by_alumno_a)


def test_exam_dates_are_date_in_one_source_and_timestamptz_in_the_other(synthetic_small):
    sql = (
        "SELECT data_type FROM information_schema.columns WHERE table_schema = 'negocio' "
        "AND table_name = :t AND column_name = 'fecha'"
    )
    for table in ("sga_llamados_mesa", "vw_hist_academica"):
        assert scalar(synthetic_small["guarani_a"], sql, t=table) == "date"
        assert scalar(synthetic_small["guarani_b"], sql, t=table) == "timestamp with time zone"
    # Late exams (21:30 in Buenos Aires) fall on the next day in UTC: the time zone matters.
    b = synthetic_small["guarani_b"]
    local = query(
        b,
        "SELECT (fecha AT TIME ZONE 'America/Argentina/Buenos_Aires')::date, "
        "(fecha AT TIME ZONE 'UTC')::date FROM negocio.sga_llamados_mesa "
        "WHERE hora_inicio = '21:30'",
    )
    assert local and all(utc_day == local_day.fromordinal(local_day.toordinal() + 1) for local_day, utc_day in local)


def test_codes_and_grades_look_like_guarani(synthetic_small):
    url = synthetic_small["guarani_a"]
    results = {r[0] for r in query(url, "SELECT DISTINCT resultado FROM negocio.sga_actas_detalle")}
    assert results == {"A", "P", "R", "U", "N"}
    notas = [r[0] for r in query(url, "SELECT nota FROM negocio.sga_actas_detalle")]
    assert any(n and "," in n for n in notas), "comma-decimal grades such as '7,50'"
    assert "Ausente" in notas and None in notas
    origins = {r[0] for r in query(url, "SELECT DISTINCT origen FROM negocio.vw_hist_academica")}
    assert origins == {"E", "P"}
    assert {r[0] for r in query(url, "SELECT DISTINCT calidad FROM negocio.sga_alumnos")} == {"A", "P"}


def test_history_has_the_hard_cases(synthetic_small):
    url = synthetic_small["guarani_a"]
    twice_surveyed = scalar(
        url,
        "SELECT count(*) FROM (SELECT persona FROM negocio.mdp_datos_censales GROUP BY persona HAVING count(*) > 1) t",
    )
    two_aspirations = scalar(
        url,
        "SELECT count(*) FROM (SELECT a.alumno FROM negocio.sga_alumnos a JOIN "
        "negocio.sga_propuestas_aspira pa USING (persona, propuesta) GROUP BY a.alumno "
        "HAVING count(*) > 1) t",
    )
    reincorporated = scalar(
        url, "SELECT count(DISTINCT h.alumno) FROM negocio.sga_alumnos_hist_calidad h WHERE motivo_calidad = 3"
    )
    lost = scalar(url, "SELECT count(*) FROM negocio.sga_perdida_regularidad")
    graduates = scalar(url, "SELECT count(*) FROM negocio.sga_certificados_otorg")
    non_students = scalar(
        url,
        "SELECT count(*) FROM negocio.mdp_personas p WHERE NOT EXISTS "
        "(SELECT 1 FROM negocio.sga_alumnos a WHERE a.persona = p.persona)",
    )
    never_surveyed = scalar(
        url,
        "SELECT count(*) FROM negocio.sga_alumnos a WHERE NOT EXISTS "
        "(SELECT 1 FROM negocio.mdp_datos_censales c WHERE c.persona = a.persona)",
    )
    assert min(twice_surveyed, two_aspirations, reincorporated, lost, graduates, non_students, never_surveyed) > 0
    reins_years = scalar(url, "SELECT count(DISTINCT anio_academico) FROM negocio.sga_reinscripciones")
    assert reins_years >= 4
    # Nothing exists after the snapshot date.
    latest = scalar(url, "SELECT max(fecha_inscripcion)::date FROM negocio.sga_insc_examen")
    assert str(latest) <= "2025-11-27"


def test_moodle_users_log_in_with_the_persona_dni(synthetic_small):
    dnis = {
        r[0]
        for src in ("guarani_a", "guarani_b")
        for r in query(
            synthetic_small[src],
            "SELECT p.usuario FROM negocio.mdp_personas p JOIN negocio.sga_alumnos a USING (persona)",
        )
    }
    users = query(synthetic_small["moodle"], "SELECT username, idnumber FROM mdl_user")
    matched = sum(1 for u, _ in users if u in dnis)
    assert matched / len(dnis) > 0.85
    unmatched_students = [(u, i) for u, i in users if u not in dnis and i in dnis]
    assert unmatched_students, "some accounts only carry the DNI in idnumber"
    events = scalar(synthetic_small["moodle"], "SELECT count(*) FROM mdl_logstore_standard_log")
    assert events > 10 * matched


def test_planted_risk_drives_dropout(synthetic_small):
    rows = query(
        synthetic_small["guarani_a"],
        "SELECT latent_risk, outcome FROM dwh_synthetic.student_truth WHERE cohort <= 2022",
    )
    risk = np.array([r[0] for r in rows])
    dropped = np.array([r[1] == "dropped_out" for r in rows])
    assert 0.2 < dropped.mean() < 0.8
    # Mann-Whitney AUC of the latent risk for dropping out.
    ranks = risk.argsort().argsort() + 1
    auc = (ranks[dropped].sum() - dropped.sum() * (dropped.sum() + 1) / 2) / (dropped.sum() * (~dropped).sum())
    assert auc > 0.6
    truth_rows = scalar(synthetic_small["guarani_a"], "SELECT count(*) FROM dwh_synthetic.student_truth")
    assert truth_rows == scalar(synthetic_small["guarani_a"], "SELECT count(*) FROM negocio.sga_alumnos")
