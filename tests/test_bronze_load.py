"""A full bronze load of the synthetic sources: every row once, typed columns, normalised dates."""

from __future__ import annotations

import pytest
from bronze_support import bronze_tables, run_bronze, wh, wh_scalar, write_config
from pg_util import query, scalar

from dwh.sources.catalog import TABLES

GUARANI_COUNTS = {
    "students": "SELECT count(*) FROM negocio.sga_alumnos",
    "personas": "SELECT count(DISTINCT persona) FROM negocio.sga_alumnos",
    "elementos": "SELECT count(*) FROM negocio.sga_elementos",
    "instancias": "SELECT count(*) FROM negocio.sga_instancias",
    "attendance": "SELECT count(*) FROM negocio.sga_clases_asistencia_acum",
    "academic": "SELECT count(*) FROM negocio.sga_insc_cursada",
    "census": "SELECT count(*) FROM negocio.mdp_datos_censales c WHERE EXISTS "
    "(SELECT 1 FROM negocio.sga_alumnos a WHERE a.persona = c.persona)",
    "perdida_regularidades": "SELECT count(*) FROM negocio.sga_perdida_regularidad",
    "alumnos_hist_calidad": "SELECT count(*) FROM negocio.sga_alumnos_hist_calidad",
    "historia_academica": "SELECT count(*) FROM negocio.vw_hist_academica",
    "exam_inscriptions": "SELECT count(*) FROM negocio.sga_insc_examen",
    "course_inscriptions": "SELECT count(*) FROM negocio.sga_insc_cursada",
    "reinscripciones": "SELECT count(*) FROM negocio.sga_reinscripciones",
    "graduates": "SELECT count(*) FROM negocio.sga_certificados_otorg WHERE anulado = 0",
}
MOODLE_COUNTS = {
    "moodle_users": "SELECT count(*) FROM mdl_user",
    "moodle_courses": "SELECT count(*) FROM mdl_course",
    "moodle_enrolments": "SELECT count(*) FROM mdl_user_enrolments",
    "moodle_attendance": "SELECT count(*) FROM mdl_attendance_log",
    "moodle_engagement": "SELECT count(*) FROM (SELECT DISTINCT userid, courseid, "
    "(to_timestamp(timecreated) AT TIME ZONE 'America/Argentina/Buenos_Aires')::date "
    "FROM mdl_logstore_standard_log WHERE userid > 0 AND courseid IS NOT NULL) t",
}


@pytest.fixture(scope="module")
def loaded(make_synthetic, tmp_path_factory):
    """Two Guaraní sources and Moodle loaded twice into one warehouse; counts after each run."""
    urls = make_synthetic(students=500, sources=2, years=6, seed=3)
    base = tmp_path_factory.mktemp("bronze_load")
    config = write_config(
        base / "config.py",
        {
            "guarani_a": (urls["guarani_a"], "guarani"),
            "guarani_b": (urls["guarani_b"], "guarani"),
            "moodle": (urls["moodle"], "moodle"),
        },
    )
    warehouse = base / "warehouse.duckdb"
    first = run_bronze(config, warehouse)
    assert first.returncode == 0, first.stderr[-3000:]
    counts_first = _counts(warehouse)
    second = run_bronze(config, warehouse)
    assert second.returncode == 0, second.stderr[-3000:]
    return urls, warehouse, counts_first


def _counts(warehouse) -> dict[tuple[str, str], int]:
    out = {}
    for table in bronze_tables(warehouse):
        for source, n in wh(warehouse, f'SELECT source_db, count(*) FROM bronze."{table}" GROUP BY 1'):
            out[(table, source)] = n
    return out


def test_every_table_is_created(loaded):
    _urls, warehouse, _ = loaded
    assert bronze_tables(warehouse) == {t.name for t in TABLES}


@pytest.mark.parametrize("table", sorted(GUARANI_COUNTS))
def test_guarani_row_counts_match_each_source(loaded, table):
    urls, warehouse, _ = loaded
    for source in ("guarani_a", "guarani_b"):
        expected = scalar(urls[source], GUARANI_COUNTS[table])
        actual = wh_scalar(warehouse, f'SELECT count(*) FROM bronze."{table}" WHERE source_db = ?', [source])
        assert actual == expected, f"{table} from {source}"
        assert expected > 0


@pytest.mark.parametrize("table", sorted(MOODLE_COUNTS))
def test_moodle_row_counts_match_the_source(loaded, table):
    urls, warehouse, _ = loaded
    assert (
        wh_scalar(warehouse, f'SELECT count(*) FROM bronze."{table}"')
        == scalar(urls["moodle"], MOODLE_COUNTS[table])
        > 0
    )


def test_generator_counts_agree(loaded):
    urls, warehouse, _ = loaded
    generated = dict(query(urls["guarani_b"], "SELECT table_name, row_count FROM dwh_synthetic.table_counts"))
    bronze = wh_scalar(warehouse, "SELECT count(*) FROM bronze.course_inscriptions WHERE source_db = 'guarani_b'")
    assert bronze == generated["sga_insc_cursada"]


def test_a_second_run_duplicates_nothing(loaded):
    _urls, warehouse, counts_first = loaded
    assert _counts(warehouse) == counts_first
    for table in TABLES:
        key = ", ".join(("source_db",) + table.key)
        dupes = wh_scalar(
            warehouse,
            f'SELECT count(*) FROM (SELECT {key} FROM bronze."{table.name}" GROUP BY {key} HAVING count(*) > 1)',
        )
        assert dupes == 0, table.name


