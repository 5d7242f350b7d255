"""The TFT feature store (gold 10-17) on hand-built students: point-in-time features, labels, risk set, shape.

Every expected value is worked out by hand from dwh/docs/GOLD_RULES.md ("The TFT feature store") with
N = 2 and the default calendar: time_idx = (year - 2000) * 2 + cuatrimestre - 1; a semester's features
are frozen on its as-of date (31 July / 31 December) and labels about it are decided on its closing date
(31 August / 31 March). Most cases share one hand-written silver (`_silver`, one student per case); the
Moodle relink and the missing graduates table build silver from a hand-written bronze.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from bronze_fixture import empty_bronze, insert
from silver_fixture import SALT, alumno_key, empty_silver, insert_silver

from dwh.layers.runner import SEEDS_ROOT, LabelsNotBuilt, build_layer
from dwh.layers.sql_files import layer_files
from dwh.pipelines import gold_aggregates
from dwh.pipelines.silver_transform import bronze_placeholders

D = dt.date
AS_OF = D(2025, 3, 15)
# Semesters (time_idx: as-of date, closing date): 44 = 2022 c1 (2022-07-31, 2022-08-31), 45 = 2022 c2
# (2022-12-31, 2023-03-31), 46 = 2023 c1 (2023-07-31, 2023-08-31), 47 = 2023 c2 (2023-12-31, 2024-03-31),
# 48 = 2024 c1 (2024-07-31, 2024-08-31), 49 = 2024 c2 (2024-12-31, 2025-03-31). As of 2025-03-15 the last
# closed semester is 49 and a row t is labelled when the closing date of t + 2 has passed: t <= 46.
LAST_CLOSED = 49
# the feature store's files (10-17) and what reads only them; not the dashboard's risk view (it reads the marts)
TFT_FILES = [f for f in layer_files("gold") if f.name[:2] >= "10" and f.target != "gold.riesgo_actual"]
TFT_TABLES = (
    "gold_tft_known_future",
    "gold_tft_static_features",
    "gold_tft_temporal_features",
    "gold_tft_training_dataset",
    "gold_tft_inference_frame",
    "gold_tft_feature_roles",
)


def utc(day: dt.date) -> dt.datetime:
    """An instant on that day, 10:00 UTC (07:00 in Buenos Aires: the same local day)."""
    return dt.datetime(day.year, day.month, day.day, 10, tzinfo=dt.timezone.utc)


def period_start(idx: int) -> dt.date:
    """First day of classes of semester idx (10 March or 10 August)."""
    return D(2000 + idx // 2, 3 if idx % 2 == 0 else 8, 10)


def activity_day(idx: int) -> dt.date:
    """The day a student enrols in a course of semester idx: 1 April or 1 September."""
    return D(2000 + idx // 2, 4 if idx % 2 == 0 else 9, 1)


@dataclass(frozen=True)
class Student:
    source: str
    alumno: int
    cohort: int
    active: tuple[int, ...]  # semesters with one course inscription (of a course of that semester)


STUDENTS = {
    "always": Student("fa", 1, 2022, (44, 45, 46, 47, 48, 49)),
    "silent": Student("fa", 2, 2022, (44, 45, 46)),
    "lost_regularity": Student("fa", 3, 2022, (44, 45, 46, 47, 48, 49)),
    "reincorporated": Student("fa", 4, 2022, (44, 45, 46, 47, 48, 49)),
    "stop_out": Student("fa", 5, 2022, (44, 45, 47, 48, 49)),
    "graduate": Student("fa", 6, 2022, (44, 45, 46)),
    "recent": Student("fa", 7, 2024, (48, 49)),
    "returner": Student("fa", 8, 2020, (40, 41, 44, 45, 46, 47, 48, 49)),
    "february": Student("fa", 9, 2022, (44,)),  # + an exam on 2023-02-20
    "passive": Student("fa", 10, 2022, (44, 44)),  # two annual courses left, absent in November
    "late_acta": Student("fa", 11, 2022, (44, 45, 46, 47, 48, 49)),
    "attendance": Student("fa", 12, 2022, (44, 45, 46, 47, 48, 49)),
    "late_cert": Student("fa", 13, 2021, (42, 43, 44)),  # last exam 2022-12-15, certificate 2023-05-10
    "always_fb": Student("fb", 1, 2022, (44, 45, 46, 47, 48, 49)),
    # source fm has detailed records from March 2020 (silver.cobertura_fuentes) and cohorts from 2016
    "migrated_idle": Student("fm", 1, 2016, ()),
    "migrated_active": Student("fm", 2, 2016, (42, 43, 44, 45, 46, 47, 48, 49)),
}
# results attached to the course inscription of (student, semester)
COURSE_RESULTS = {
    # the annual course of 2022 left in August ends absent in November: a passive record (first of 44's)
    ("passive", 44): {
        "fecha_resultado": D(2022, 11, 20),
        "fecha_conocido_resultado": D(2022, 11, 25),
        "resultado_cursada": "U",
        "resultado_categoria": "ausente",
        "ausente_flag": 1,
    },
    # last class 30 June, acta recorded 10 August (after the 31 July freeze)
    ("late_acta", 46): {
        "fecha_resultado": D(2023, 6, 30),
        "fecha_registro_resultado": D(2023, 8, 10),
        "fecha_conocido_resultado": D(2023, 8, 10),
        "resultado_cursada": "A",
        "resultado_categoria": "aprobado",
        "aprobada_flag": 1,
    },
}
FINAL_RESULTS = [
    # (student, exam inscription day or None, result day, acta recorded, grade or None = absent, 'U')
    ("february", D(2023, 2, 10), D(2023, 2, 20), D(2023, 2, 24), 7.0),
    ("late_acta", D(2023, 7, 10), D(2023, 7, 20), D(2023, 8, 25), 8.0),
    # the other annual course, with promotion: its promotion acta records the absence (no exam inscription)
    ("passive", None, D(2022, 11, 22), D(2022, 11, 28), None),
]
DROPOUT_EVENTS = [
    # (student, tipo_evento, fecha_evento, fecha_conocido)
    ("lost_regularity", "perdida_regularidad", D(2023, 4, 10), D(2023, 4, 10)),
    ("reincorporated", "perdida_regularidad", D(2023, 4, 10), D(2023, 4, 10)),
    ("reincorporated", "reincorporacion", D(2023, 5, 20), D(2023, 5, 20)),
    ("graduate", "egreso", D(2023, 12, 20), D(2023, 12, 20)),
    ("late_cert", "egreso", D(2022, 12, 15), D(2023, 5, 10)),
]


def key(name: str) -> str:
    s = STUDENTS[name]
    return alumno_key(s.source, s.alumno)


def _silver(path: Path, as_of: dt.date = AS_OF, names: tuple[str, ...] | None = None, baja: bool = False) -> Path:
    """The shared hand-written silver (only the students `names`); `baja`: the same with cancelled inscriptions."""
    empty_silver(path, as_of)
    chosen = {n: s for n, s in STUDENTS.items() if names is None or n in names}
    students, courses, census = [], [], []
    for name, s in chosen.items():
        sk = alumno_key(s.source, s.alumno)
        students.append(
            {
                "alumno_key": sk,
                "source_db": s.source,
                "alumno": s.alumno,
                "persona_key": f"p-{s.source}-{s.alumno}",
                "propuesta_nombre": "Contador Público",
                "facultad_nombre": "Facultad X",
                "sede_nombre": "Sede Central",
                "tipo_ingreso": 1,
                "fecha_ingreso": D(s.cohort - 1, 12, 1),
                "anio_ingreso": s.cohort,
                "edad_ingreso": 19,
                # today's status, never a feature of the past
                "calidad_actual": "A",
                "es_regular_actual": True,
            }
        )
        for n, idx in enumerate(s.active):
            first_of_semester = idx not in s.active[:n]
            courses.append(
                {
                    "source_db": s.source,
                    "inscripcion": s.alumno * 100 + n,
                    "alumno_key": sk,
                    # real silver: the academic year and cuatrimestre of the course's period
                    "anio_academico": 2000 + idx // 2,
                    "cuatrimestre": idx % 2 + 1,
                    "periodo_inicio": period_start(idx),
                    "fecha_inscripcion": utc(activity_day(idx)),
                    "estado_inscripcion": "B" if baja and name == "always" and idx >= 46 else "A",
                    "es_baja": baja and name == "always" and idx >= 46,
                    "aprobada_flag": 0,
                    "reprobada_flag": 0,
                    "ausente_flag": 0,
                    **(COURSE_RESULTS.get((name, idx), {}) if first_of_semester else {}),
                }
            )
        # a census with answers for everyone: none of them may reach the feature store
        census.append(
            {
                "census_key": f"c-{s.source}-{s.alumno}",
                "source_db": s.source,
                "dato_censal": s.alumno,
                "persona_key": f"p-{s.source}-{s.alumno}",
                "valid_from": D(s.cohort - 1, 12, 1),
                "es_vigente": True,
                "fecha_actualizacion": D(2024, 6, 1),
                "trabajo_existe": 1,
                "trabajo_hora_sem": 40,
                "cantidad_hijos": 2,
                "beca": True,
            }
        )
    insert_silver(path, "dim_student", students)
    insert_silver(path, "fact_course_enrollment", courses)
    insert_silver(path, "dim_census", census)
    results = [r for r in FINAL_RESULTS if r[0] in chosen]
    insert_silver(
        path,
        "fact_exam_inscription",
        [
            {
                "source_db": STUDENTS[name].source,
                "inscripcion": 9000 + n,
                "alumno_key": key(name),
                "fecha_mesa_examen": exam_day,
                "anio_academico": exam_day.year if exam_day.month >= 3 else exam_day.year - 1,
                "cuatrimestre": 1 if 3 <= exam_day.month <= 7 else 2,
                "fecha_inscripcion": utc(enrolled),
                "estado_inscripcion": "A",
            }
            for n, (name, enrolled, exam_day, _, _) in enumerate(results)
            if enrolled is not None
        ],
    )
    insert_silver(
        path,
        "fact_academic_performance",
        [
            {
                "source_db": STUDENTS[name].source,
                "dwh_pk": f"h{n}",
                "alumno_key": key(name),
                "anio_academico": exam_day.year if exam_day.month >= 3 else exam_day.year - 1,
                "cuatrimestre": 1 if 3 <= exam_day.month <= 7 else 2,
                "fecha_evaluacion": exam_day,
                "fecha_registro": recorded,
                "fecha_conocido": recorded,
                "nota": None if grade is None else str(int(grade)),
                "nota_num": grade,
                "resultado": "U" if grade is None else "A",
                "resultado_categoria": "ausente" if grade is None else "aprobado",
                "tipo_evaluacion": "Examen" if enrolled else "Promocion",
                "aprobado_flag": 0 if grade is None else 1,
                "reprobado_flag": 0,
                "ausente_flag": 1 if grade is None else 0,
            }
            for n, (name, enrolled, exam_day, recorded, grade) in enumerate(results)
        ],
    )
    insert_silver(
        path,
        "fact_dropout",
        [
            {
                "source_db": STUDENTS[name].source,
                "evento_id": f"{kind}:{n}",
                "alumno_key": key(name),
                "alumno": STUDENTS[name].alumno,
                "tipo_evento": kind,
                "fecha_evento": day,
                "fecha_conocido": known,
            }
            for n, (name, kind, day, known) in enumerate(DROPOUT_EVENTS)
            if name in chosen
        ],
    )
    if "attendance" in chosen:
        att = {"source_db": "fa", "alumno_key": key("attendance"), "anio_academico": 2023}
        insert_silver(
            path,
            "fact_attendance",
            [
                # Guaraní, annual course (March-November): final on its last day of classes, 24 November
                {**att, "sistema": "guarani", "curso": 501, "participante": 12, "fecha": D(2023, 11, 24),
                 "cuatrimestre": 1, "sesiones": 30, "asistencias": 12, "inasistencias": 18,
                 "porc_asistencia": 40.0, "cumple_asistencia_flag": 0, "riesgo_asistencia_flag": 1},
                # Guaraní, cuatrimestral course ending 30 June
                {**att, "sistema": "guarani", "curso": 502, "participante": 12, "fecha": D(2023, 6, 30),
                 "cuatrimestre": 1, "sesiones": 20, "asistencias": 18, "inasistencias": 2,
                 "porc_asistencia": 90.0, "cumple_asistencia_flag": 1, "riesgo_asistencia_flag": 0},
                # Moodle, one row per session day: present on 12 September, absent on 19 September
                {**att, "sistema": "moodle", "curso": 77, "participante": 900, "fecha": D(2023, 9, 12),
                 "cuatrimestre": 2, "sesiones": 1, "asistencias": 1, "inasistencias": 0,
                 "porc_asistencia": 100.0, "cumple_asistencia_flag": 1, "riesgo_asistencia_flag": 0},
                {**att, "sistema": "moodle", "curso": 77, "participante": 900, "fecha": D(2023, 9, 19),
                 "cuatrimestre": 2, "sesiones": 1, "asistencias": 0, "inasistencias": 1,
                 "porc_asistencia": 0.0, "cumple_asistencia_flag": 0, "riesgo_asistencia_flag": 1},
            ],
        )  # fmt: skip
    if any(s.source == "fm" for s in chosen.values()):
        insert_silver(
            path,
            "cobertura_fuentes",
            [
                {
                    "source_db": "fm",
                    "detalle_desde": D(2020, 3, 9),
                    "detalle_desde_anio": 2020,
                    "detalle_desde_cuatrimestre": 1,
                    "egresados_estado": "loaded",
                    "egresados_disponibles": True,
                }
            ],
        )
    return path


@pytest.fixture(scope="module")
def gold(tmp_path_factory) -> Path:
    warehouse = _silver(tmp_path_factory.mktemp("gold_tft") / "w.duckdb")
    build_layer(warehouse, "gold", AS_OF, files=TFT_FILES)
    return warehouse


def q(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    """A plain read-only connection, as the model and the dashboard read the warehouse."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def labels(warehouse: Path, name: str, column: str = "target") -> dict[int, str]:
    rows = q(
        warehouse,
        f"SELECT time_idx, {column} FROM gold.gold_tft_training_dataset WHERE alumno_key = ? ORDER BY 1",
        [key(name)],
    )
    return dict(rows)


