"""Gold data marts on a hand-written silver: grains, no fan-out, and values worked out by hand.

As-of date 2024-05-15: academic years 2021-2023 are over, 2024 is running. Students:
  ga/1 (cohort 2021): results in 2021 and 2022, only a reinscription in 2023; Moodle activity.
  gb/1 (cohort 2021, same alumno number in another source): one result in 2021, then nothing.
  ga/2 (cohort 2021): one result in 2021, graduates in 2022.
  ga/3 (cohort 2022): a course inscription in 2023; re-surveyed in the census in 2023.
  ga/4 (cohort 2023): no activity at all.
  gb/2 (cohort 2024): entered after the as-of date, so not in gold yet.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
import pytest
from silver_fixture import alumno_key, empty_silver, insert_silver

from dwh.layers.runner import build_layer
from dwh.layers.sql_files import layer_files

D = dt.date
AS_OF = D(2024, 5, 15)
MARTS = [
    "mart_student_academic_summary",
    "mart_student_engagement",
    "mart_student_risk_features",
    "mart_cohort_analysis",
]

S1, S2, S3, S4, S5, S6 = (
    alumno_key("ga", 1),
    alumno_key("gb", 1),
    alumno_key("ga", 2),
    alumno_key("ga", 3),
    alumno_key("ga", 4),
    alumno_key("gb", 2),
)


def ts(*args: int) -> dt.datetime:
    return dt.datetime(*args, 12, 0, tzinfo=dt.timezone.utc)


def _student(key, source_db, alumno, persona, propuesta, cohorte, fecha_ingreso):
    return {
        "alumno_key": key,
        "source_db": source_db,
        "alumno": alumno,
        "persona_key": f"{source_db}-p{persona}",
        "propuesta_key": f"{source_db}-prop{propuesta}",
        "propuesta_nombre": f"Carrera {propuesta}",
        "facultad_key": f"{source_db}-fac",
        "facultad_nombre": f"Facultad {source_db}",
        "sede_nombre": "Sede Central",
        "tipo_sede": "central",
        "fecha_ingreso": fecha_ingreso,
        "anio_ingreso": cohorte,
        "calidad_actual": "P",
        "es_regular_actual": False,
    }


def _result(n, key, year, result, nota=None, fecha=None):
    flags = {"A": (1, 0, 0), "R": (0, 1, 0), "U": (0, 0, 1)}[result]
    return {
        "source_db": "ga",
        "dwh_pk": f"r{n}",
        "alumno_key": key,
        "elemento_key": f"e{n % 4}",
        "anio_academico": year,
        "fecha_evaluacion": fecha or D(year, 11, 20),
        "resultado": result,
        "nota_num": nota,
        "creditos": 5,
        "aprobado_flag": flags[0],
        "reprobado_flag": flags[1],
        "ausente_flag": flags[2],
    }


def _silver(path: Path) -> None:
    empty_silver(path, AS_OF)
    insert_silver(
        path,
        "dim_student",
        [
            _student(S1, "ga", 1, 10, 1, 2021, D(2021, 2, 1)),
            _student(S2, "gb", 1, 10, 2, 2021, D(2021, 2, 1)),
            _student(S3, "ga", 2, 20, 1, 2021, D(2021, 2, 3)),
            _student(S4, "ga", 3, 30, 1, 2022, D(2022, 2, 1)),
            _student(S5, "ga", 4, 40, 1, 2023, D(2023, 2, 1)),
            _student(S6, "gb", 2, 60, 2, 2024, D(2024, 8, 1)),
        ],
    )
    insert_silver(
        path,
        "dim_persona",
        [
            {"persona_key": "ga-p10", "source_db": "ga", "persona": 10, "fecha_nacimiento": D(2000, 6, 10)},
            {"persona_key": "ga-p30", "source_db": "ga", "persona": 30, "fecha_nacimiento": D(2003, 1, 1)},
        ],
    )
    census = {"source_db": "ga", "costeos_estudios_familiar": True}
    insert_silver(
        path,
        "dim_census",
        [
            {**census, "census_key": "c1", "dato_censal": 1, "persona": 10, "persona_key": "ga-p10",
             "valid_from": D(2021, 3, 15), "valid_to": None, "trabajo_hora_sem": 20},
            {**census, "census_key": "c2", "dato_censal": 2, "persona": 30, "persona_key": "ga-p30",
             "valid_from": D(2022, 4, 1), "valid_to": D(2023, 5, 31), "trabajo_hora_sem": 10},
            {**census, "census_key": "c3", "dato_censal": 3, "persona": 30, "persona_key": "ga-p30",
             "valid_from": D(2023, 6, 1), "valid_to": None, "trabajo_hora_sem": 40},
        ],
    )  # fmt: skip
    insert_silver(
        path,
        "fact_academic_performance",
        [
            _result(1, S1, 2021, "A", 8.0),
            _result(2, S1, 2021, "A", 6.0),
            _result(3, S1, 2021, "A", 7.0),
            _result(4, S1, 2022, "A", 6.0),
            _result(5, S1, 2022, "R", 2.0),
            _result(6, S1, 2022, "R", 3.0),
            _result(7, S1, 2022, "U"),
            # recorded after the as-of date: must not count anywhere
            _result(8, S1, 2024, "A", 10.0, fecha=D(2024, 6, 1)),
            _result(9, S2, 2021, "A", 9.0),
            _result(10, S3, 2021, "A", 10.0),
        ],
    )
    insert_silver(
        path,
        "fact_dropout",
        [
            {"source_db": "ga", "evento_id": "egreso:1", "alumno_key": S3, "alumno": 2, "tipo_evento": "egreso",
             "fecha_evento": D(2022, 12, 10), "anio_academico": 2022},
            {"source_db": "ga", "evento_id": "perdida_regularidad:1", "alumno_key": S2, "alumno": 1,
             "tipo_evento": "perdida_regularidad", "fecha_evento": D(2022, 4, 1), "anio_academico": 2022},
        ],
    )  # fmt: skip
    insert_silver(
        path,
        "fact_reinscription",
        [
            {"source_db": "ga", "reinscripcion": 1, "alumno_key": S1, "anio_academico": 2023,
             "fecha_reinscripcion": ts(2023, 2, 20)},
        ],
    )  # fmt: skip
    insert_silver(
        path,
        "fact_exam_inscription",
        [
            # February exams belong to the previous academic year
            {"source_db": "ga", "inscripcion": i, "alumno_key": S1, "elemento_key": f"e{i}",
             "fecha_mesa_examen": D(2022, 2, 15), "anio_academico": 2021, "fecha_inscripcion": ts(2022, 2, 10)}
            for i in (1, 2)
        ],
    )  # fmt: skip
    insert_silver(
        path,
        "fact_course_enrollment",
        [
            {"source_db": "ga", "inscripcion": i, "alumno_key": key, "elemento_key": elemento, "anio_academico": y,
             "fecha_inscripcion": ts(y, 3, 5), "es_baja": False}
            for i, (key, elemento, y) in enumerate(
                [(S1, "e1", 2021), (S1, "e2", 2021), (S1, "e3", 2021), (S1, "e3", 2022), (S1, "e4", 2022),
                 (S4, "e1", 2023)]
            )
        ],
    )  # fmt: skip
    attendance = {"source_db": "ga", "cuatrimestre": 1}
    insert_silver(
        path,
        "fact_attendance",
        [
            {**attendance, "sistema": "guarani", "curso": 1, "participante": 1, "alumno_key": S1,
             "anio_academico": 2021, "sesiones": 10, "asistencias": 9, "inasistencias": 1, "porc_asistencia": 90.0},
            {**attendance, "sistema": "guarani", "curso": 2, "participante": 1, "alumno_key": S1,
             "anio_academico": 2022, "sesiones": 10, "asistencias": 5, "inasistencias": 5, "porc_asistencia": 50.0},
            {**attendance, "sistema": "moodle", "curso": 7, "participante": 77, "alumno_key": S2,
             "anio_academico": 2021, "sesiones": 4, "asistencias": 3, "inasistencias": 1, "porc_asistencia": 75.0},
        ],
    )  # fmt: skip
    insert_silver(
        path,
        "fact_lms_activity",
        [
            {"source_db": "moodle", "userid": 5, "courseid": c, "dia": day, "alumno_key": S1,
             "anio_academico": 2022, "eventos": n}
            for c, day, n in [(1, D(2022, 4, 1), 3), (2, D(2022, 4, 1), 4), (1, D(2022, 4, 2), 5)]
        ],
    )  # fmt: skip
    insert_silver(
        path,
        "fact_student_status_history",
        [
            {"source_db": "ga", "alumno": 1, "alumno_key": S1, "fecha_cambio": ts(*day), "calidad": calidad}
            for day, calidad in [((2021, 5, 1), "A"), ((2022, 4, 1), "P"), ((2022, 9, 1), "A"), ((2023, 6, 1), "P")]
        ],
    )  # fmt: skip


@pytest.fixture(scope="module")
def gold(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gold_marts") / "warehouse.duckdb"
    _silver(path)
    build_layer(path, "gold", AS_OF, files=[f for f in layer_files("gold") if f.name[:2] < "10"])
    return path


def q(path: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def row(path: Path, table: str, columns: str, key: str, year: int) -> tuple:
    rows = q(path, f"SELECT {columns} FROM gold.{table} WHERE alumno_key = ? AND anio_academico = ?", [key, year])
    assert len(rows) == 1, (table, key, year, rows)
    return rows[0]


# --- spine and grain -------------------------------------------------------------------------------------


def test_spine_is_every_year_from_cohort_to_as_of_or_graduation(gold):
    sql = "SELECT alumno_key, list(anio_academico ORDER BY anio_academico) FROM gold.{} GROUP BY 1"
    years = dict(q(gold, sql.format("mart_student_academic_summary")))
    assert years == {
        S1: [2021, 2022, 2023, 2024],
        S2: [2021, 2022, 2023, 2024],
        S3: [2021, 2022],  # graduated in 2022
        S4: [2022, 2023, 2024],
        S5: [2023, 2024],  # no activity at all, still rows
    }  # gb/2 entered after the as-of date
    for mart in MARTS[:3]:
        spine = q(gold, f"SELECT alumno_key, anio_academico FROM gold.{mart} ORDER BY ALL")
        assert spine == q(
            gold, "SELECT alumno_key, anio_academico FROM gold.mart_student_academic_summary ORDER BY ALL"
        )
        assert q(gold, f"SELECT count(*) FROM (SELECT DISTINCT alumno_key, anio_academico FROM gold.{mart})") == [
            (len(spine),)
        ]
    # the same alumno number in two sources is two students
    assert q(gold, "SELECT source_db FROM gold.mart_student_academic_summary WHERE alumno_key = ? LIMIT 1", [S2]) == [
        ("gb",)
    ]


def test_no_fan_out_sums_equal_the_facts(gold):
    def total(table: str, column: str) -> int:
        return q(gold, f"SELECT sum({column}) FROM gold.{table}")[0][0]

    assert total("mart_student_academic_summary", "total_evaluaciones") == 9  # 10 facts, one after the as-of date
    assert total("mart_student_engagement", "inscripciones_cursada") == 6
    assert total("mart_student_engagement", "examenes_inscriptos") == 2
    assert total("mart_student_engagement", "reinscripciones_anio") == 1
    assert total("mart_student_engagement", "eventos_moodle") == 12
    assert total("mart_cohort_analysis", "total_estudiantes") == 5
    assert total("mart_cohort_analysis", "total_aprobadas") == 6
    assert total("mart_cohort_analysis", "total_reprobadas") == 2


# --- academic summary --------------------------------------------------------------------------------------


def test_rates_are_weighted_by_attempts_and_so_far(gold):
    cols = (
        "total_evaluaciones, evaluaciones_con_resultado, materias_aprobadas, tasa_aprobacion, tasa_ausentismo, "
        "materias_aprobadas_acum, total_evaluaciones_acum, tasa_aprobacion_historica, promedio_historico, "
        "variacion_tasa_aprobacion, materias_aprobadas_distintas_acum"
    )
    r2021 = row(gold, "mart_student_academic_summary", cols, S1, 2021)
    assert r2021[:8] == (3, 3, 3, 1.0, 0.0, 3, 3, 1.0)
    assert r2021[8] == pytest.approx(7.0)
    r2022 = row(gold, "mart_student_academic_summary", cols, S1, 2022)
    assert r2022[:7] == (4, 4, 1, 0.25, 0.25, 4, 7)
    # 4 approved of 7 attempts with a result, not the mean of the yearly rates (0.625)
    assert r2022[7] == pytest.approx(4 / 7)
    # every numeric grade weighs the same: (8+6+7+6+2+3)/6, not the mean of the yearly means (5.83)
    assert r2022[8] == pytest.approx(32 / 6)
    assert r2022[9] == pytest.approx(-0.75)
    assert r2022[10] == 4  # e1, e2, e3 in 2021; e0 in 2022 (r4)
    # a year without results carries the totals on; the result after the as-of date is not there
    r2024 = row(gold, "mart_student_academic_summary", cols, S1, 2024)
    assert r2024[:3] == (0, 0, 0) and r2024[3] is None
    assert r2024[5:8] == (4, 7, pytest.approx(4 / 7))
    assert row(gold, "mart_student_academic_summary", "es_anio_egreso, anio_cerrado", S3, 2022) == (True, True)
    assert row(gold, "mart_student_academic_summary", "anio_cerrado", S1, 2024) == (False,)


# --- engagement --------------------------------------------------------------------------------------------


def test_a_year_with_only_a_reinscription_is_a_row(gold):
    cols = "reinscripciones_anio, promedio_asistencia, cursos_asistencia_guarani, actividad_academica, engagement_score"
    assert row(gold, "mart_student_engagement", cols, S1, 2023) == (1, None, 0, True, 25.0)
    # a year with nothing at all is a row too
    assert row(gold, "mart_student_engagement", cols, S5, 2023) == (0, None, 0, False, 25.0)  # entry year
    assert row(gold, "mart_student_engagement", cols, S5, 2024) == (0, None, 0, False, 0.0)


def test_engagement_counts_by_academic_year_and_so_far(gold):
    cols = (
        "examenes_inscriptos, inscripciones_cursada, materias_inscriptas, inscripciones_cursada_acum, "
        "materias_inscriptas_acum, reinscripciones_acum, eventos_moodle, dias_activos_moodle, eventos_moodle_acum, "
        "promedio_asistencia, engagement_score"
    )
    # the February 2022 exams belong to academic year 2021
    assert row(gold, "mart_student_engagement", cols, S1, 2021) == (2, 3, 3, 3, 3, 0, 0, 0, 0, 90.0, 97.5)
    # e3 again in 2022: five inscriptions so far, four distinct subjects; Moodle: two active days
    assert row(gold, "mart_student_engagement", cols, S1, 2022) == (0, 2, 2, 5, 4, 0, 12, 2, 12, 50.0, 37.5)
    assert row(gold, "mart_student_engagement", cols, S1, 2024) == (0, 0, 0, 5, 4, 1, 0, 0, 12, None, 0.0)


def test_attendance_works_with_moodle_only(gold):
    cols = "asistencia_guarani_pct, asistencia_moodle_pct, sesiones_moodle, promedio_asistencia"
    assert row(gold, "mart_student_engagement", cols, S2, 2021) == (None, 75.0, 4, 75.0)


# --- risk features -----------------------------------------------------------------------------------------


def test_census_and_age_are_as_of_the_year_end(gold):
    cols = "trabajo_hora_sem, riesgo_trabajo_excesivo, fecha_censo, edad_fin_anio"
    # the 2023 re-survey does not change 2022's row
    assert row(gold, "mart_student_risk_features", cols, S4, 2022) == (10, 0, D(2022, 4, 1), 20)
    assert row(gold, "mart_student_risk_features", cols, S4, 2023) == (40, 1, D(2023, 6, 1), 21)
    # ages at the end of February, and at the as-of date for the running year (birthday 10 June)
    assert row(gold, "mart_student_risk_features", "edad_fin_anio", S1, 2021) == (21,)
    assert row(gold, "mart_student_risk_features", "edad_fin_anio", S1, 2024) == (23,)
    assert row(gold, "mart_student_risk_features", "tiene_censo, edad_fin_anio", S5, 2023) == (False, None)


def test_heuristic_score_of_one_student(gold):
    cols = (
        "riesgo_academico, riesgo_asistencia, riesgo_no_reinscripcion, riesgo_trabajo_excesivo, "
        "total_cambios_estado, risk_score_heuristic"
    )
    assert row(gold, "mart_student_risk_features", cols, S1, 2021) == (0, 0, 0, 0, 1, 0)
    # 2 (rate 0.25) + 2 (attendance 50) + 3 (no reinscription) + 0 (20 h/week) + 2 (rate fell 0.75) + 1 (3 changes)
    assert row(gold, "mart_student_risk_features", cols, S1, 2022) == (1, 1, 1, 0, 3, 10)
    # status changes so far: the 2023 change counts from 2023 on
    assert row(gold, "mart_student_risk_features", "total_cambios_estado", S1, 2023) == (4,)


def test_abandono_anio_siguiente(gold):
    outcome = dict(
        q(
            gold,
            "SELECT alumno_key || ':' || anio_academico, abandono_anio_siguiente FROM gold.mart_student_risk_features",
        )
    )
    expected = {
        # activity in 2022, a reinscription in 2023, then censored (2024 is running)
        f"{S1}:2021": 0, f"{S1}:2022": 0, f"{S1}:2023": None, f"{S1}:2024": None,
        # nothing after 2021
        f"{S2}:2021": 1, f"{S2}:2022": 1, f"{S2}:2023": None, f"{S2}:2024": None,
        # graduated in 2022
        f"{S3}:2021": 0, f"{S3}:2022": 0,
        f"{S4}:2022": 0, f"{S4}:2023": None, f"{S4}:2024": None,
        f"{S5}:2023": None, f"{S5}:2024": None,
    }  # fmt: skip
    assert outcome == expected


# --- cohort analysis ---------------------------------------------------------------------------------------


def test_cohort_retention_and_approval(gold):
    rows = q(
        gold,
        "SELECT cohorte, source_db, propuesta_nombre, total_estudiantes, seguimiento_incompleto_1_anio, "
        "retenidos_1_anio, tasa_retencion_1_anio, seguimiento_incompleto_2_anios, retenidos_2_anios, "
        "tasa_retencion_2_anios, egresados, total_aprobadas, total_reprobadas, tasa_aprobacion_cohorte, "
        "promedio_notas_cohorte FROM gold.mart_cohort_analysis ORDER BY cohorte, source_db",
    )
    assert [r[:3] for r in rows] == [
        (2021, "ga", "Carrera 1"),
        (2021, "gb", "Carrera 2"),
        (2022, "ga", "Carrera 1"),
        (2023, "ga", "Carrera 1"),
    ]
    ga21, gb21, ga22, ga23 = rows
    # ga/1 active in 2022 and 2023; ga/2 graduated in 2022
    assert ga21[3:11] == (2, False, 2, 1.0, False, 2, 1.0, 1)
    # 5 approved, 2 failed (the absence does not count): 5/7, not the mean of the students' rates (0.83)
    assert ga21[11:14] == (5, 2, pytest.approx(5 / 7))
    assert ga21[14] == pytest.approx((8 + 6 + 7 + 6 + 2 + 3 + 10) / 7)
    assert gb21[3:11] == (1, False, 0, 0.0, False, 0, 0.0, 0)
    # cohort 2022: one year of follow-up is complete, two are not (2024 is running)
    assert ga22[3:11] == (1, False, 1, 1.0, True, None, None, 0)
    assert ga22[13] is None  # no results: no rate
    assert ga23[3:11] == (1, True, None, None, True, None, None, 0)


# --- privacy -----------------------------------------------------------------------------------------------

IDENTIFYING = re.compile(
    r"dni|documento|^nombres?$|apellido|fecha_nacimiento|persona|^alumno$|calle|numero|domicilio|email|disc_"
)


def test_marts_carry_no_direct_identifiers(gold):
    for mart in MARTS:
        columns = [c for (c,) in q(gold, f"SELECT column_name FROM (DESCRIBE gold.{mart})")]
        assert "alumno_key" in columns or mart == "mart_cohort_analysis"
        assert not [c for c in columns if IDENTIFYING.search(c)], mart
