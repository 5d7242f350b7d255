"""The dashboard's query layer on a hand-built warehouse, with every expected figure worked out by hand.

The real gold SQL runs on a hand-written silver (as in test_gold_marts.py). As-of date 2024-05-15:
academic years 2021-2023 are complete, 2024 is running, so the default year is 2023. The last closed
semester is 2023 cuatrimestre 2 (time_idx 47; 2021 c1 = 42).

One "active year" of a student = a course inscription that year (1 April) plus, after the entry year, a
reinscription (10 March), unless the table says "no reinscription".

  student  program    site         cohort  active years       other facts
  a1       Carrera A  Sede Central 2021    2021 2022 2023     graduates 2023-12-10
  a2       Carrera A  Sede Central 2021    2021 2022 2023     no reinscription 2023; exam R (2) 2023-06-20;
                                                              attendance 50 % in 2023 c1
  a3       Carrera A  Sede Central 2021    2021 2022 2023     attendance 55 % in 2023 c1
  a4       Carrera A  Sede Central 2021    2021 2022 2023     exams A (8) and A (6) in June 2023; attendance 90 %;
                                                              10 Moodle events 2023-04-05
  a5       Carrera A  Sede Central 2021    2021 2022 2023     exam absent 2023-06-20
  a6       Carrera A  Sede Central 2021    2021 2022 2023
  a7, a8   Carrera A  Sede Central 2021    2021 2022
  a9, a10  Carrera A  Sede Central 2021    2021
  b1       Carrera B  Sede Norte   2021    2021 2022 2023     no reinscription 2023; exam A (9) 2022-06-20
  b2       Carrera B  Sede Norte   2021    2021
  c1       Carrera A  Sede Norte   2022    2022 2023 2024     no reinscription 2023; exam R (3) 2023-06-20;
                                                              3 status changes (2022-05, 2022-09, 2023-05)
  c2       Carrera A  Sede Norte   2022    2022 2023 2024     exam R (no grade) 2023-06-20; attendance 50 %
  c3       Carrera A  Sede Norte   2022    2022 2023
  c4       Carrera A  Sede Norte   2022    2022
  d1       Carrera A  Sede Central 2023    2023 2024
  d2       Carrera A  Sede Central 2023    2023

Heuristic risk at 2023 (2 x approval < 0.5, 2 x attendance < 60, 3 x no reinscription after the entry
year, 1 x more than 2 status changes): a2 = 2 + 2 + 3 = 7, c1 = 2 + 3 + 1 = 6, c2 = 2 + 2 = 4, b1 = 3,
a3 = 2, a5 = 2 (one absent exam: approval 0), everyone else 0.
"""

from __future__ import annotations

import datetime as dt
import functools
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from silver_fixture import alumno_key, empty_silver, insert_silver

from dwh.dashboard import queries as q
from dwh.dashboard.queries import Filtros
from dwh.layers.runner import build_layer
from dwh.ops.runlog import DDL as RUN_LOG_DDL

D = dt.date
AS_OF = D(2024, 5, 15)
SOURCE = "ga"

# name: (alumno, program, site, cohort, active years, years without reinscription)
STUDENTS = {
    "a1": (1, "A", "Sede Central", 2021, (2021, 2022, 2023), ()),
    "a2": (2, "A", "Sede Central", 2021, (2021, 2022, 2023), (2023,)),
    "a3": (3, "A", "Sede Central", 2021, (2021, 2022, 2023), ()),
    "a4": (4, "A", "Sede Central", 2021, (2021, 2022, 2023), ()),
    "a5": (5, "A", "Sede Central", 2021, (2021, 2022, 2023), ()),
    "a6": (6, "A", "Sede Central", 2021, (2021, 2022, 2023), ()),
    "a7": (7, "A", "Sede Central", 2021, (2021, 2022), ()),
    "a8": (8, "A", "Sede Central", 2021, (2021, 2022), ()),
    "a9": (9, "A", "Sede Central", 2021, (2021,), ()),
    "a10": (10, "A", "Sede Central", 2021, (2021,), ()),
    "b1": (11, "B", "Sede Norte", 2021, (2021, 2022, 2023), (2023,)),
    "b2": (12, "B", "Sede Norte", 2021, (2021,), ()),
    "c1": (21, "A", "Sede Norte", 2022, (2022, 2023, 2024), (2023,)),
    "c2": (22, "A", "Sede Norte", 2022, (2022, 2023, 2024), ()),
    "c3": (23, "A", "Sede Norte", 2022, (2022, 2023), ()),
    "c4": (24, "A", "Sede Norte", 2022, (2022,), ()),
    "d1": (31, "A", "Sede Central", 2023, (2023, 2024), ()),
    "d2": (32, "A", "Sede Central", 2023, (2023,), ()),
}
A, B = "Carrera A", "Carrera B"


@functools.cache
def key(name: str) -> str:
    return alumno_key(SOURCE, STUDENTS[name][0])


def ts(y: int, m: int, d: int) -> dt.datetime:
    return dt.datetime(y, m, d, 12, 0, tzinfo=dt.timezone.utc)