def feature(warehouse: Path, name: str, column: str) -> dict[int, object]:
    rows = q(
        warehouse,
        f"SELECT time_idx, {column} FROM gold.gold_tft_temporal_features WHERE alumno_key = ? ORDER BY 1",
        [key(name)],
    )
    return dict(rows)


def inference_students(warehouse: Path) -> set[str]:
    """Who is in the inference frame, read as dwh/ml/data.py reads it (a plain connection, no variables)."""
    return {k for (k,) in q(warehouse, "SELECT DISTINCT alumno_key FROM gold.gold_tft_inference_frame")}


def seeds_dir(root: Path, **params: int) -> Path:
    """A DWH_SEEDS_DIR whose gold/label_params.csv is the shipped one with `params` changed."""
    (root / "gold").mkdir(parents=True)
    lines = (SEEDS_ROOT / "gold" / "label_params.csv").read_text(encoding="utf-8").splitlines()
    out = [lines[0]]
    for line in lines[1:]:
        name, _, rest = line.partition(",")
        _, _, description = rest.partition(",")
        out.append(f"{name},{params[name]},{description}" if name in params else line)
    (root / "gold" / "label_params.csv").write_text("\n".join(out) + "\n", encoding="utf-8")
    return root


# --- labels and risk set ---------------------------------------------------------------------------


