"""gold.riesgo_actual: the current-risk choice (model or heuristic) as a gold view, its data tests, and the
dashboard reading it; the fixture is test_dashboard_queries' hand-built warehouse."""

from __future__ import annotations

import importlib

import duckdb
import pandas as pd
import pytest
from test_dashboard_queries import PREDICTIONS, build_warehouse, copy_of, key, with_predictions

from dwh.dashboard import queries as q
from dwh.dashboard.queries import Filtros, riesgo_respaldo
from dwh.layers.data_tests import run_tests
from dwh.layers.sql_files import layer_files
from dwh.ml.predict import PREDICTION_COLUMNS

FILTERS = [
    Filtros(),
    Filtros(anio=2022),
    Filtros(sedes=("Sede Norte",)),
    Filtros(propuestas=("Carrera A",), cohortes=(2021, 2022)),
    Filtros(propuestas=("No existe",)),
]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory):
    return build_warehouse(tmp_path_factory.mktemp("riesgo_actual") / "warehouse.duckdb")


def _view_file():
    return next(f for f in layer_files("gold") if f.target == "gold.riesgo_actual")


def test_gold_builds_the_view_and_an_empty_predictions_table_with_predicts_columns(warehouse):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        kind = con.execute(
            "SELECT table_type FROM information_schema.tables "
            "WHERE table_schema = 'gold' AND table_name = 'riesgo_actual'"
        ).fetchone()
        assert kind == ("VIEW",)
        assert dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE ml.predicciones)").fetchall()) == {
            c: t.replace("TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE") for c, t in PREDICTION_COLUMNS.items()
        }
        assert con.execute("SELECT count(*) FROM ml.predicciones").fetchone() == (0,)
        assert con.execute("SELECT DISTINCT fuente FROM gold.riesgo_actual").fetchall() == [("heurística",)]
        tests = con.execute(
            "SELECT test, status FROM dwh_meta.data_test_results WHERE table_name = 'gold.riesgo_actual'"
        ).fetchall()
    assert len(tests) == 2 + len(_view_file().tests) and {s for _, s in tests} == {"pass"}


@pytest.mark.parametrize("predictions", [False, True], ids=["heuristic", "model"])
def test_the_view_and_the_fallback_for_older_files_agree(warehouse, tmp_path, monkeypatch, predictions):
    path = with_predictions(warehouse, tmp_path, PREDICTIONS) if predictions else warehouse
    with q.conectar(path) as connection:
        for f in FILTERS:
            from_view, fuente = q.riesgo(connection, f, limite=None)
            assert fuente == ("modelo" if predictions else "heurística")
            with connection.cursor() as cur:
                anio = f.anio if f.anio is not None else q.opciones(connection)["anio_defecto"]
                sql, params, fuente_respaldo = riesgo_respaldo.base_sin_vista(cur, f, anio)
                fallback = cur.execute(f"{sql} ORDER BY puntaje DESC, alumno_key", params).df()
            assert fuente_respaldo == fuente
            assert len(from_view) == len(fallback), f
            assert list(from_view["alumno_key"]) == list(fallback["alumno_key"]), f
            for column in ("cohorte", "propuesta", "sede", "puntaje", "nivel", "razones", "anio_academico", "time_idx"):
                a = [None if pd.isna(v) else v for v in from_view[column]]
                b = [None if pd.isna(v) else v for v in fallback[column]]
                assert a == b, (f, column)
        # with the view readable, the fallback is not used
        # (the package's `riesgo` is the function: the module is reached by its full name)
        modulo = importlib.import_module("dwh.dashboard.queries.riesgo")
        monkeypatch.setattr(modulo, "base_sin_vista", lambda *a: pytest.fail("fallback used"))
        q.riesgo(connection, Filtros())
        q.distribucion_riesgo(connection, Filtros())


def test_the_views_data_tests_catch_a_bad_probability_and_a_second_source(warehouse, tmp_path):
    path = with_predictions(warehouse, tmp_path, PREDICTIONS)
    with duckdb.connect(str(path)) as con:
        con.execute("INSERT INTO ml.predicciones VALUES (?, 47, 1.5, 'm3', TIMESTAMPTZ '2024-06-01 00:00:00+00')",
                    [key("c3")])  # fmt: skip
        failed = {r.test for r in run_tests(con, [_view_file()]) if r.status == "fail"}
    assert failed == {
        "expression(CASE fuente WHEN 'modelo' THEN puntaje BETWEEN 0 AND 1 ELSE puntaje BETWEEN 0 AND 11 END)"
    }
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert all(r.status == "pass" for r in run_tests(con, [_view_file()]))


def test_an_unreadable_view_falls_back_to_the_tables_that_are_there(warehouse, tmp_path):
    path = copy_of(warehouse, tmp_path, "DROP TABLE gold.gold_tft_inference_frame")
    with q.conectar(path) as connection:
        with pytest.raises(duckdb.Error):
            connection.execute("SELECT * FROM gold.riesgo_actual").fetchall()
        df, fuente = q.riesgo(connection, Filtros())
        assert fuente == "heurística" and len(df) == 11
