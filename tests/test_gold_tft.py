"""The TFT feature store on hand-built students: labels, risk set, censoring, shape and types."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest
from silver_fixture import empty_silver, insert_silver, student_key

from dwh.pipelines._sql_runner import build_layer
from dwh.pipelines.sql_files import layer_files

D = dt.date
AS_OF = D(2025, 3, 15)  # last closed semester: 2024, cuatrimestre 2 (as of 2024-12-31), time_idx 49
TFT_FILES = [f for f in layer_files("gold") if f.name[:2] >= "10"]
# one activity date per semester index (origin year 2000: 2022 c1 = 44 ... 2024 c2 = 49)
SEMESTER_DAY = {
    44: D(2022, 4, 1),
    45: D(2022, 9, 1),
    46: D(2023, 4, 1),
    47: D(2023, 9, 1),
    48: D(2024, 4, 1),
    49: D(2024, 9, 1),
}
STUDENTS = {
    # name: (alumno, cohort, semesters with activity)
    "always": (1, 2022, [44, 45, 46, 47, 48, 49]),
    "silent": (2, 2022, [44, 45, 46]),
    "lost_regularity": (3, 2022, [44, 45, 46, 47, 48, 49]),
    "reincorporated": (4, 2022, [44, 45, 46, 47, 48, 49]),
    "stop_out": (5, 2022, [44, 45, 47, 48, 49]),
    "graduate": (6, 2022, [44, 45, 46]),
    "recent": (7, 2024, [48, 49]),
}


def key(name: str, source: str = "fa") -> str:
    return student_key(source, STUDENTS[name][0])


def _silver(path: Path) -> Path:
    empty_silver(path, AS_OF)
    students, courses = [], []
    for source in ("fa", "fb"):
        for name, (alumno, cohort, active) in STUDENTS.items():
            if source == "fb" and name != "always":
                continue
            sk = student_key(source, alumno)
            students.append(
                {
                    "student_key": sk,
                    "source_db": source,
                    "alumno": alumno,
                    "persona_key": f"p-{source}-{alumno}",
                    "propuesta_nombre": "Contador Público",
                    "facultad_nombre": "Facultad X",
                    "sede_nombre": "Sede Central",
                    "tipo_ingreso": 1,
                    "fecha_ingreso": D(cohort - 1, 12, 1),
                    "anio_ingreso": cohort,
                    "edad_ingreso": 19,
                }
            )
            for n, idx in enumerate(active):
                courses.append(
                    {
                        "source_db": source,
                        "inscripcion": alumno * 100 + n,
                        "student_key": sk,
                        "fecha_inscripcion": dt.datetime(
                            *SEMESTER_DAY[idx].timetuple()[:3], 10, 0, tzinfo=dt.timezone.utc
                        ),
                        "es_baja": False,
                    }
                )
    insert_silver(path, "dim_student", students)
    insert_silver(path, "fact_course_enrollment", courses)
    events = [
        ("lost_regularity", "perdida_regularidad", D(2023, 4, 10)),
        ("reincorporated", "perdida_regularidad", D(2023, 4, 10)),
        ("reincorporated", "reincorporacion", D(2023, 5, 20)),
        ("graduate", "egreso", D(2023, 12, 20)),
    ]
    insert_silver(
        path,
        "fact_dropout",
        [
            {
                "source_db": "fa",
                "evento_id": f"{kind}:{n}",
                "student_key": key(name),
                "alumno": STUDENTS[name][0],
                "tipo_evento": kind,
                "fecha_evento": day,
            }
            for n, (name, kind, day) in enumerate(events)
        ],
    )
    return path


@pytest.fixture(scope="module")
def gold(tmp_path_factory) -> Path:
    warehouse = _silver(tmp_path_factory.mktemp("gold_tft") / "w.duckdb")
    build_layer(warehouse, "gold", AS_OF, files=TFT_FILES)
    return warehouse


def q(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def labels(warehouse: Path, name: str, source: str = "fa") -> dict[int, str]:
    rows = q(
        warehouse,
        "SELECT time_idx, target FROM gold.gold_tft_training_dataset WHERE alumno_key = ? ORDER BY 1",
        [key(name, source)],
    )
    return dict(rows)


def test_a_student_active_every_semester_is_never_a_dropout(gold):
    # rows 44..47 are labelled (their two following semesters are closed); 48 and 49 are censored
    assert labels(gold, "always") == {44: "0", 45: "0", 46: "0", 47: "0"}
    assert labels(gold, "always", "fb") == {44: "0", 45: "0", 46: "0", 47: "0"}


def test_a_silent_dropout_is_labelled_on_its_terminal_rows_and_then_leaves_the_risk_set(gold):
    # last activity in 46: rows 46 and 47 see two empty semesters ahead; at 48 it has been away two
    # semesters, which is known then, so 48 and later are not in the risk set
    assert labels(gold, "silent") == {44: "0", 45: "0", 46: "1", 47: "1"}
    inference = q(gold, "SELECT count(*) FROM gold.gold_tft_inference_frame WHERE alumno_key = ?", [key("silent")])
    assert inference == [(0,)]


def test_a_formal_loss_of_regularity_without_reincorporation_is_a_dropout(gold):
    # the loss (2023-04-10) falls in semester 46: the rows whose window holds 46 are positive
    assert labels(gold, "lost_regularity") == {44: "1", 45: "1", 46: "0", 47: "0"}


def test_a_reincorporated_student_is_not_a_dropout(gold):
    assert labels(gold, "reincorporated") == {44: "0", 45: "0", 46: "0", 47: "0"}


def test_a_stop_out_who_returns_within_the_window_is_not_a_dropout(gold):
    assert labels(gold, "stop_out") == {44: "0", 45: "0", 46: "0", 47: "0"}
    row = q(
        gold,
        "SELECT activo, semestres_inactivo FROM gold.gold_tft_training_dataset WHERE alumno_key = ? AND time_idx = 46",
        [key("stop_out")],
    )
    assert row == [("0", 1.0)]


def test_a_graduate_is_not_a_dropout_and_leaves_the_risk_set_at_graduation(gold):
    # graduated on 2023-12-20, in semester 47: 45 and 46 see the graduation in their window
    assert labels(gold, "graduate") == {44: "0", 45: "0", 46: "0"}
    spine = q(gold, "SELECT max(time_idx) FROM gold.gold_tft_temporal_features WHERE alumno_key = ?", [key("graduate")])
    assert spine == [(47,)]
    inference = q(gold, "SELECT count(*) FROM gold.gold_tft_inference_frame WHERE alumno_key = ?", [key("graduate")])
    assert inference == [(0,)]


def test_a_recent_student_is_censored_and_only_in_the_inference_frame(gold):
    assert labels(gold, "recent") == {}
    rows = q(
        gold,
        "SELECT time_idx, target_observado FROM gold.gold_tft_inference_frame WHERE alumno_key = ? ORDER BY 1",
        [key("recent")],
    )
    assert rows == [(48, False), (49, False)]


def test_inference_frame_holds_the_students_at_risk_now_with_their_history(gold):
    students = q(gold, "SELECT DISTINCT alumno_key FROM gold.gold_tft_inference_frame")
    expected = {key(n) for n in ("always", "lost_regularity", "reincorporated", "stop_out", "recent")}
    assert {s for (s,) in students} == expected | {key("always", "fb")}
    last = q(gold, "SELECT DISTINCT max(time_idx) OVER (PARTITION BY alumno_key) FROM gold.gold_tft_inference_frame")
    assert last == [(49,)]


def test_temporal_spine_is_dense_from_entry_to_the_last_closed_semester(gold):
    rows = q(
        gold,
        "SELECT alumno_key, min(time_idx), max(time_idx), count(*) FROM gold.gold_tft_temporal_features GROUP BY 1",
    )
    spans = {k: (lo, hi, n) for k, lo, hi, n in rows}
    assert spans[key("silent")] == (44, 49, 6)  # inactive semesters are rows
    assert spans[key("recent")] == (48, 49, 2)
    assert all(hi - lo + 1 == n for lo, hi, n in spans.values())


def test_time_idx_is_consecutive_per_student_in_training_and_inference(gold):
    for table in ("gold_tft_training_dataset", "gold_tft_inference_frame"):
        gaps = q(
            gold,
            f"SELECT count(*) FROM (SELECT alumno_key FROM gold.{table} GROUP BY 1 "
            "HAVING max(time_idx) - min(time_idx) + 1 <> count(*))",
        )
        assert gaps == [(0,)], table


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
        **roles,
    )
    assert len(dataset) > 0
    assert dataset.target_normalizer.classes_ == {"0": 0, "1": 1}