def test_a_student_active_every_semester_is_never_a_dropout(gold):
    # rows 44..46 are labelled (the closing date of t+2 has passed); 47..49 are censored
    assert labels(gold, "always") == {44: "0", 45: "0", 46: "0"}
    assert labels(gold, "always_fb") == {44: "0", 45: "0", 46: "0"}


def test_labels_are_decided_at_the_closing_date_of_semester_t_plus_n(gold):
    rows = q(
        gold,
        "SELECT time_idx, as_of_date, label_as_of_date FROM gold.gold_tft_training_dataset "
        "WHERE alumno_key = ? ORDER BY 1",
        [key("always")],
    )
    # a row's label is decided on the closing date of t+2 (46: 31 Aug 2023, 47: 31 Mar 2024, 48: 31 Aug 2024);
    # row 47's would be 49's, 31 Mar 2025, after AS_OF: censored, though 49's as-of date (31 Dec 2024) is past
    assert rows == [
        (44, D(2022, 7, 31), D(2023, 8, 31)),
        (45, D(2022, 12, 31), D(2024, 3, 31)),
        (46, D(2023, 7, 31), D(2024, 8, 31)),
    ]


def test_a_silent_dropout_is_labelled_on_its_terminal_rows_and_then_leaves_the_risk_set(gold):
    # last activity in 46: row 46 sees two empty semesters (47, 48); row 47 would too but is censored;
    # from 48 on it has been away two semesters, so it is in neither training nor the inference frame
    assert labels(gold, "silent") == {44: "0", 45: "0", 46: "1"}
    assert key("silent") not in inference_students(gold)


def test_a_formal_loss_of_regularity_without_reincorporation_is_a_dropout(gold):
    # the loss (2023-04-10) falls in semester 46: rows 44 (window 45-46) and 45 (46-47) hold it
    assert labels(gold, "lost_regularity") == {44: "1", 45: "1", 46: "0"}


def test_a_reincorporated_student_is_not_a_dropout(gold):
    # reincorporated on 2023-05-20, after the loss and in the same window
    assert labels(gold, "reincorporated") == {44: "0", 45: "0", 46: "0"}
    assert labels(gold, "reincorporated", "perdida_regularidad") == {44: "0", 45: "0", 46: "0"}


def test_a_stop_out_who_returns_within_the_window_is_not_a_dropout(gold):
    assert labels(gold, "stop_out") == {44: "0", 45: "0", 46: "0"}
    row = q(
        gold,
        "SELECT activo, semestres_inactivo FROM gold.gold_tft_training_dataset WHERE alumno_key = ? AND time_idx = 46",
        [key("stop_out")],
    )
    assert row == [("0", 1.0)]