def test_only_students_are_extracted_as_persons(loaded):
    _urls, warehouse, _ = loaded
    extra = wh_scalar(
        warehouse,
        "SELECT count(*) FROM bronze.personas p WHERE NOT EXISTS (SELECT 1 FROM "
        "bronze.students s WHERE s.source_db = p.source_db AND s.persona = p.persona)",
    )
    assert extra == 0
    columns = {
        r[0]
        for r in wh(
            warehouse,
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'bronze' AND table_name = 'personas'",
        )
    }
    # names and e-mail are extracted for the tutors' contacts file (never published: tests/test_privacy.py);
    # nothing asks for a street address
    assert {"apellido", "nombres", "email"} <= columns
    assert "calle" not in columns


def test_one_student_row_with_the_admitted_aspirant_record(loaded):
    urls, warehouse, _ = loaded
    twice = query(
        urls["guarani_a"],
        """
        SELECT a.alumno FROM negocio.sga_alumnos a JOIN negocio.sga_propuestas_aspira pa USING (persona, propuesta)
        GROUP BY a.alumno HAVING count(*) > 1 LIMIT 5""",
    )
    assert twice
    for (alumno,) in twice:
        rows = wh(
            warehouse,
            "SELECT aspirante_resultado FROM bronze.students WHERE source_db = 'guarani_a' AND alumno = ?",
            [alumno],
        )
        assert rows == [("A",)] or rows == [("P",)]


def test_exam_dates_are_the_local_day_in_both_deployments(loaded):
    urls, warehouse, _ = loaded
    types = dict(
        wh(
            warehouse,
            "SELECT column_name, data_type FROM information_schema.columns WHERE "
            "table_schema = 'bronze' AND table_name = 'exam_inscriptions'",
        )
    )
    assert types["fecha_mesa_examen"] == "DATE"
    late = query(
        urls["guarani_b"],
        """
        SELECT ie.inscripcion, (lm.fecha AT TIME ZONE 'America/Argentina/Buenos_Aires')::date,
               (lm.fecha AT TIME ZONE 'UTC')::date
        FROM negocio.sga_insc_examen ie JOIN negocio.sga_llamados_mesa lm USING (llamado_mesa)
        WHERE lm.hora_inicio = '21:30' LIMIT 20""",
    )
    assert late
    for inscripcion, local_day, utc_day in late:
        assert local_day != utc_day
        got = wh_scalar(
            warehouse,
            "SELECT fecha_mesa_examen FROM bronze.exam_inscriptions WHERE "
            "source_db = 'guarani_b' AND inscripcion_id = ?",
            [inscripcion],
        )
        assert got == local_day


def test_columns_exist_with_declared_types_even_when_all_null(loaded):
    _urls, warehouse, _ = loaded
    types = dict(
        wh(
            warehouse,
            "SELECT column_name, data_type FROM information_schema.columns WHERE "
            "table_schema = 'bronze' AND table_name = 'historia_academica'",
        )
    )
    assert wh_scalar(warehouse, "SELECT count(nro_resolucion) FROM bronze.historia_academica") == 0
    assert types["nro_resolucion"] == "VARCHAR"
    assert types["creditos"] == "DECIMAL(6,2)"
    assert types["fecha"] == "DATE"


def test_engagement_is_aggregated_without_losing_events(loaded):
    urls, warehouse, _ = loaded
    events = scalar(
        urls["moodle"], "SELECT count(*) FROM mdl_logstore_standard_log WHERE userid > 0 AND courseid IS NOT NULL"
    )
    assert wh_scalar(warehouse, "SELECT sum(eventos) FROM bronze.moodle_engagement") == events


def test_the_run_is_logged_per_source_and_table(loaded):
    _urls, warehouse, _ = loaded
    runs = wh(
        warehouse,
        "SELECT run_id, count(*), count(DISTINCT source_db), min(status), max(status) "
        "FROM bronze._dwh_load_log GROUP BY run_id",
    )
    assert len(runs) == 2
    assert all(n == 2 * 14 + 5 and sources == 3 and lo == hi == "loaded" for _r, n, sources, lo, hi in runs)


def test_the_committed_bronze_schema_is_what_a_real_load_creates(loaded):
    from dwh.docs.generate import BRONZE_SCHEMA, bronze_schema_sql

    _urls, warehouse, _ = loaded
    assert bronze_schema_sql(warehouse) == BRONZE_SCHEMA.read_text(encoding="utf-8"), (
        "a real load does not create the tables dwh/schema/bronze.sql declares"
    )


def test_bronze_reads_nothing_dated_after_the_as_of_date(loaded, tmp_path):
    """DWH_AS_OF, not the run date, is the queries' "today": an earlier as-of date reads an earlier snapshot."""
    urls, _, _ = loaded
    config = write_config(tmp_path / "config.py", {"guarani_a": (urls["guarani_a"], "guarani")})
    warehouse = tmp_path / "as_of.duckdb"
    done = run_bronze(config, warehouse, DWH_AS_OF="2023-12-31", DWH_BRONZE_RESOURCES="course_inscriptions")
    assert done.returncode == 0, done.stderr[-3000:]
    expected = scalar(
        urls["guarani_a"],
        "SELECT count(*) FROM negocio.sga_insc_cursada "
        "WHERE (fecha_inscripcion AT TIME ZONE 'America/Argentina/Buenos_Aires')::date <= DATE '2023-12-31'",
    )
    later = scalar(urls["guarani_a"], "SELECT count(*) FROM negocio.sga_insc_cursada") - expected
    assert expected > 0 and later > 0
    assert wh_scalar(warehouse, "SELECT count(*) FROM bronze.course_inscriptions") == expected