def _result(n: int, name: str, day: dt.date, result: str, nota: float | None = None) -> dict:
    flags = {"A": (1, 0, 0), "R": (0, 1, 0), "U": (0, 0, 1)}[result]
    return {
        "source_db": SOURCE,
        "dwh_pk": f"r{n}",
        "alumno_key": key(name),
        "elemento_key": f"e{n}",
        "anio_academico": day.year if day.month >= 3 else day.year - 1,
        "cuatrimestre": 1 if 3 <= day.month <= 7 else 2,
        "fecha_evaluacion": day,
        "resultado": result,
        "nota_num": nota,
        "creditos": 5,
        "aprobado_flag": flags[0],
        "reprobado_flag": flags[1],
        "ausente_flag": flags[2],
    }


def _attendance(n: int, name: str, pct: int) -> dict:
    return {
        "source_db": SOURCE,
        "sistema": "guarani",
        "curso": n,
        "participante": STUDENTS[name][0],
        "alumno_key": key(name),
        "anio_academico": 2023,
        "cuatrimestre": 1,
        "fecha": D(2023, 6, 30),  # final on the last day of classes
        "sesiones": 20,
        "asistencias": pct // 5,
        "inasistencias": 20 - pct // 5,
        "porc_asistencia": float(pct),
    }


def build_silver(path: Path) -> None:
    empty_silver(path, AS_OF)
    students, courses, reinscriptions = [], [], []
    for name, (alumno, program, site, cohort, years, no_reinscription) in STUDENTS.items():
        students.append(
            {
                "alumno_key": key(name),
                "source_db": SOURCE,
                "alumno": alumno,
                "persona_key": f"{SOURCE}-p{alumno}",
                "propuesta_key": f"{SOURCE}-prop{program}",
                "propuesta_nombre": f"Carrera {program}",
                "facultad_key": f"{SOURCE}-fac",
                "facultad_nombre": "Facultad",
                "sede_nombre": site,
                "tipo_sede": "central",
                "fecha_ingreso": D(cohort, 2, 1),
                "anio_ingreso": cohort,
            }
        )
        for y in years:
            courses.append(
                {
                    "source_db": SOURCE,
                    "inscripcion": alumno * 10_000 + y,
                    "alumno_key": key(name),
                    "elemento_key": f"e{y}",
                    "anio_academico": y,
                    "cuatrimestre": 1,
                    "fecha_inscripcion": ts(y, 4, 1),
                    "es_baja": False,
                }
            )
            if y > cohort and y not in no_reinscription:
                reinscriptions.append(
                    {
                        "source_db": SOURCE,
                        "reinscripcion": alumno * 10_000 + y,
                        "alumno_key": key(name),
                        "anio_academico": y,
                        "fecha_reinscripcion": ts(y, 3, 10),
                    }
                )
    insert_silver(path, "dim_student", students)
    insert_silver(path, "fact_course_enrollment", courses)
    insert_silver(path, "fact_reinscription", reinscriptions)
    insert_silver(
        path,
        "fact_academic_performance",
        [
            _result(1, "a2", D(2023, 6, 20), "R", 2.0),
            _result(2, "a4", D(2023, 6, 20), "A", 8.0),
            _result(3, "a4", D(2023, 6, 21), "A", 6.0),
            _result(4, "a5", D(2023, 6, 20), "U"),
            _result(5, "b1", D(2022, 6, 20), "A", 9.0),
            _result(6, "c1", D(2023, 6, 20), "R", 3.0),
            _result(7, "c2", D(2023, 6, 20), "R"),
        ],
    )
    insert_silver(
        path,
        "fact_attendance",
        [_attendance(1, "a2", 50), _attendance(2, "a3", 55), _attendance(3, "a4", 90), _attendance(4, "c2", 50)],
    )
    insert_silver(
        path,
        "fact_lms_activity",
        [
            {"source_db": "moodle", "userid": 4, "courseid": 1, "dia": D(2023, 4, 5), "alumno_key": key("a4"),
             "anio_academico": 2023, "cuatrimestre": 1, "eventos": 10},
        ],
    )  # fmt: skip
    insert_silver(
        path,
        "fact_student_status_history",
        [
            {"source_db": SOURCE, "alumno": 21, "alumno_key": key("c1"), "fecha_cambio": ts(*day), "calidad": calidad,
             "nro_cambio": n}
            for n, (day, calidad) in enumerate([((2022, 5, 1), "A"), ((2022, 9, 1), "P"), ((2023, 5, 1), "A")])
        ],
    )  # fmt: skip
    insert_silver(
        path,
        "fact_dropout",
        [
            {"source_db": SOURCE, "evento_id": "egreso:1", "alumno_key": key("a1"), "alumno": 1,
             "tipo_evento": "egreso", "fecha_evento": D(2023, 12, 10), "anio_academico": 2023, "cuatrimestre": 2},
        ],
    )  # fmt: skip


RUNS = [
    # run_id, started_at, step, status, seconds, error
    ("r1", dt.datetime(2024, 5, 14, 5, 30, tzinfo=dt.timezone.utc), "run", "failed", 12.5, "silver: boom"),
    ("r2", dt.datetime(2024, 5, 15, 5, 30, tzinfo=dt.timezone.utc), "gold", "ok", 30.0, None),
    ("r2", dt.datetime(2024, 5, 15, 5, 30, tzinfo=dt.timezone.utc), "run", "ok", 95.0, None),
]