def test_a_graduate_is_not_a_dropout_and_leaves_the_risk_set_at_graduation(gold):
    # graduated on 2023-12-20 (semester 47, certificate known the same day): row 46 sees no activity in 47-48
    # but the graduation, so '0'
    assert labels(gold, "graduate") == {44: "0", 45: "0", 46: "0"}
    spine = q(gold, "SELECT max(time_idx) FROM gold.gold_tft_temporal_features WHERE alumno_key = ?", [key("graduate")])
    assert spine == [(47,)]
    assert key("graduate") not in inference_students(gold)


def test_a_recent_student_is_censored_and_only_in_the_inference_frame(gold):
    assert labels(gold, "recent") == {}
    rows = q(
        gold,
        "SELECT time_idx, target_observado, target FROM gold.gold_tft_inference_frame WHERE alumno_key = ? ORDER BY 1",
        [key("recent")],
    )
    assert rows == [(48, False, "0"), (49, False, "0")]  # '0' is a placeholder, not a label


def test_the_two_label_parts_and_the_target(gold, tmp_path, monkeypatch):
    # lost regularity in 46, never reincorporated, still active: formal loss only
    assert labels(gold, "lost_regularity", "perdida_regularidad") == {44: "1", 45: "1", 46: "0"}
    assert labels(gold, "lost_regularity", "abandono") == {44: "0", 45: "0", 46: "0"}
    assert labels(gold, "lost_regularity", "target") == {44: "1", 45: "1", 46: "0"}
    # a silent leaver: no activity, no formal loss
    assert labels(gold, "silent", "abandono") == {44: "0", 45: "0", 46: "1"}
    assert labels(gold, "silent", "perdida_regularidad") == {44: "0", 45: "0", 46: "0"}
    # perdida_regularidad_es_abandono = 0: the target is abandono alone; the parts do not change
    monkeypatch.setenv("DWH_SEEDS_DIR", str(seeds_dir(tmp_path / "seeds", perdida_regularidad_es_abandono=0)))
    warehouse = _silver(tmp_path / "w.duckdb", names=("lost_regularity", "silent"))
    build_layer(warehouse, "gold", AS_OF, files=TFT_FILES)
    assert labels(warehouse, "lost_regularity", "target") == {44: "0", 45: "0", 46: "0"}
    assert labels(warehouse, "lost_regularity", "perdida_regularidad") == {44: "1", 45: "1", 46: "0"}
    assert labels(warehouse, "silent", "target") == {44: "0", 45: "0", 46: "1"}


def test_a_student_whose_only_result_is_an_absence_has_no_activity(gold):
    # the only facts after 44 are the two annual courses' absent results (a regularity acta of 20 Nov and a
    # promotion acta of 22 Nov 2022, semester 45): passive records, not activity. Row 44 (window 45-46) and
    # row 45 (away one semester; window 46-47) are positive; row 46 is away two semesters, out of the risk set
    assert labels(gold, "passive", "abandono") == {44: "1", 45: "1"}
    assert labels(gold, "passive", "perdida_regularidad") == {44: "0", 45: "0"}
    # the absences are in 45's features (known 25 and 28 Nov) but do not make the semester active
    assert feature(gold, "passive", "cursadas_libres")[45] == 1.0
    assert feature(gold, "passive", "examenes_ausentes")[45] == 1.0
    assert feature(gold, "passive", "activo") == {44: "1", 45: "0", 46: "0", 47: "0", 48: "0", 49: "0"}


def test_a_leaver_after_the_february_turn_is_positive_on_the_second_cuatrimestre(gold):
    # last act: the exam of 20 Feb 2023, academic year 2022, cuatrimestre 2 = semester 45. Row 44 sees it
    # in its window (45-46): '0'; rows 45 (window 46-47) and 46 (47-48) see nothing: '1'
    assert labels(gold, "february", "abandono") == {44: "0", 45: "1", 46: "1"}
    assert labels(gold, "february") == {44: "0", 45: "1", 46: "1"}
    # features are point in time: the exam was not known by the 31 Dec 2022 freeze, so it is in 46's row
    assert feature(gold, "february", "examenes_aprobados") == {44: 0.0, 45: 0.0, 46: 1.0, 47: 0.0, 48: 0.0, 49: 0.0}
    assert feature(gold, "february", "activo") == {44: "1", 45: "0", 46: "1", 47: "0", 48: "0", 49: "0"}


def test_a_returner_re_enters_the_risk_set_when_active_again(gold):
    # active 40, 41; away 42 (inactivo 1) and 43 (inactivo 2); back from 44 on.
    assert feature(gold, "returner", "semestres_inactivo") == {
        40: 0.0, 41: 0.0, 42: 1.0, 43: 2.0, 44: 0.0, 45: 0.0, 46: 0.0, 47: 0.0, 48: 0.0, 49: 0.0
    }  # fmt: skip
    # 41: nothing in 42-43 -> '1'; 42 (away one semester) sees the return in 44 -> '0'; 43 is away N
    # semesters: out of training; the rows after the return are labelled again
    assert labels(gold, "returner") == {40: "0", 41: "1", 42: "0", 44: "0", 45: "0", 46: "0"}
    rows = q(
        gold,
        "SELECT time_idx, en_riesgo FROM gold.gold_tft_inference_frame WHERE alumno_key = ? ORDER BY 1",
        [key("returner")],
    )
    assert rows == [(t, t != 43) for t in range(40, 50)]


