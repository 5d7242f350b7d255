"""Silver on a hand-written bronze: grains, no fan-out, and values worked out by hand."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest
from bronze_fixture import empty_bronze, insert

from dwh.layers.runner import build_layer
from dwh.layers.sql_files import layer_files

D = dt.date


def _bronze(path: Path) -> Path:
    empty_bronze(path)
    common = {
        "propuesta": 1,
        "plan_version_id": 1,
        "plan_version": "Plan 2010",
        "calidad": "A",
        "regular": "S",
        "modalidad": "P",
    }
    insert(
        path,
        "students",
        [
            {
                "source_db": "fa",
                "alumno": 1,
                "persona": 10,
                "propuesta_nombre": "Contador Público",
                "ubicacion": 1,
                "see_nombre": "Sede Central",
                "see_institucion": "Facultad X",
                "see_institucion_p": "Universidad U",
                "fecha_ingreso": D(2021, 2, 15),
                "anio_ingreso": 2021,
                **common,
            },
            {
                "source_db": "fb",
                "alumno": 1,
                "persona": 10,
                "propuesta_nombre": "Ingeniería Civil",
                "ubicacion": 1,
                "see_nombre": "Sede Norte",
                "see_institucion": "Facultad Y",
                "see_institucion_p": "Universidad U",
                "fecha_ingreso": D(2022, 2, 20),
                "anio_ingreso": 2022,
                **common,
            },
            {
                "source_db": "fa",
                "alumno": 2,
                "persona": 20,
                "ubicacion": 1,
                "see_institucion": "Facultad X",
                "fecha_ingreso": D(2021, 2, 15),
                "anio_ingreso": 2021,
                **common,
            },
            {
                "source_db": "fa",
                "alumno": 3,
                "persona": 30,
                "ubicacion": 1,
                "see_institucion": "Facultad X",
                "fecha_ingreso": D(2020, 12, 15),
                **common,
            },
            {
                "source_db": "fa",
                "alumno": 4,
                "persona": 40,
                "ubicacion": 1,
                "see_institucion": "Facultad X",
                "fecha_ingreso": D(2020, 11, 20),
                **common,
            },
        ],
    )
    insert(
        path,
        "personas",
        [
            {"source_db": "fa", "persona": 10, "fecha_nacimiento": D(2003, 5, 10), "sexo": "F", "usuario": "30111222"},
            {"source_db": "fb", "persona": 10, "fecha_nacimiento": D(1999, 1, 1), "sexo": "M", "usuario": "40999888"},
            {"source_db": "fa", "persona": 20, "fecha_nacimiento": D(2002, 3, 1), "sexo": "M", "usuario": "30222333"},
            {"source_db": "fa", "persona": 30, "fecha_nacimiento": D(2000, 7, 7), "sexo": "F", "usuario": "30333444"},
            {"source_db": "fa", "persona": 40, "fecha_nacimiento": D(2001, 1, 1), "sexo": "F", "usuario": None},
        ],
    )
    insert(
        path,
        "census",
        [
            {
                "source_db": "fa",
                "dato_censal": 100,
                "persona": 20,
                "fecha": D(2021, 2, 10),
                "trabajo_existe": 2,
                "beca": "N",
            },
            {
                "source_db": "fa",
                "dato_censal": 101,
                "persona": 20,
                "fecha": D(2022, 3, 15),
                "trabajo_existe": 1,
                "beca": "S",
            },
        ],
    )
    insert(
        path,
        "elementos",
        [{"source_db": s, "elemento": 5, "materia_codigo": "M5", "materia_nombre": "Matemática"} for s in ("fa", "fb")],
    )
    insert(
        path,
        "instancias",
        [{"source_db": s, "instancia": 3, "instancia_nombre": "Examen regular"} for s in ("fa", "fb")],
    )
    results = [
        ("h1", D(2021, 7, 20), "A", "7,50", 2021),
        ("h2", D(2021, 12, 10), "R", "2", 2021),
        ("h3", D(2022, 2, 20), "U", "Ausente", None),
        ("h4", D(2022, 7, 1), "P", "9", 2022),
        ("h5", D(2022, 12, 12), "N", "3", 2022),
        ("h6", D(2023, 7, 10), "A", "xx", 2023),
    ]
    insert(
        path,
        "historia_academica",
        [
            {
                "source_db": "fa",
                "dwh_pk": pk,
                "alumno": 1,
                "elemento": 5,
                "instancia": 3,
                "plan_version": 1,
                "fecha": fecha,
                "resultado": res,
                "nota": nota,
                "anio_academico": anio,
            }
            for pk, fecha, res, nota, anio in results
        ]
        + [
            {
                "source_db": "fb",
                "dwh_pk": "g1",
                "alumno": 1,
                "elemento": 5,
                "instancia": 3,
                "plan_version": 1,
                "fecha": D(2022, 7, 15),
                "resultado": "A",
                "nota": "8",
                "anio_academico": 2022,
            }
        ],
    )
    insert(
        path,
        "course_inscriptions",
        [
            {
                "source_db": "fa",
                "inscripcion_id": 50,
                "alumno": 3,
                "elemento_id": 5,
                "plan_version_id": 1,
                "anio_academico": 2021,
                "periodo_inicio": D(2021, 3, 13),
                "estado_inscripcion": "A",
                "fecha_inscripcion": dt.datetime(2021, 2, 25, 12, tzinfo=dt.timezone.utc),
            },
            {
                "source_db": "fa",
                "inscripcion_id": 51,
                "alumno": 1,
                "elemento_id": 5,
                "plan_version_id": 1,
                "anio_academico": 2021,
                "periodo_inicio": D(2021, 8, 9),
                "estado_inscripcion": "A",
                "fecha_inscripcion": dt.datetime(2021, 7, 28, 12, tzinfo=dt.timezone.utc),
            },
        ],
    )
    insert(
        path,
        "academic",
        [
            {
                "source_db": "fa",
                "inscripcion": 51,
                "alumno": 1,
                "resultado_cursada": "A",
                "nota_cursada": "6,50",
                "fecha_nota": D(2021, 11, 26),
                "anio_academico": 2021,
            }
        ],
    )
    insert(
        path,
        "alumnos_hist_calidad",
        [
            {
                "source_db": "fa",
                "alumno": 3,
                "fecha": dt.datetime(2021, 3, 1, 12, tzinfo=dt.timezone.utc),
                "calidad": "A",
                "motivo_calidad": 1,
            },
            {
                "source_db": "fa",
                "alumno": 3,
                "fecha": dt.datetime(2022, 4, 20, 12, tzinfo=dt.timezone.utc),
                "calidad": "P",
                "motivo_calidad": 2,
            },
            {
                "source_db": "fa",
                "alumno": 3,
                "fecha": dt.datetime(2022, 5, 20, 12, tzinfo=dt.timezone.utc),
                "calidad": "A",
                "motivo_calidad": 3,
            },
        ],
    )
    insert(
        path,
        "perdida_regularidades",
        [{"source_db": "fa", "perdida_regularidad": 7, "alumno": 3, "anio_academico": 2021, "fecha": D(2022, 4, 20)}],
    )
    insert(
        path, "graduates", [{"source_db": "fa", "certificado_otorg": 900, "alumno": 2, "fecha_egreso": D(2025, 3, 10)}]
    )
    insert(
        path,
        "moodle_users",
        [
            {"source_db": "moodle", "userid": 7, "username": "30111222", "deleted": 0},
            {"source_db": "moodle", "userid": 8, "username": "zzz", "deleted": 0},
        ],
    )
    insert(
        path,
        "moodle_engagement",
        [
            {
                "source_db": "moodle",
                "userid": u,
                "courseid": 2,
                "dia": D(2022, 4, 4),
                "eventos": n,
                "acciones_distintas": 1,
            }
            for u, n in ((7, 12), (8, 3))
        ],
    )
    return path


@pytest.fixture(scope="module")
def silver(tmp_path_factory):
    warehouse = _bronze(tmp_path_factory.mktemp("silver_values") / "w.duckdb")
    run = build_layer(warehouse, "silver", D(2025, 5, 9), variables={"hash_salt": "test-salt"})
    return warehouse, run


def q(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


@pytest.mark.parametrize("sql_file", [f for f in layer_files("silver") if f.grain], ids=lambda f: f.table)
def test_every_table_has_its_declared_grain(silver, sql_file):
    warehouse, _ = silver
    cols = ", ".join(sql_file.grain)
    total, distinct = q(warehouse, f"SELECT count(*), count(DISTINCT ({cols})) FROM {sql_file.target}")[0]
    assert total == distinct


def test_facts_do_not_fan_out(silver):
    warehouse, _ = silver
    pairs = {
        "fact_course_enrollment": "course_inscriptions",
        "fact_academic_performance": "historia_academica",
        "fact_exam_inscription": "exam_inscriptions",
        "fact_reinscription": "reinscripciones",
        "fact_student_status_history": "alumnos_hist_calidad",
        "dim_student": "students",
        "dim_persona": "personas",
        "dim_census": "census",
    }
    for fact, bronze in pairs.items():
        assert q(warehouse, f"SELECT count(*) FROM silver.{fact}") == q(
            warehouse, f"SELECT count(*) FROM bronze.{bronze}"
        )


def test_result_counts_per_student(silver):
    warehouse, _ = silver
    rows = q(
        warehouse,
        """
        SELECT s.source_db, s.alumno, sum(aprobado_flag), sum(reprobado_flag), sum(ausente_flag), count(*)
        FROM silver.fact_academic_performance f JOIN silver.dim_student s USING (alumno_key)
        GROUP BY ALL ORDER BY ALL""",
    )
    # fa/1: A, R, U, P, N, A -> approved A, P, A; failed R, N; absent U.  fb/1: one A.
    assert rows == [("fa", 1, 3, 2, 1, 6), ("fb", 1, 1, 0, 0, 1)]
    assert q(
        warehouse,
        "SELECT count(*) FROM silver.fact_academic_performance "
        "WHERE aprobado_flag + reprobado_flag + ausente_flag <> 1",
    ) == [(0,)]


def test_the_same_alumno_number_in_two_sources_is_two_students(silver):
    warehouse, _ = silver
    rows = q(
        warehouse,
        "SELECT source_db, propuesta_nombre, anio_ingreso, edad_ingreso FROM silver.dim_student "
        "WHERE alumno = 1 ORDER BY source_db",
    )
    # fa: born 2003-05-10, entered 2021-02-15 -> 17; fb: born 1999-01-01, entered 2022-02-20 -> 23.
    assert rows == [("fa", "Contador Público", 2021, 17), ("fb", "Ingeniería Civil", 2022, 23)]
    keys = q(
        warehouse,
        "SELECT count(DISTINCT alumno_key), count(DISTINCT persona_key) FROM silver.dim_student WHERE alumno = 1",
    )
    assert keys == [(2, 2)]


def test_a_person_surveyed_twice_has_two_census_rows_with_validity(silver):
    warehouse, _ = silver
    rows = q(
        warehouse,
        "SELECT dato_censal, valid_from, valid_to, es_vigente, trabajo_existe, beca "
        "FROM silver.dim_census ORDER BY valid_from",
    )
    assert rows == [(100, D(2021, 2, 10), D(2022, 3, 14), False, 2, False), (101, D(2022, 3, 15), None, True, 1, True)]
    at = q(
        warehouse,
        "SELECT dato_censal FROM silver.dim_census WHERE valid_from <= DATE '2022-01-01' "
        "AND (valid_to IS NULL OR DATE '2022-01-01' <= valid_to)",
    )
    assert at == [(100,)]


def test_a_reincorporated_student_keeps_both_events_and_a_current_status(silver):
    warehouse, _ = silver
    events = q(
        warehouse,
        "SELECT tipo_evento, fecha_evento, anio_academico FROM silver.fact_dropout "
        "WHERE source_db = 'fa' AND alumno = 3 ORDER BY fecha_evento",
    )
    assert events == [
        ("ultima_actividad", D(2021, 2, 25), 2020),
        ("perdida_regularidad", D(2022, 4, 20), 2021),
        ("reincorporacion", D(2022, 5, 20), 2022),
    ]
    history = q(
        warehouse,
        "SELECT calidad, nro_cambio, valid_to IS NULL, es_actual FROM "
        "silver.fact_student_status_history WHERE alumno = 3 ORDER BY nro_cambio",
    )
    assert history == [("A", 1, False, False), ("P", 2, False, False), ("A", 3, True, True)]
    graduation = q(warehouse, "SELECT alumno, fecha_evento FROM silver.fact_dropout WHERE tipo_evento = 'egreso'")
    assert graduation == [(2, D(2025, 3, 10))]


def test_comma_grades_parse_and_unparsed_grades_are_counted(silver):
    warehouse, run = silver
    grades = dict(q(warehouse, "SELECT dwh_pk, nota_num FROM silver.fact_academic_performance WHERE source_db = 'fa'"))
    assert grades == {"h1": 7.5, "h2": 2.0, "h3": None, "h4": 9.0, "h5": 3.0, "h6": None}
    assert q(warehouse, "SELECT nota_cursada_num FROM silver.fact_course_enrollment WHERE inscripcion = 51") == [(6.5,)]
    unparsed = [t for t in run.tests if t.table == "silver.fact_academic_performance" and "nota_reconocida" in t.test]
    assert [(t.status, t.failing) for t in unparsed] == [("warn", 1)]


def test_ages_are_completed_years_at_the_as_of_date(silver, tmp_path):
    warehouse, _ = silver
    # Born 2003-05-10: 21 on 2025-05-09 (the as-of date), 22 from 2025-05-10.
    assert q(warehouse, "SELECT edad FROM silver.dim_persona WHERE source_db = 'fa' AND persona = 10") == [(21,)]
    other = _bronze(tmp_path / "w.duckdb")
    build_layer(other, "silver", D(2025, 5, 10), variables={"hash_salt": "test-salt"})
    assert q(other, "SELECT edad FROM silver.dim_persona WHERE source_db = 'fa' AND persona = 10") == [(22,)]
    assert q(other, "SELECT antiguedad_anios FROM silver.dim_student WHERE source_db = 'fa' AND alumno = 1") == [(4,)]


def test_cohort_is_the_academic_year_of_entry(silver):
    warehouse, _ = silver
    cohorts = dict(q(warehouse, "SELECT alumno, anio_ingreso FROM silver.dim_student WHERE source_db = 'fa'"))
    # 3: no aspirant year, first course in 2021; 4: nothing but a November 2020 application -> 2021.
    assert cohorts == {1: 2021, 2: 2021, 3: 2021, 4: 2021}


def test_events_use_the_academic_calendar(silver):
    warehouse, _ = silver
    # A February 2022 exam belongs to academic year 2021, second cuatrimestre.
    assert q(
        warehouse, "SELECT anio_academico, cuatrimestre FROM silver.fact_academic_performance WHERE dwh_pk = 'h3'"
    ) == [(2021, 2)]
    periodo = q(warehouse, "SELECT fecha_inicio, fecha_fin FROM silver.dim_periodo WHERE anio_academico = 2023")
    assert periodo == [(D(2023, 3, 1), D(2024, 2, 29))]
    names = q(warehouse, "SELECT dia_nombre, mes_nombre FROM silver.dim_fecha WHERE fecha = DATE '2022-02-20'")
    assert names == [("domingo", "febrero")]


def test_moodle_accounts_link_through_a_salted_hash(silver):
    warehouse, run = silver
    links = q(
        warehouse,
        "SELECT m.userid, s.source_db, s.alumno FROM silver.map_moodle_user m "
        "LEFT JOIN silver.dim_student s USING (alumno_key) ORDER BY m.userid",
    )
    assert links == [(7, "fa", 1), (8, None, None)]
    assert q(warehouse, "SELECT count(*), sum(eventos) FROM silver.fact_lms_activity") == [(1, 12)]
    unmatched = [t for t in run.tests if t.table == "silver.map_moodle_user" and t.status == "warn"]
    assert [t.failing for t in unmatched] == [1]
    dump = q(warehouse, "SELECT string_agg(CAST(p AS VARCHAR), '|') FROM silver.dim_persona p")[0][0]
    assert "30111222" not in dump


def test_same_bronze_and_as_of_give_identical_silver(silver, tmp_path):
    warehouse, _ = silver
    again = _bronze(tmp_path / "again.duckdb")
    build_layer(again, "silver", D(2025, 5, 9), variables={"hash_salt": "test-salt"})
    for sql_file in layer_files("silver"):
        if not sql_file.grain:
            continue
        checksum = (
            f"SELECT md5(string_agg(CAST(t AS VARCHAR), '|' ORDER BY CAST(t AS VARCHAR))) FROM {sql_file.target} t"
        )
        assert q(warehouse, checksum) == q(again, checksum), sql_file.target