def build_warehouse(path: Path) -> Path:
    build_silver(path)
    build_layer(path, "gold", AS_OF)
    with duckdb.connect(str(path)) as con:
        con.execute(RUN_LOG_DDL)
        con.executemany(
            "INSERT INTO dwh_meta.run_log (run_id, started_at, step, status, seconds, error) VALUES (?, ?, ?, ?, ?, ?)",
            RUNS,
        )
        # freshness reads bronze: one course inscription per Guaraní source
        con.execute(
            "INSERT INTO bronze.course_inscriptions (source_db, inscripcion_id, fecha_inscripcion) VALUES "
            "('ga', 1, TIMESTAMPTZ '2024-04-01 12:00:00+00'), ('gb', 2, TIMESTAMPTZ '2023-11-02 12:00:00+00')"
        )
        # an older gold build's failed test: not the latest results, so not shown
        con.execute(
            "INSERT INTO dwh_meta.data_test_results VALUES ('old', 'gold', 'gold.mart_cohort_analysis', "
            "'unique(cohorte)', 'error', 'fail', 3, '', TIMESTAMPTZ '2000-01-01 00:00:00+00')"
        )
    return path


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_warehouse(tmp_path_factory.mktemp("dashboard") / "warehouse.duckdb")


@pytest.fixture()
def con(warehouse: Path):
    with q.conectar(warehouse) as connection:
        yield connection


def copy_of(warehouse: Path, tmp_path: Path, *statements: str) -> Path:
    """A copy of the fixture warehouse with some statements applied (the fixture itself stays as built)."""
    path = tmp_path / "copy.duckdb"
    shutil.copy(warehouse, path)
    with duckdb.connect(str(path)) as connection:
        for statement in statements:
            connection.execute(statement)
    return path


def names(keys) -> list[str]:
    by_key = {key(n): n for n in STUDENTS}
    return [by_key[k] for k in keys]


def approx(value: float) -> object:
    return pytest.approx(value, abs=1e-12)


# --- options -----------------------------------------------------------------------------------------------


def test_options_and_the_default_year_is_the_latest_complete_one(con):
    assert q.opciones(con) == {
        "cohortes": [2021, 2022, 2023],
        "propuestas": [A, B],
        "sedes": ["Sede Central", "Sede Norte"],
        "anios": [2021, 2022, 2023, 2024],
        "anio_defecto": 2023,  # 2024 is running at 2024-05-15: MAX(year) would be the partial year
        "anio_en_curso": 2024,
        "as_of": AS_OF,
    }


def test_filters_accept_lists_and_are_hashable():
    f = Filtros(cohortes=["2021"], propuestas=[A], sedes=None, anio="2022")
    assert f == Filtros(cohortes=(2021,), propuestas=(A,), sedes=(), anio=2022)
    assert hash(f) == hash(Filtros(cohortes=(2021,), propuestas=(A,), anio=2022))


def test_without_a_build_record_the_marts_say_which_years_are_complete(warehouse, tmp_path):
    path = copy_of(warehouse, tmp_path, "DROP SCHEMA dwh_meta CASCADE")
    with q.conectar(path) as connection:
        o = q.opciones(connection)
        assert (o["as_of"], o["anio_defecto"], o["anio_en_curso"]) == (None, 2023, 2024)
        assert q.resumen(connection, Filtros())["estudiantes_activos"] == 12
        assert set(q.estado_datos(connection)["ejecuciones"].columns) == set(q.COLUMNAS_EJECUCIONES)


# --- header KPIs -------------------------------------------------------------------------------------------


def test_summary_at_the_default_year(con):
    r = q.resumen(con, Filtros())
    assert r["anio"] == 2023 and r["as_of"] == AS_OF
    # active in 2023: a1..a6, b1, c1..c3, d1, d2
    assert r["estudiantes_activos"] == 12
    # 1 year: cohort 2021 keeps 9 of 12 (A 8/10, B 1/2), cohort 2022 keeps 3 of 4; 2023 is incomplete
    assert (r["retencion_1_anio"], r["n_retencion_1_anio"], r["retenidos_1_anio"]) == (approx(12 / 16), 16, 12)
    # 2 years: only cohort 2021 is complete: a1..a6 and b1
    assert (r["retencion_2_anios"], r["n_retencion_2_anios"]) == (approx(7 / 12), 12)
    assert r["estudiantes_cohortes"] == 18
    # 2024 is not over: the dropout of 2023's students is not known yet (not 0 %)
    assert r["tasa_abandono"] is None
    # heuristic at 2023: alto a2 (7), c1 (6); medio c2 (4), b1 (3)
    assert (r["estudiantes_en_riesgo"], r["estudiantes_riesgo_medio"], r["fuente_riesgo"]) == (2, 2, "heurística")


def test_summary_retention_is_weighted_not_a_mean_of_the_programs_rates(con):
    r = q.resumen(con, Filtros())
    program_rates = q.comparacion(con, Filtros(), "propuesta")["tasa_retencion_1_anio"]
    # A: 11/14, B: 1/2. Their mean is 0.643; the students' rate is 12/16 = 0.75
    assert list(program_rates) == [approx(11 / 14), approx(1 / 2)]
    assert program_rates.mean() == approx((11 / 14 + 1 / 2) / 2)
    assert r["retencion_1_anio"] == approx(0.75) != approx(program_rates.mean())


def test_summary_year_filter(con):
    r = q.resumen(con, Filtros(anio=2022))
    # active in 2022: a1..a8, b1, c1..c4; gone in 2023 (no activity, not graduated): a7, a8, c4
    assert (r["anio"], r["estudiantes_activos"], r["tasa_abandono"], r["n_abandono"]) == (2022, 13, approx(3 / 13), 13)
    assert r["estudiantes_en_riesgo"] == 0  # every 2022 score is 0: all reinscribed, no failed exam
    r = q.resumen(con, Filtros(anio=2021))
    # active in 2021: the 12 students of cohort 2021; gone in 2022: a9, a10, b2
    assert (r["estudiantes_activos"], r["tasa_abandono"], r["abandonos"]) == (12, approx(0.25), 3)
    # retention is per cohort and does not depend on the year
    assert r["retencion_1_anio"] == approx(0.75)