def test_a_migrated_cohort_starts_when_the_records_begin(gold):
    # cohort 2016 (entry semester 32) in a source whose records start in March 2020 (semester 40)
    static = q(
        gold,
        "SELECT alumno_key, time_idx_ingreso, primer_time_idx, historia_migrada FROM gold.gold_tft_static_features "
        "WHERE alumno_key IN (?, ?, ?)",
        [key("migrated_idle"), key("migrated_active"), key("always")],
    )
    assert set(static) == {
        (key("migrated_idle"), 32, 40, "1"),
        (key("migrated_active"), 32, 40, "1"),
        (key("always"), 44, 44, "0"),
    }
    since_entry = feature(gold, "migrated_idle", "semestres_desde_ingreso")
    assert min(since_entry) == 40 and since_entry[40] == 8.0 and since_entry[49] == 17.0
    # never seen active since the records begin: never at risk (no false positive)
    assert labels(gold, "migrated_idle") == {}
    assert key("migrated_idle") not in inference_students(gold)
    # active from 2021 (semester 42): in the risk set from then on
    assert labels(gold, "migrated_active") == {42: "0", 43: "0", 44: "0", 45: "0", 46: "0"}
    rows = q(
        gold,
        "SELECT time_idx, en_riesgo FROM gold.gold_tft_inference_frame WHERE alumno_key = ? ORDER BY 1",
        [key("migrated_active")],
    )
    assert rows == [(t, t >= 42) for t in range(40, 50)]


def test_a_late_certificate_counts_from_the_last_exam_once_known(gold):
    # last exam 2022-12-15 (semester 45), certificate 2023-05-10. Row 43 is decided on 31 Mar 2023, before
    # the certificate: '0' by its activity in 44. Row 44 is decided on 31 Aug 2023, with the certificate:
    # no activity in 45-46, but graduated by 45 -> '0' (both parts). No row from 45 on.
    assert labels(gold, "late_cert") == {42: "0", 43: "0", 44: "0"}
    assert labels(gold, "late_cert", "abandono") == {42: "0", 43: "0", 44: "0"}
    # the spine runs to the semester in which the graduation became known (46, as of 31 Jul 2023)
    assert max(feature(gold, "late_cert", "activo")) == 46
    assert key("late_cert") not in inference_students(gold)


@pytest.mark.parametrize(("as_of", "in_frame"), [(D(2023, 5, 9), True), (D(2023, 5, 10), False)])
def test_a_certificate_takes_the_student_out_of_the_inference_frame_mid_semester(tmp_path, as_of, in_frame):
    # as of May 2023 the last closed semester is 45; the certificate (10 May) is in semester 46, still open
    warehouse = _silver(tmp_path / "w.duckdb", as_of, names=("late_cert",))
    build_layer(warehouse, "gold", as_of, files=TFT_FILES)
    assert max(feature(warehouse, "late_cert", "activo")) == 45  # its row of 45 exists either way
    assert (key("late_cert") in inference_students(warehouse)) is in_frame


def test_inference_frame_holds_the_students_at_risk_now_with_their_history(gold):
    at_risk = (
        "always",
        "always_fb",
        "lost_regularity",
        "reincorporated",
        "stop_out",
        "recent",
        "returner",
        "late_acta",
        "attendance",
        "migrated_active",
    )
    # out: away N semesters (silent, february, passive), graduated (graduate, late_cert), never active
    # since the records begin (migrated_idle)
    assert inference_students(gold) == {key(n) for n in at_risk}
    last = q(gold, "SELECT DISTINCT max(time_idx) OVER (PARTITION BY alumno_key) FROM gold.gold_tft_inference_frame")
    assert last == [(LAST_CLOSED,)]
    first = dict(q(gold, "SELECT alumno_key, min(time_idx) FROM gold.gold_tft_inference_frame GROUP BY 1"))
    assert first[key("always")] == 44 and first[key("returner")] == 40  # the whole history


# --- point in time -------------------------------------------------------------------------------------


def test_attendance_counts_in_the_semester_it_is_known(gold):
    # 46 (as of 31 Jul 2023): the course that ended 30 June (90 %); the annual course (final 24 Nov) not yet
    # 47 (as of 31 Dec 2023): the annual course (40 %, below the 50 % risk threshold) and the two Moodle
    # sessions of September (one attended of two)
    rows = q(
        gold,
        "SELECT time_idx, asistencia_guarani, asistencia_guarani_missing, cursadas_riesgo_asistencia, "
        "asistencia_moodle, asistencia_moodle_missing FROM gold.gold_tft_temporal_features "
        "WHERE alumno_key = ? AND time_idx BETWEEN 45 AND 48 ORDER BY 1",
        [key("attendance")],
    )
    assert rows == [
        (45, 0.0, "1", 0.0, 0.0, "1"),
        (46, 90.0, "0", 0.0, 0.0, "1"),
        (47, 40.0, "0", 1.0, 50.0, "0"),
        (48, 0.0, "1", 0.0, 0.0, "1"),
    ]


def test_a_result_whose_acta_is_recorded_after_the_freeze_counts_in_the_next_row(gold):
    # course result of 30 June and exam of 20 July 2023, actas recorded 10 and 25 August: after 46's
    # freeze (31 Jul), so both are in 47's row
    rows = q(
        gold,
        "SELECT time_idx, cursadas_regularizadas, examenes_aprobados, promedio_notas, promedio_notas_missing "
        "FROM gold.gold_tft_temporal_features WHERE alumno_key = ? AND time_idx IN (46, 47) ORDER BY 1",
        [key("late_acta")],
    )
    assert rows == [(46, 0.0, 0.0, 0.0, "1"), (47, 1.0, 1.0, 8.0, "0")]


def test_courses_in_progress_are_those_without_a_known_result_at_the_freeze(gold):
    # late_acta, 46: its course ended 30 June but the acta was recorded 10 August, after the 31 July freeze:
    # in progress in 46, counted as regularised in 47; 47 has its own course, with no result yet
    assert feature(gold, "late_acta", "cursadas_en_curso") == {44: 1.0, 45: 1.0, 46: 1.0, 47: 1.0, 48: 1.0, 49: 1.0}
    assert feature(gold, "late_acta", "cursadas_regularizadas")[47] == 1.0
    # passive, 44: two annual courses running at the 31 July freeze (their results come in November)
    assert feature(gold, "passive", "cursadas_en_curso")[44] == 2.0
    # silent left after 46: nothing in progress later; a course counts only in the rows of its window
    assert feature(gold, "silent", "cursadas_en_curso") == {44: 1.0, 45: 1.0, 46: 1.0, 47: 0.0, 48: 0.0, 49: 0.0}