def test_summary_filters_change_every_figure(con):
    r = q.resumen(con, Filtros(propuestas=(A,)))
    # A: active 2023 a1..a6, c1..c3, d1, d2; 1 year (8 + 3) / (10 + 4); 2 years 6 / 10; alto a2, c1
    assert r["estudiantes_activos"] == 11
    assert (r["retencion_1_anio"], r["n_retencion_1_anio"]) == (approx(11 / 14), 14)
    assert (r["retencion_2_anios"], r["n_retencion_2_anios"]) == (approx(6 / 10), 10)
    assert (r["estudiantes_en_riesgo"], r["estudiantes_riesgo_medio"]) == (2, 1)
    r = q.resumen(con, Filtros(sedes=("Sede Norte",)))
    # Norte: b1, b2 (2021, B) and c1..c4 (2022, A); active 2023: b1, c1, c2, c3
    assert r["estudiantes_activos"] == 4
    assert (r["retencion_1_anio"], r["n_retencion_1_anio"]) == (approx(4 / 6), 6)
    assert (r["retencion_2_anios"], r["n_retencion_2_anios"]) == (approx(1 / 2), 2)
    assert (r["estudiantes_en_riesgo"], r["estudiantes_riesgo_medio"]) == (1, 2)
    r = q.resumen(con, Filtros(cohortes=(2022,), anio=2022))
    assert (r["estudiantes_activos"], r["tasa_abandono"]) == (4, approx(1 / 4))  # c4 gone in 2023
    assert (r["retencion_1_anio"], r["retencion_2_anios"], r["n_retencion_2_anios"]) == (approx(3 / 4), None, 0)


# --- retention per cohort ----------------------------------------------------------------------------------


def test_retention_per_cohort(con):
    df = q.retencion_por_cohorte(con, Filtros())
    assert tuple(df.columns) == q.COLUMNAS_RETENCION
    assert list(df["cohorte"]) == [2021, 2022, 2023]
    assert list(df["estudiantes"]) == [12, 4, 2]
    # 2021 sums two programs: 9/12 = 0.75, not the mean of A's 0.8 and B's 0.5 (0.65)
    assert df.loc[0, ["retenidos_1_anio", "tasa_retencion_1_anio", "retenidos_2_anios"]].tolist() == [9, 0.75, 7]
    assert df.loc[0, "tasa_retencion_2_anios"] == approx(7 / 12)
    assert (df.loc[1, "retenidos_1_anio"], df.loc[1, "tasa_retencion_1_anio"]) == (3, 0.75)
    # incomplete follow-up: no rate (not 0 %), flagged
    assert df["retenidos_2_anios"].isna().tolist() == [False, True, True]
    assert df["tasa_retencion_1_anio"].isna().tolist() == [False, False, True]
    assert df["seguimiento_incompleto_1_anio"].tolist() == [False, False, True]
    assert df["seguimiento_incompleto_2_anios"].tolist() == [False, True, True]
    assert df["egresados"].tolist() == [1, 0, 0]  # a1
    # small cohorts are kept and marked
    assert df["grupo_pequeno"].tolist() == [False, True, True]
    assert q.FILTROS_APLICADOS["retencion_por_cohorte"] == ("cohortes", "propuestas", "sedes")


def test_retention_curves(con):
    df = q.curvas_retencion(con, Filtros())
    assert tuple(df.columns) == q.COLUMNAS_CURVAS
    assert df[["cohorte", "semestres_desde_ingreso"]].duplicated().sum() == 0  # one point per cohort and semester
    c2021 = df[df["cohorte"] == 2021].set_index("semestres_desde_ingreso")
    # the 12 entrants of 2021 (semester 42) are followed to the source's last semester, 47: k = 0..5
    assert list(c2021.index) == [0, 1, 2, 3, 4, 5] and set(c2021["estudiantes"]) == {12}
    # active in 44 (k = 2): all but 3 (1e78.., 3c91.., aab6..); in 46 (k = 4): 7 = the 1-year and 2-year
    # retention of the cohort bars (the fixture's activity is all in the first cuatrimestre)
    assert c2021.loc[[0, 1, 2, 4], "activos"].tolist() == [12, 0, 9, 7]
    assert c2021.loc[2, "tasa_activos"] == approx(0.75) and c2021.loc[4, "tasa_activos"] == approx(7 / 12)
    assert c2021["completo"].all()
    # summing the mart over programs and sites: the Norte site alone is 2 of 2021's 12 and all of 2022's 4
    norte = q.curvas_retencion(con, Filtros(sedes=("Sede Norte",)))
    assert norte.groupby("cohorte")["estudiantes"].max().to_dict() == {2021: 2, 2022: 4}
    assert q.FILTROS_APLICADOS["curvas_retencion"] == ("cohortes", "propuestas", "sedes")


def test_retention_per_cohort_filters(con):
    df = q.retencion_por_cohorte(con, Filtros(sedes=("Sede Norte",)))
    # Norte 2021 = b1, b2 (b1 retained at 1 and 2 years); 2022 = c1..c4 (c1..c3 retained)
    assert df[["cohorte", "estudiantes", "retenidos_1_anio", "retenidos_2_anios"]].astype(object).values.tolist() == [
        [2021, 2, 1, 1],
        [2022, 4, 3, pd.NA],
    ]
    assert df["tasa_retencion_1_anio"].tolist() == [0.5, 0.75]
    assert q.retencion_por_cohorte(con, Filtros(cohortes=(2021,), propuestas=(B,)))["estudiantes"].tolist() == [2]
    # the year filter does not apply
    pd.testing.assert_frame_equal(
        q.retencion_por_cohorte(con, Filtros(anio=2021)), q.retencion_por_cohorte(con, Filtros())
    )


# --- comparison by program and site ------------------------------------------------------------------------


def test_comparison_by_program_keeps_and_marks_small_programs(con):
    df = q.comparacion(con, Filtros(), "propuesta")
    assert tuple(df.columns) == q.COLUMNAS_COMPARACION
    assert df["grupo"].tolist() == [A, B]
    assert df["estudiantes"].tolist() == [16, 2]
    # A: (8 + 3) / (10 + 4) over its complete cohorts (2023's two students wait); B: 1/2
    assert df["tasa_retencion_1_anio"].tolist() == [approx(11 / 14), 0.5]
    assert df["n_retencion"].tolist() == [14, 2]
    # approval by attempts: A approved a4 x2, failed a2, c1, c2 -> 2/5; the absence (a5) does not count
    assert df["tasa_aprobacion"].tolist() == [approx(2 / 5), 1.0]
    assert (df["aprobadas"].tolist(), df["reprobadas"].tolist()) == ([2, 1], [3, 0])
    assert df["grupo_pequeno"].tolist() == [False, True]  # B (2 students) is shown, flagged


def test_comparison_by_site_and_filters(con):
    df = q.comparacion(con, Filtros(), "sede")
    assert df["grupo"].tolist() == ["Sede Central", "Sede Norte"]
    assert df["estudiantes"].tolist() == [12, 6]
    # Central: A 2021 8/10 (2023 incomplete); Norte: B 2021 1/2 + A 2022 3/4 = 4/6
    assert df["tasa_retencion_1_anio"].tolist() == [0.8, approx(4 / 6)]
    assert df["n_retencion"].tolist() == [10, 6]
    # Central: a4 2 approved, a2 1 failed; Norte: b1 approved, c1 and c2 failed
    assert df["tasa_aprobacion"].tolist() == [approx(2 / 3), approx(1 / 3)]
    assert df["grupo_pequeno"].tolist() == [False, True]
    # cohort 2021 only: A is 10 students (2/3 approval: a4's two, a2's failure), B 2
    df = q.comparacion(con, Filtros(cohortes=(2021,)), "propuesta")
    assert df[["grupo", "estudiantes", "n_retencion"]].values.tolist() == [[A, 10, 10], [B, 2, 2]]
    assert df["tasa_retencion_1_anio"].tolist() == [0.8, 0.5]
    assert df["tasa_aprobacion"].tolist() == [approx(2 / 3), 1.0]
    assert df["grupo_pequeno"].tolist() == [False, True]  # 10 students is not small (< 10 is)
    # a group with no complete cohort has no rate (NaN), not 0 %
    df = q.comparacion(con, Filtros(cohortes=(2023,)), "propuesta")
    assert df["grupo"].tolist() == [A] and df["n_retencion"].tolist() == [0]
    assert df["tasa_retencion_1_anio"].isna().all() and df["tasa_aprobacion"].isna().all()
    with pytest.raises(ValueError):
        q.comparacion(con, Filtros(), "facultad")  # type: ignore[arg-type]


# --- risk --------------------------------------------------------------------------------------------------


def test_heuristic_risk_list(con):
    df, fuente = q.riesgo(con, Filtros())
    assert fuente == "heurística"
    assert tuple(df.columns) == q.COLUMNAS_RIESGO
    # active in 2023 and not graduated in it: a1 (graduated) and the inactive a7..a10, b2, c4 are out,
    # although the inactive ones score 3 (no reinscription)
    assert len(df) == 11
    assert names(df["alumno_key"][:6]) == ["a2", "c1", "c2", "b1"] + sorted(["a3", "a5"], key=key)  # ties by alumno_key
    assert df["puntaje"].tolist()[:6] == [7.0, 6.0, 4.0, 3.0, 2.0, 2.0]
    assert df["nivel"].tolist()[:6] == ["alto", "alto", "medio", "medio", "bajo", "bajo"]
    assert set(df["nivel"][6:]) == {"bajo"} and set(df["puntaje"][6:]) == {0.0}
    assert df.loc[0, ["cohorte", "propuesta", "sede", "anio_academico"]].tolist() == [2021, A, "Sede Central", 2023]
    assert df["time_idx"].isna().all()
    assert "a1" not in names(df["alumno_key"]) and "a7" not in names(df["alumno_key"])
    # limit
    top, _ = q.riesgo(con, Filtros(), limite=3)
    assert names(top["alumno_key"]) == ["a2", "c1", "c2"]


def test_heuristic_risk_filters_and_year(con):
    df, _ = q.riesgo(con, Filtros(sedes=("Sede Norte",)))
    assert names(df["alumno_key"]) == ["c1", "c2", "b1", "c3"]
    df, _ = q.riesgo(con, Filtros(cohortes=(2021,), propuestas=(B,)))
    assert names(df["alumno_key"]) == ["b1"]
    # 2022: 13 active students, every score 0
    df, _ = q.riesgo(con, Filtros(anio=2022))
    assert len(df) == 13 and set(df["nivel"]) == {"bajo"} and set(df["anio_academico"]) == {2022}