def test_cumulative_features_look_only_backwards(gold):
    rows = q(
        gold,
        "SELECT time_idx, cursadas_inscriptas, semestres_activos_acum, semestres_inactivo "
        "FROM gold.gold_tft_temporal_features WHERE alumno_key = ? ORDER BY 1",
        [key("silent")],
    )
    assert rows == [
        (44, 1.0, 1.0, 0.0),
        (45, 1.0, 2.0, 0.0),
        (46, 1.0, 3.0, 0.0),
        (47, 0.0, 3.0, 1.0),
        (48, 0.0, 3.0, 2.0),
        (49, 0.0, 3.0, 3.0),
    ]


def test_cancellations_and_todays_status_do_not_change_the_feature_store(gold, tmp_path):
    # the same silver with `always`'s inscriptions from 46 on cancelled today (estado B, no date)
    warehouse = _silver(tmp_path / "baja.duckdb", baja=True)
    with duckdb.connect(str(warehouse)) as con:
        assert con.execute("SELECT count(*) FROM silver.fact_course_enrollment WHERE es_baja").fetchone() == (4,)
        con.execute("UPDATE silver.dim_student SET calidad_actual = 'P', es_regular_actual = false")
    build_layer(warehouse, "gold", AS_OF, files=TFT_FILES)
    for table in TFT_TABLES:
        sql = f"SELECT * FROM gold.{table} ORDER BY ALL"
        assert q(warehouse, sql) == q(gold, sql), table
    columns = {c for (c,) in q(gold, "SELECT column_name FROM information_schema.columns WHERE table_schema = 'gold'")}
    assert not {"cursadas_bajas", "es_baja", "calidad_actual", "es_regular_actual"} & columns


def test_census_answers_are_not_features(gold):
    census = ("trabaj", "hora", "hijo", "beca", "vivienda", "familia", "civil", "salud", "costeo", "tecnolog",
              "estudio", "colegio", "institucion", "procedencia", "disc_", "vive_con", "deporte")  # fmt: skip
    for table in ("gold_tft_static_features", "gold_tft_temporal_features", "gold_tft_training_dataset"):
        columns = [
            c
            for (c,) in q(
                gold,
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'gold' AND table_name = ?",
                [table],
            )
        ]
        assert columns, table
        assert not [c for c in columns if any(word in c for word in census)], table


# --- Moodle: each day belongs to the career open that day -----------------------------------------------


def _moodle_bronze(path: Path) -> Path:
    """One person with two careers in fa (2019 and 2022) and one Moodle account logging in with its usuario."""
    empty_bronze(path)
    insert(path, "personas", [{"source_db": "fa", "persona": 1, "usuario": "30111222", "sexo": "F"}])
    insert(
        path,
        "students",
        [
            {"source_db": "fa", "alumno": 21, "persona": 1, "propuesta_nombre": "Contador Público",
             "fecha_ingreso": D(2019, 3, 1), "anio_ingreso": 2019, "calidad": "A", "regular": "S"},
            {"source_db": "fa", "alumno": 22, "persona": 1, "propuesta_nombre": "Licenciatura en Economía",
             "fecha_ingreso": D(2022, 3, 1), "anio_ingreso": 2022, "calidad": "A", "regular": "S"},
        ],
    )  # fmt: skip
    courses = [(21, D(2019, 3, 20)), (21, D(2020, 3, 20)), (21, D(2021, 3, 20)), (21, D(2021, 8, 20))]
    courses += [(22, D(2022, 3, 20)), (22, D(2023, 3, 20))]
    insert(
        path,
        "course_inscriptions",
        [
            {
                "source_db": "fa",
                "inscripcion_id": n,
                "alumno": alumno,
                "periodo_inicio": D(day.year, day.month, 10),
                "anio_academico": day.year,
                "estado_inscripcion": "A",
                "fecha_inscripcion": utc(day),
            }
            for n, (alumno, day) in enumerate(courses, start=1)
        ],
    )
    insert(path, "moodle_users", [{"source_db": "moodle", "userid": 7, "username": "30111222", "deleted": 0}])
    insert(
        path,
        "moodle_engagement",
        [
            {"source_db": "moodle", "userid": 7, "courseid": 2, "dia": day, "eventos": n, "acciones_distintas": 1}
            for day, n in MOODLE_DAYS.items()
        ],
    )
    return path


# day: Moodle events that day
MOODLE_DAYS = {
    D(2021, 5, 10): 5,  # only the first career has entered
    D(2021, 12, 10): 3,  # idem, still before the second entry
    D(2022, 4, 5): 7,  # both open (first: activity 2021-08-20; second: entered 2022-03-01): the older
    D(2023, 5, 10): 11,  # first closed (no activity since 2021-08-20), second active 2023-03-20
    D(2024, 9, 2): 13,  # none open (no activity in 365 days, both entered > 365 days ago): the latest entered
}


def test_moodle_days_belong_to_the_career_open_that_day(tmp_path):
    warehouse = _moodle_bronze(tmp_path / "w.duckdb")
    build_layer(warehouse, "silver", AS_OF, variables={"hash_salt": SALT}, prepare=bronze_placeholders())
    first, second = alumno_key("fa", 21), alumno_key("fa", 22)
    days = q(warehouse, "SELECT dia, alumno_key, regla FROM silver.map_moodle_user_dia ORDER BY dia")
    assert days == [
        (D(2021, 5, 10), first, "abierta"),
        (D(2021, 12, 10), first, "abierta"),
        (D(2022, 4, 5), first, "abierta"),
        (D(2023, 5, 10), second, "abierta"),
        (D(2024, 9, 2), second, "ninguna_abierta"),
    ]
    # the later enrolment never takes the first career's earlier days
    activity = q(warehouse, "SELECT dia, alumno_key, eventos FROM silver.fact_lms_activity ORDER BY dia")
    assert activity == [(day, student, MOODLE_DAYS[day]) for day, student, _ in days]
    # and so in gold: each career's semesters hold only its own days
    build_layer(warehouse, "gold", AS_OF, files=TFT_FILES)
    eventos = dict(
        q(
            warehouse,
            "SELECT alumno_key || ':' || time_idx, moodle_eventos FROM gold.gold_tft_temporal_features "
            "WHERE moodle_eventos > 0",
        )
    )
    # 2021-05-10 -> 42 (2021 c1); 2021-12-10 -> 43; 2022-04-05 -> 44; 2023-05-10 -> 46; 2024-09-02 -> 49
    assert eventos == {f"{first}:42": 5.0, f"{first}:43": 3.0, f"{first}:44": 7.0, f"{second}:46": 11.0,
                       f"{second}:49": 13.0}  # fmt: skip