def test_risk_distribution(con):
    df = q.distribucion_riesgo(con, Filtros())
    assert tuple(df.columns) == q.COLUMNAS_DISTRIBUCION
    assert df.values.tolist() == [["alto", 2, "heurística"], ["medio", 2, "heurística"], ["bajo", 7, "heurística"]]
    # every level is present, also with zero students
    assert q.distribucion_riesgo(con, Filtros(anio=2022))["estudiantes"].tolist() == [0, 0, 13]
    assert q.distribucion_riesgo(con, Filtros(sedes=("Sede Norte",)))["estudiantes"].tolist() == [1, 2, 1]


PREDICTIONS = [
    # alumno, time_idx, probabilidad, run, scored_at
    ("a2", 47, 0.10, "m1", "2024-05-01 10:00:00"),
    ("a2", 47, 0.90, "m2", "2024-05-10 10:00:00"),  # the latest for a2
    ("d2", 47, 0.50, "m2", "2024-05-10 10:00:00"),  # alto at the threshold
    ("c3", 47, 0.30, "m2", "2024-05-10 10:00:00"),
    ("b1", 47, 0.20, "m2", "2024-05-10 10:00:00"),  # medio at the threshold
    ("d1", 47, 0.19, "m2", "2024-05-10 10:00:00"),
    ("a7", 45, 0.95, "m1", "2024-05-01 10:00:00"),  # gone (away two semesters): not in the risk set now
]


def with_predictions(warehouse: Path, tmp_path: Path, rows: list[tuple]) -> Path:
    path = copy_of(
        warehouse,
        tmp_path,
        # gold created ml.predicciones empty (for gold.riesgo_actual): an older predict's table replaces it
        "CREATE SCHEMA IF NOT EXISTS ml",
        "CREATE OR REPLACE TABLE ml.predicciones (alumno_key VARCHAR, time_idx INTEGER, probabilidad DOUBLE, "
        "modelo_run_id VARCHAR, scored_at TIMESTAMPTZ)",
    )
    with duckdb.connect(str(path)) as connection:
        for row in rows:
            n, t, p, run, at = row
            connection.execute(
                "INSERT INTO ml.predicciones VALUES (?, ?, ?, ?, CAST(? AS TIMESTAMPTZ))",
                [key(n), t, p, run, f"{at}+00"],
            )
    return path


def test_model_predictions_replace_the_heuristic(warehouse, tmp_path):
    with q.conectar(with_predictions(warehouse, tmp_path, PREDICTIONS)) as connection:
        df, fuente = q.riesgo(connection, Filtros())
        assert fuente == "modelo"
        assert names(df["alumno_key"]) == ["a2", "d2", "c3", "b1", "d1"]
        assert df["puntaje"].tolist() == [0.9, 0.5, 0.3, 0.2, 0.19]
        assert df["nivel"].tolist() == ["alto", "alto", "medio", "medio", "bajo"]
        assert df.loc[1, ["cohorte", "propuesta", "sede", "anio_academico", "time_idx"]].tolist() == [
            2023,
            A,
            "Sede Central",
            2023,
            47,
        ]
        assert q.distribucion_riesgo(connection, Filtros()).values.tolist() == [
            ["alto", 2, "modelo"],
            ["medio", 2, "modelo"],
            ["bajo", 1, "modelo"],
        ]
        # cohort, program and site filters apply; the year does not (the model scores "now")
        df, _ = q.riesgo(connection, Filtros(sedes=("Sede Norte",)))
        assert names(df["alumno_key"]) == ["c3", "b1"]
        df, _ = q.riesgo(connection, Filtros(anio=2021))
        assert len(df) == 5
        r = q.resumen(connection, Filtros(propuestas=(A,)))
        assert (r["fuente_riesgo"], r["estudiantes_en_riesgo"], r["estudiantes_riesgo_medio"]) == ("modelo", 2, 1)