# --- a source without its graduates table ------------------------------------------------------------


def _bronze_without_graduates(path: Path) -> Path:
    """Source fg could not read its graduates table (bronze logged it 'skipped'); source fa could."""
    empty_bronze(path)
    insert(path, "personas", [{"source_db": s, "persona": a} for s, a in (("fg", 1), ("fg", 2), ("fa", 1))])
    insert(
        path,
        "students",
        [
            {"source_db": s, "alumno": a, "persona": a, "fecha_ingreso": D(2022, 2, 15), "anio_ingreso": 2022}
            for s, a in (("fg", 1), ("fg", 2), ("fa", 1))
        ],
    )
    spans = {("fg", 1): range(44, 50), ("fg", 2): range(44, 46), ("fa", 1): range(44, 50)}
    insert(
        path,
        "course_inscriptions",
        [
            {
                "source_db": s,
                "inscripcion_id": a * 100 + idx,
                "alumno": a,
                "periodo_inicio": period_start(idx),
                "anio_academico": 2000 + idx // 2,
                "estado_inscripcion": "A",
                "fecha_inscripcion": utc(activity_day(idx)),
            }
            for (s, a), span in spans.items()
            for idx in span
        ],
    )
    insert(
        path,
        "_dwh_load_log",
        [
            {"run_id": "r1", "started_at": dt.datetime(2025, 3, 14, 3, tzinfo=dt.timezone.utc), "source_db": s,
             "table_name": "graduates", "status": status, "row_count": 0, "message": message}
            for s, status, message in (
                ("fg", "skipped", 'relation "sga_certificados_otorg" does not exist'),
                ("fa", "loaded", ""),
            )
        ],
    )  # fmt: skip
    return path