def test_the_models_reasons_and_card_reach_the_risk_list(warehouse, tmp_path):
    """A table written by an older `predict` (modelo_run_id, no reasons) is migrated in place by the current
    one; the list then shows the latest prediction's three reasons, signed, and the card of its run."""
    from dwh.ml.predict import _ensure_table

    path = with_predictions(warehouse, tmp_path, PREDICTIONS[:2])
    with duckdb.connect(str(path)) as connection:
        _ensure_table(connection)
        columns = [r[0] for r in connection.execute("DESCRIBE ml.predicciones").fetchall()]
        assert "modelo_run_id" not in columns and {"run_id", "horizonte", "razon_1", "peso_3"} <= set(columns)
        # the rows written before the migration are still there, with their run
        assert connection.execute("SELECT run_id, probabilidad FROM ml.predicciones ORDER BY 2").fetchall() == [
            ("m1", 0.1),
            ("m2", 0.9),
        ]
        connection.execute(
            "INSERT INTO ml.predicciones (alumno_key, time_idx, probabilidad, modelo, run_id, scored_at, horizonte, "
            "razon_1, peso_1, razon_2, peso_2, razon_3, peso_3) VALUES "
            "(?, 47, 0.7, 'arbol', 'm3', TIMESTAMPTZ '2024-06-01 10:00:00+00', 2, "
            "'Asistencia registrada en Guaraní (%)', 0.523, 'Ya se inscribió a cursadas del cuatrimestre siguiente', "
            "-0.31, 'Materias aprobadas en toda la carrera', 0.004)",
            [key("a2")],
        )
        connection.execute("INSERT INTO ml.fichas_modelo VALUES ('m2', 'arbol', '# m2', now())")
        connection.execute("INSERT INTO ml.fichas_modelo VALUES ('m3', 'arbol', '# Ficha m3', now())")
    with q.conectar(path) as connection:
        df, fuente = q.riesgo(connection, Filtros())
        assert fuente == "modelo" and tuple(df.columns) == q.COLUMNAS_RIESGO
        assert df.loc[0, "razones"] == (
            "Asistencia registrada en Guaraní (%) (+0.52); Ya se inscribió a cursadas del cuatrimestre siguiente "
            "(−0.31); Materias aprobadas en toda la carrera (+0.00)"
        )
        assert df.loc[0, "puntaje"] == 0.7
        # the card of the run the list comes from (the latest predictions'), not of an older run
        assert q.ficha_modelo(connection) == ("m3", "# Ficha m3")
    (tmp_path / "old").mkdir()
    with q.conectar(with_predictions(warehouse, tmp_path / "old", PREDICTIONS)) as connection:
        df, _ = q.riesgo(connection, Filtros())
        assert df["razones"].isna().all()
        assert q.ficha_modelo(connection) is None


def test_an_empty_predictions_table_falls_back_to_the_heuristic(warehouse, tmp_path):
    with q.conectar(with_predictions(warehouse, tmp_path, [])) as connection:
        df, fuente = q.riesgo(connection, Filtros())
        assert fuente == "heurística" and len(df) == 11


# --- performance per semester ------------------------------------------------------------------------------


def test_performance_per_semester(con):
    df = q.rendimiento_por_semestre(con, Filtros())
    assert tuple(df.columns) == q.COLUMNAS_RENDIMIENTO
    # closed semesters 2021 c1 (42) .. 2023 c2 (47)
    assert df["time_idx"].tolist() == [42, 43, 44, 45, 46, 47]
    assert df[["anio_academico", "cuatrimestre"]].values.tolist()[4] == [2023, "1"]
    # every entered, not yet graduated student is on the spine: 12, 12, 16, 16, 18, 18 (a1 graduates in 47)
    assert df["estudiantes"].tolist() == [12, 12, 16, 16, 18, 18]
    assert df["estudiantes_activos"].tolist() == [12, 0, 13, 0, 12, 0]
    s = df.set_index("time_idx").loc[46]
    # 2023 c1 results: approved a4 x2, failed a2, c1, c2, absent a5
    assert s["examenes_con_resultado"] == 6
    assert (s["tasa_aprobacion"], s["tasa_ausentismo"]) == (approx(2 / 6), approx(1 / 6))
    # students' semester averages a4 7, a2 2, c1 3 -> 4.0 (each student weighs the same; per grade: 4.75)
    assert (s["promedio_notas"], s["estudiantes_con_notas"]) == (approx(4.0), 3)
    # attendance of a2 50, a3 55, a4 90, c2 50
    assert (s["asistencia_promedio"], s["estudiantes_con_asistencia"]) == (approx(61.25), 4)
    assert s["moodle_eventos_por_estudiante"] == approx(10 / 18)
    # a semester without results has no rate (NaN), not 0 %
    assert pd.isna(df.loc[0, "tasa_aprobacion"]) and pd.isna(df.loc[0, "promedio_notas"])
    assert df.loc[2, ["tasa_aprobacion", "promedio_notas"]].tolist() == [1.0, 9.0]  # b1's exam in 2022 c1


def test_performance_per_semester_filters(con):
    df = q.rendimiento_por_semestre(con, Filtros(sedes=("Sede Norte",)))
    s = df.set_index("time_idx").loc[46]
    # Norte in 2023 c1: b1, b2, c1..c4; results: c1 and c2 failed; c1's grade 3; c2's attendance 50
    assert (s["estudiantes"], s["examenes_con_resultado"], s["tasa_aprobacion"]) == (6, 2, 0.0)
    assert (s["promedio_notas"], s["asistencia_promedio"], s["moodle_eventos_por_estudiante"]) == (3.0, 50.0, 0.0)
    df = q.rendimiento_por_semestre(con, Filtros(cohortes=(2023,)))
    assert df["time_idx"].tolist() == [46, 47] and df["estudiantes"].tolist() == [2, 2]


# --- data status -------------------------------------------------------------------------------------------


def test_data_status(con):
    e = q.estado_datos(con, hoy=D(2024, 5, 15))
    runs = e["ejecuciones"]
    assert tuple(runs.columns) == q.COLUMNAS_EJECUCIONES
    assert runs[["run_id", "status", "seconds", "error"]].values.tolist() == [
        ["r2", "ok", 95.0, None],
        ["r1", "failed", 12.5, "silver: boom"],
    ]  # newest first, only the 'run' step
    assert e["frescura"].values.tolist() == [["ga", D(2024, 4, 1), 44], ["gb", D(2023, 11, 2), 195]]
    tests = e["pruebas"]
    assert tuple(tests.columns) == q.COLUMNAS_PRUEBAS
    assert set(tests["layer"]) == {"silver", "gold"}
    assert set(tests["status"]) == {"pass"}  # the old failed build's row is not the latest
    assert "gold.mart_cohort_analysis" in set(tests["table_name"])
    assert e["capas"][["layer", "status"]].values.tolist() == [["gold", "ok"], ["silver", "ok"]]