def test_without_a_graduates_table_the_labels_are_not_built_unless_accepted(tmp_path, monkeypatch):
    warehouse = _bronze_without_graduates(tmp_path / "w.duckdb")
    build_layer(warehouse, "silver", AS_OF, variables={"hash_salt": SALT}, prepare=bronze_placeholders())
    assert q(warehouse, "SELECT source_db, egresados_disponibles FROM silver.cobertura_fuentes ORDER BY 1") == [
        ("fa", True),
        ("fg", False),
    ]
    with pytest.raises(LabelsNotBuilt) as raised:
        gold_aggregates.build(warehouse, AS_OF)
    assert "fg" in str(raised.value)

    def gold_tables() -> set[str]:
        return {
            t for (t,) in q(warehouse, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'gold'")
        }

    built = gold_tables()
    assert {
        "mart_student_academic_summary",
        "mart_student_engagement",
        "mart_student_risk_features",
        "mart_cohort_analysis",
        "gold_tft_static_features",
        "gold_tft_temporal_features",
    } <= built
    assert not {"gold_tft_training_dataset", "gold_tft_inference_frame", "gold_tft_feature_roles"} & built

    # accepted explicitly: built, and every row of fg says its graduates may be counted as dropouts
    monkeypatch.setenv("DWH_SEEDS_DIR", str(seeds_dir(tmp_path / "seeds", aceptar_sin_egresados=1)))
    gold_aggregates.build(warehouse, AS_OF)
    assert {"gold_tft_training_dataset", "gold_tft_inference_frame", "gold_tft_feature_roles"} <= gold_tables()
    for table in ("gold_tft_training_dataset", "gold_tft_inference_frame"):
        flags = q(
            warehouse,
            f"SELECT fuente, egresados_incompletos, count(*) FROM gold.{table} GROUP BY ALL ORDER BY ALL",
        )
        assert [(f, flag) for f, flag, _ in flags] == [("fa", "0"), ("fg", "1")], table
    # fg/2, last active in 45, is positive on 45 and 46 (it may be a graduate nobody can see)
    assert q(
        warehouse,
        "SELECT time_idx, target FROM gold.gold_tft_training_dataset WHERE alumno_key = ? ORDER BY 1",
        [alumno_key("fg", 2)],
    ) == [(44, "0"), (45, "1"), (46, "1")]


# --- shape for TimeSeriesDataSet -----------------------------------------------------------------------


def test_temporal_spine_is_dense_from_entry_to_the_last_closed_semester(gold):
    rows = q(
        gold,
        "SELECT alumno_key, min(time_idx), max(time_idx), count(*) FROM gold.gold_tft_temporal_features GROUP BY 1",
    )
    spans = {k: (lo, hi, n) for k, lo, hi, n in rows}
    assert spans[key("silent")] == (44, 49, 6)  # inactive semesters are rows
    assert spans[key("recent")] == (48, 49, 2)
    assert spans[key("graduate")] == (44, 47, 4)  # to the semester its graduation became known
    assert spans[key("migrated_idle")] == (40, 49, 10)  # from the first semester with records
    assert all(hi - lo + 1 == n for lo, hi, n in spans.values())
    assert len(spans) == len(STUDENTS)


def test_time_idx_has_gaps_only_where_a_returner_was_away(gold):
    def gaps(table: str) -> set[str]:
        rows = q(
            gold,
            f"SELECT alumno_key FROM gold.{table} GROUP BY 1 HAVING max(time_idx) - min(time_idx) + 1 <> count(*)",
        )
        return {k for (k,) in rows}

    # training: only the returner's time away (43) is cut out; the inference frame holds whole histories
    assert gaps("gold_tft_training_dataset") == {key("returner")}
    assert gaps("gold_tft_inference_frame") == set()


def test_types_follow_the_timeseriesdataset_contract(gold):
    roles = dict(q(gold, "SELECT column_name, tft_role FROM gold.gold_tft_feature_roles"))
    types = dict(
        q(
            gold,
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'gold' AND table_name = 'gold_tft_training_dataset'",
        )
    )
    assert set(roles) == set(types), "every training column has exactly one role"
    assert roles["alumno_key"] == "group_ids" and roles["time_idx"] == "time_idx" and roles["target"] == "target"
    for meta in ("anio_academico", "as_of_date", "label_as_of_date", "abandono", "perdida_regularidad"):
        assert roles[meta] == "meta", meta
    assert roles["egresados_incompletos"] == "meta"
    # a year of entry is never seen again by a model scoring future cohorts
    assert roles["cohorte"] == "meta"
    # what the decoder may see of a later semester is the calendar; the semester's observations are unknown
    # until its as-of date, so the encoder alone sees them (row t included)
    origins = dict(q(gold, "SELECT column_name, origen FROM gold.gold_tft_feature_roles"))
    for column, role in roles.items():
        if role.startswith("time_varying_known"):
            assert origins[column] == "calendario", column
        if role.startswith("time_varying_unknown"):
            assert origins[column] == "semestre", column
    assert roles["cuatrimestre"] == "time_varying_known_categoricals"
    assert roles["semestres_desde_ingreso"] == "time_varying_known_reals"
    assert roles["asistencia_guarani"] == "time_varying_unknown_reals"
    assert roles["inscripto_siguiente"] == "time_varying_unknown_categoricals"
    # every input is named in Spanish for the reasons tutors read, never by its column name
    described = dict(q(gold, "SELECT column_name, descripcion FROM gold.gold_tft_feature_roles"))
    inputs = [c for c, r in roles.items() if r.endswith(("categoricals", "reals"))]
    assert all(described[c] and described[c] != c for c in inputs)
    assert described["asistencia_guarani"] == "Asistencia registrada en Guaraní (%)"
    assert types["time_idx"] == "INTEGER" and types["target"] == "VARCHAR"
    assert not {"encoder_length", "relative_time_idx"} & set(types)
    for column, role in roles.items():
        if role.endswith("categoricals"):
            assert types[column] == "VARCHAR", column
        if role.endswith("reals"):
            assert types[column] == "DOUBLE", column
    features = [c for c, r in roles.items() if r.endswith(("categoricals", "reals"))]
    nulls = q(
        gold,
        "SELECT "
        + " + ".join(f"count(*) FILTER (WHERE {c} IS NULL)" for c in features)
        + " FROM gold.gold_tft_training_dataset",
    )
    assert nulls == [(0,)]
    unknown = q(gold, "SELECT count(*) FROM gold.gold_tft_training_dataset WHERE sexo = 'DESCONOCIDO'")
    assert unknown[0][0] > 0  # no dim_persona rows in this fixture: the explicit unknown category


def test_no_future_metadata_and_no_identifiers_are_features(gold):
    roles = dict(q(gold, "SELECT column_name, tft_role FROM gold.gold_tft_feature_roles"))
    features = {c for c, r in roles.items() if r.endswith(("categoricals", "reals"))}
    forbidden = ("sequence", "is_last", "total_", "fecha", "label", "dni", "nombre", "persona", "alumno", "nacimiento")
    assert not [c for c in features if any(f in c for f in forbidden)]
    columns = q(gold, "SELECT DISTINCT column_name FROM information_schema.columns WHERE table_schema = 'gold'")
    assert not [c for (c,) in columns if c in ("alumno", "persona", "persona_key", "fecha_nacimiento", "dni")]


def test_the_same_silver_and_as_of_give_the_same_gold(gold, tmp_path):
    again = _silver(tmp_path / "again.duckdb")
    build_layer(again, "gold", AS_OF, files=TFT_FILES)
    for table in ("gold_tft_temporal_features", "gold_tft_training_dataset", "gold_tft_static_features"):
        with duckdb.connect(str(again)) as con:
            con.execute(f"ATTACH '{gold}' AS first (READ_ONLY)")
            diff = con.execute(
                f"SELECT count(*) FROM (SELECT * FROM gold.{table} EXCEPT ALL SELECT * FROM first.gold.{table})"
            ).fetchone()
        assert diff == (0,), table


def test_timeseriesdataset_loads_the_training_table_as_is(gold):
    pf = pytest.importorskip("pytorch_forecasting", reason="pytorch-forecasting is not installed (extra `ml`)")
    from pytorch_forecasting.data.encoders import NaNLabelEncoder

    with duckdb.connect(str(gold), read_only=True) as con:
        frame = con.execute("SELECT * FROM gold.gold_tft_training_dataset").df()
        roles: dict[str, list[str]] = {}
        for column, role in con.execute("SELECT column_name, tft_role FROM gold.gold_tft_feature_roles").fetchall():
            roles.setdefault(role, []).append(column)
    assert 43 not in set(frame.loc[frame.alumno_key == key("returner"), "time_idx"])  # a gap in one series
    roles.pop("meta", None)
    dataset = pf.TimeSeriesDataSet(
        frame,
        time_idx=roles.pop("time_idx")[0],
        target=roles.pop("target")[0],
        group_ids=roles.pop("group_ids"),
        max_encoder_length=4,
        min_encoder_length=1,
        max_prediction_length=1,
        target_normalizer=NaNLabelEncoder(),
        allow_missing_timesteps=True,  # as dwh/ml/tft.py: a returner's time away is cut out
        **roles,
    )
    assert len(dataset) > 0
    assert dataset.target_normalizer.classes_ == {"0": 0, "1": 1}


def test_an_inference_frame_left_as_a_view_by_an_older_version_becomes_a_table(tmp_path):
    warehouse = _silver(tmp_path / "w.duckdb", names=("always",))
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE SCHEMA gold")
        con.execute("CREATE VIEW gold.gold_tft_inference_frame AS SELECT 1 AS x")
    gold_aggregates.build(warehouse, AS_OF)
    kind = q(
        warehouse,
        "SELECT table_type FROM information_schema.tables WHERE table_name = 'gold_tft_inference_frame'",
    )
    assert kind == [("BASE TABLE",)]
    assert q(warehouse, "SELECT count(DISTINCT alumno_key) FROM gold.gold_tft_inference_frame") == [(1,)]