# --- empty results, missing tables, missing file -----------------------------------------------------------


def _check_empty(connection, f: Filtros) -> dict:
    assert q.retencion_por_cohorte(connection, f).empty
    assert tuple(q.retencion_por_cohorte(connection, f).columns) == q.COLUMNAS_RETENCION
    for por in ("propuesta", "sede"):
        df = q.comparacion(connection, f, por)
        assert df.empty and tuple(df.columns) == q.COLUMNAS_COMPARACION
    df, fuente = q.riesgo(connection, f)
    assert df.empty and tuple(df.columns) == q.COLUMNAS_RIESGO and fuente == "heurística"
    assert q.distribucion_riesgo(connection, f)["estudiantes"].tolist() == [0, 0, 0]
    df = q.rendimiento_por_semestre(connection, f)
    assert df.empty and tuple(df.columns) == q.COLUMNAS_RENDIMIENTO
    r = q.resumen(connection, f)
    assert r["retencion_1_anio"] is None and r["retencion_2_anios"] is None and r["tasa_abandono"] is None
    return r


def test_a_filter_that_matches_nothing_gives_empty_frames(con):
    r = _check_empty(con, Filtros(propuestas=("No existe",)))
    assert (r["estudiantes_activos"], r["n_retencion_1_anio"], r["estudiantes_en_riesgo"]) == (0, 0, 0)
    _check_empty(con, Filtros(anio=1990, cohortes=(1990,)))
    # values are bound, never pasted into the SQL
    _check_empty(con, Filtros(sedes=("x' OR '1'='1",)))


def test_an_empty_warehouse_gives_empty_frames_and_none(tmp_path):
    path = tmp_path / "empty.duckdb"
    duckdb.connect(str(path)).close()
    with q.conectar(path) as connection:
        o = q.opciones(connection)
        assert o == {
            "cohortes": [],
            "propuestas": [],
            "sedes": [],
            "anios": [],
            "anio_defecto": None,
            "anio_en_curso": None,
            "as_of": None,
        }
        r = _check_empty(connection, Filtros())
        assert r["estudiantes_activos"] is None and r["estudiantes_en_riesgo"] is None
        e = q.estado_datos(connection)
        for name, columns in [
            ("ejecuciones", q.COLUMNAS_EJECUCIONES),
            ("frescura", q.COLUMNAS_FRESCURA),
            ("pruebas", q.COLUMNAS_PRUEBAS),
            ("capas", q.COLUMNAS_CAPAS),
        ]:
            assert e[name].empty and tuple(e[name].columns) == columns


def test_a_missing_table_gives_an_empty_frame(warehouse, tmp_path):
    path = copy_of(
        warehouse,
        tmp_path,
        "DROP TABLE gold.mart_cohort_analysis",
        "DROP TABLE dwh_meta.run_log",
        "DROP TABLE gold.gold_tft_inference_frame",
        "DROP TABLE gold.gold_tft_training_dataset",
        "DROP TABLE gold.gold_tft_temporal_features",
    )
    with q.conectar(path) as connection:
        assert q.retencion_por_cohorte(connection, Filtros()).empty
        assert q.comparacion(connection, Filtros(), "sede").empty
        assert q.rendimiento_por_semestre(connection, Filtros()).empty
        assert q.estado_datos(connection)["ejecuciones"].empty
        r = q.resumen(connection, Filtros())
        assert (r["retencion_1_anio"], r["n_retencion_1_anio"], r["estudiantes_activos"]) == (None, 0, 12)
        assert q.opciones(connection)["cohortes"] == []
        assert len(q.riesgo(connection, Filtros())[0]) == 11  # the risk mart is still there


def test_a_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="dwh.main"):
        q.conectar(tmp_path / "nothing.duckdb")
    assert not (tmp_path / "nothing.duckdb").exists()


def test_formatting_never_raises_on_missing_values():
    for missing in (None, float("nan"), pd.NA, pd.NaT):
        assert q.formato_porcentaje(missing) == "—" and q.formato_numero(missing) == "—"
    assert q.formato_porcentaje(0.7534) == "75.3 %"
    assert q.formato_numero(1234567) == "1.234.567" and q.formato_numero(1234.56, 1) == "1.234,6"


def test_model_predictions_without_the_tft_tables(warehouse, tmp_path):
    path = with_predictions(warehouse, tmp_path, PREDICTIONS)
    with duckdb.connect(str(path)) as connection:
        for name, kind in connection.execute(
            "SELECT table_name, CASE table_type WHEN 'VIEW' THEN 'VIEW' ELSE 'TABLE' END "
            "FROM information_schema.tables WHERE table_schema = 'gold' AND table_name LIKE 'gold_tft_%' "
            "ORDER BY table_type = 'VIEW' DESC"
        ).fetchall():
            connection.execute(f"DROP {kind} gold.{name} CASCADE")
    with q.conectar(path) as connection:
        df, fuente = q.riesgo(connection, Filtros())
        # no risk set to restrict to: every student's latest prediction, a7 included, without attributes
        assert fuente == "modelo"
        assert names(df["alumno_key"]) == ["a7", "a2", "d2", "c3", "b1", "d1"]
        assert df["cohorte"].isna().all() and set(df["propuesta"]) == {q.SIN_DATO}
        assert df["anio_academico"].isna().all()
