"""python -m dwh.ml on a small synthetic university, end to end: train, evaluate (strata, intervals, oracle,
card), predict (calibrated probabilities, reasons, the card in the warehouse) and the dashboard; no row of
the test semesters reaches fitting or selection; a planted leak fires the alarm; reproducible training."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from bronze_support import wh, write_config

pytest.importorskip("pytorch_forecasting", reason="the ML extra (pytorch-forecasting, torch) is not installed")

from dwh.ml import strata  # noqa: E402
from dwh.ml.data import read_frames  # noqa: E402
from dwh.ml.evaluate import LeakageAlarm, evaluate  # noqa: E402
from dwh.ml.split import time_split  # noqa: E402
from dwh.ml.train import fit_and_choose, make_model, train  # noqa: E402

AS_OF = "2025-11-27"
# The machine (and CI) has few cores: one thread per process avoids oversubscription (and is faster here).
THREADS = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
FAST_TFT = ("--epochs", "1", "--batch-size", "64", "--hidden", "8")
FAST_EVAL = ("--bootstrap", "100")


def _env(workdir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DWH_", "DLT__", "LOAD__", "EXTRACT__"))}
    env.update(
        THREADS,
        DWH_CONFIG=str(workdir / "config.py"),
        DWH_DUCKDB_PATH=str(workdir / "warehouse.duckdb"),
        DWH_AS_OF=AS_OF,
        DWH_HASH_SALT="ml-salt",
    )
    env.update(extra)
    return env


def run(workdir: Path, module: str, *args: str, expect: int = 0, **extra: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        env=_env(workdir, **extra),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == expect, f"{module} {' '.join(args)} exited {done.returncode}:\n{done.stderr[-4000:]}"
    return done


def run_dirs(models: Path) -> list[Path]:
    return sorted(p for p in models.iterdir() if (p / "params.json").exists())


@pytest.fixture(scope="module")
def warehouse(make_synthetic, tmp_path_factory) -> Path:
    """A nightly run on 600 synthetic students over 7 years: 11 labelled semesters, enough to fit (3), choose
    (2) and test (2) with embargoes of 2 between them."""
    sources = make_synthetic(students=600, sources=1, years=7, seed=23, moodle_years=2)
    workdir = tmp_path_factory.mktemp("ml")
    write_config(workdir / "config.py", {n: (u, "moodle" if n == "moodle" else "guarani") for n, u in sources.items()})
    run(workdir, "dwh.main")
    # a frozen copy of the published warehouse: the end-to-end test republishes the working one
    shutil.copy(workdir / "published" / "warehouse.duckdb", workdir / "frozen.duckdb")
    return workdir


@pytest.fixture(scope="module")
def trained(warehouse) -> Path:
    """`python -m dwh.ml train` (both models, the oracle on) with the default published warehouse and models dir."""
    run(warehouse, "dwh.ml", "train", *FAST_TFT, *FAST_EVAL)
    (run_dir,) = run_dirs(warehouse / "models")
    return run_dir


@pytest.fixture(scope="module")
def frames(warehouse):
    return read_frames(warehouse / "frozen.duckdb")


# --- end to end ----------------------------------------------------------------------------------------------


def test_train_writes_the_run_and_evaluate_the_figures(trained, monkeypatch):
    run_dir = trained
    for name in (
        "params.json",
        "metrics.json",
        "MODEL_CARD.md",
        "roc.png",
        "calibracion.png",
        "predicciones_prueba.csv",
    ):
        assert (run_dir / name).is_file(), name
    for model in ("arbol", "tft"):
        assert (run_dir / f"calibrador_{model}.pkl").is_file()
    assert (run_dir / "roc.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    params = json.loads((run_dir / "params.json").read_text())
    assert params["run_id"] == run_dir.name and params["models"] == ["arbol", "tft"]
    split = params["particion"]
    # 600 students from 2019 as of 2025-11-27: labelled 38 (2019-1) .. 48 (2024-1)
    assert params["semestres_etiquetados"] == [38, 48]
    assert split == {
        "horizon": 2,
        "fit_last": 40,
        "select_first": 43,
        "select_last": 44,
        "test_first": 47,
        "test_last": 48,
    }
    assert params["nombres_semestres"]["47"] == "2023-2" and params["nombres_semestres"]["48"] == "2024-1"
    for model in ("arbol", "tft"):
        fit = params["ajustes"][model]
        assert fit["segundos"] > 0 and fit["pico_rss_mb"] > 0

    result = json.loads((run_dir / "metrics.json").read_text())
    assert set(result["semestres"]) == {"47", "48", "todos"}
    test_rows = pd.read_csv(run_dir / "predicciones_prueba.csv")
    assert len(test_rows) == result["filas_prueba"] == params["filas"]["prueba"]
    for key, section in result["semestres"].items():
        rows = test_rows if key == "todos" else test_rows[test_rows["time_idx"] == int(key)]
        figures = section["estratos"]
        assert set(figures) == {"todas", "ya_ausente", "no_inscripto", "pronostico", "comprometido"}
        # the strata partition the rows; comprometido is a part of pronostico
        assert figures["todas"]["arbol"]["n"] == len(rows)
        assert sum(figures[s]["arbol"]["n"] for s in strata.STRATA) == len(rows)
        assert figures["comprometido"]["arbol"]["n"] <= figures["pronostico"]["arbol"]["n"]
        for model in ("arbol", "tft", "reglas", "oraculo"):
            whole = figures["todas"][model]
            assert whole["positivos"] == int(rows["y"].sum()), (key, model)
            low, high = whole["auc"]["ic95"]
            assert 0 <= low <= whole["auc"]["valor"] <= high <= 1, (key, model)
        assert set(section["partes"]) == {"abandono", "perdida_regularidad"}
    # the second cuatrimestre has no next enrolment open at 31 December: no `no_inscripto` rows
    assert result["semestres"]["47"]["estratos"]["no_inscripto"]["arbol"]["n"] == 0
    # the rules cannot rank within pronostico: constant there
    assert result["semestres"]["todos"]["estratos"]["pronostico"]["reglas"]["auc"]["valor"] == 0.5
    assert result["oraculo"]["replicas"] == 200 and result["oraculo"]["filas_con_oracle"] > 0
    assert result["alarmas_fuga"] == []
    assert result["modelo_por_defecto"] in ("arbol", "tft") and result["motivo_modelo_por_defecto"]
    assert {"arbol_menos_reglas", "tft_menos_reglas", "tft_menos_arbol", "oraculo_menos_arbol"} <= set(
        result["comparaciones_pronostico"]
    )
    groups = result["grupos"]
    assert groups["modelo"] == result["modelo_por_defecto"]
    for column in ("sexo", "tipo_ingreso", "sede", "propuesta"):
        assert sum(g["n"] for g in groups[column].values()) == len(test_rows), column
    card = (run_dir / "MODEL_CARD.md").read_text()
    for text in ("# Ficha del modelo", "## Qué predice", "## Datos", "2023-2", "pronostico", "## Límites conocidos"):
        assert text in card, text
    # evaluate again, in this process (the oracle finds the sources through DWH_CONFIG): the same figures
    # (and rebuilds the student keys with the pipeline's key: here its salt)
    for name, value in _env(trained.parents[1]).items():
        if name.startswith("DWH_"):
            monkeypatch.setenv(name, value)
    again = evaluate(run_dir, trained.parents[1] / "frozen.duckdb", bootstrap=100)
    assert json.loads(json.dumps(again, default=str)) == result


def test_predict_scores_everyone_at_risk_with_reasons_and_publishes_them(warehouse, trained):
    run(warehouse, "dwh.ml", "predict")  # the run's default model
    run(warehouse, "dwh.ml", "predict", "--model", "tft")
    working = warehouse / "warehouse.duckdb"
    last_rows = set(
        wh(
            working,
            "SELECT alumno_key, max(time_idx) FROM gold.gold_tft_inference_frame WHERE en_riesgo GROUP BY alumno_key",
        )
    )
    first_semester = {k for k, n in wh(working, "SELECT alumno_key, count(*) FROM gold.gold_tft_inference_frame "
                                                "WHERE en_riesgo GROUP BY 1") if n == 1}  # fmt: skip
    assert first_semester, "the fixture has students in their first semester"
    default = json.loads((trained / "metrics.json").read_text())["modelo_por_defecto"]
    descriptions = {
        d for (d,) in wh(working, "SELECT descripcion FROM gold.gold_tft_feature_roles WHERE descripcion IS NOT NULL")
    }
    columns = {c for (c,) in wh(working, "SELECT column_name FROM gold.gold_tft_feature_roles")}
    for model in {default, "tft"}:
        rows = pd.DataFrame(
            wh(
                working,
                "SELECT alumno_key, time_idx, probabilidad, probabilidad_cruda, run_id, horizonte, razon_1, peso_1, "
                "razon_2, peso_2, razon_3, peso_3 FROM ml.predicciones WHERE modelo = ?",
                [model],
            ),
            columns=["k", "t", "p", "raw", "run", "h", "r1", "w1", "r2", "w2", "r3", "w3"],
        )
        # one row per student at risk, at their last semester: first-semester students included, by the model
        assert set(zip(rows["k"], rows["t"])) == last_rows, model
        assert rows["p"].between(0, 1).all() and rows["raw"].between(0, 1).all()
        assert (rows["run"] == trained.name).all() and (rows["h"] == 2).all()
        for r, w in (("r1", "w1"), ("r2", "w2"), ("r3", "w3")):
            assert rows[r].isin(descriptions).all(), (model, r)  # Spanish names, never a column name
            assert not rows[r].isin(columns).any()
            assert rows[w].notna().all()
        assert (rows[["r1", "r2", "r3"]].nunique(axis=1) == 3).all()
        if model == "arbol":
            # tree contributions come strongest first
            assert (rows["w1"].abs() >= rows["w2"].abs() - 1e-12).all() and (
                rows["w2"].abs() >= rows["w3"].abs() - 1e-12
            ).all()
    assert wh(working, "SELECT count(*) FROM ml.predicciones WHERE modelo LIKE '%:%'")[0][0] == 0  # no fallback model
    assert wh(working, "SELECT run_id, modelo_por_defecto FROM ml.fichas_modelo") == [(trained.name, default)]

    run(warehouse, "dwh.main", "--layer", "gold")
    published = warehouse / "published" / "warehouse.duckdb"
    from dwh.dashboard.queries import Filtros, conectar, ficha_modelo, riesgo

    con = conectar(published)
    try:
        frame, fuente = riesgo(con, Filtros(), limite=None)
        card = ficha_modelo(con)
    finally:
        con.close()
    assert fuente == "modelo" and len(frame) == len(last_rows)
    assert frame["razones"].notna().all() and frame["razones"].str.count(";").eq(2).all()
    assert card is not None and card[0] == trained.name and card[1].startswith("# Ficha del modelo")


def test_predict_needs_an_evaluated_run_or_a_model(warehouse, trained, tmp_path):
    bare = tmp_path / "bare"
    shutil.copytree(trained, bare)
    (bare / "metrics.json").unlink()
    done = run(warehouse, "dwh.ml", "predict", "--run", str(bare), expect=1)
    assert "has no metrics.json" in done.stderr
    done = run(warehouse, "dwh.ml", "train", "--models", "nope", expect=2)
    assert "unknown nope" in done.stderr


# --- nothing of the test semesters reaches fitting or selection ---------------------------------------------------


def perturb_after(frame: pd.DataFrame, after: int, seed: int) -> pd.DataFrame:
    """A copy with every input changed and every label flipped on the rows after `after`."""
    rng = np.random.default_rng(seed)
    out = frame.copy()
    rows = out["time_idx"] > after
    n = int(rows.sum())
    for column in out.columns:
        if column in ("alumno_key", "time_idx"):
            continue
        values = out.loc[rows, column]
        if pd.api.types.is_float_dtype(values):
            out.loc[rows, column] = values * rng.uniform(0.2, 3.0, n) + rng.normal(0, 5, n) + 1
        elif column in ("target", "abandono", "perdida_regularidad") or set(values.unique()) <= {"0", "1"}:
            out.loc[rows, column] = np.where(values == "1", "0", "1")
        elif pd.api.types.is_object_dtype(values):
            out.loc[rows, column] = "PERTURBADO"
    return out


@pytest.mark.parametrize("model_name", ["arbol", "tft"])
def test_no_row_after_the_selection_semesters_reaches_fitting_or_selection(frames, model_name, tmp_path):
    from dwh.ml.tft import TftSettings

    frame = frames.training
    split = time_split(frame, frames.horizon)
    changed = perturb_after(frame, split.select_last, seed=1)
    assert (changed.loc[split.test_rows(frame), "target"] != frame.loc[split.test_rows(frame), "target"]).all()
    settings = TftSettings(max_epochs=1, batch_size=64, hidden_size=8)
    fitted = {}
    for name, data in (("original", frame), ("perturbed", changed)):
        model = make_model(model_name, settings)
        (tmp_path / name).mkdir()
        info, calibrator = fit_and_choose(data, split, frames.inputs, model, tmp_path / name, "platt")
        select = frame.loc[split.select_rows(frame), ["alumno_key", "time_idx"]]
        fitted[name] = (model.predict(split.history(frame), select), calibrator.params)
    np.testing.assert_allclose(fitted["perturbed"][0], fitted["original"][0], rtol=0, atol=1e-6)
    assert fitted["perturbed"][1] == pytest.approx(fitted["original"][1], abs=1e-6)


# --- the leakage alarm ---------------------------------------------------------------------------------------


def test_a_planted_leak_fires_the_alarm(warehouse, tmp_path, monkeypatch):
    """A classic bug planted: each row also gets the activity and regularity of semester t + 2, the one its
    label is decided in. The tree then ranks `pronostico` beyond what the generator's own truth allows."""
    planted = read_frames(warehouse / "frozen.duckdb")
    with duckdb.connect(str(warehouse / "frozen.duckdb"), read_only=True) as con:
        later = con.execute(
            "SELECT alumno_key, time_idx - 2 AS time_idx, activo || perdio_regularidad AS despues "
            "FROM gold.gold_tft_temporal_features"
        ).df()
    planted.training = planted.training.merge(later, on=["alumno_key", "time_idx"], how="left")
    planted.training["despues"] = planted.training["despues"].fillna("ninguno")
    planted.inputs.roles["time_varying_unknown_categoricals"].append("despues")
    run_dir = tmp_path / "leak"
    run_dir.mkdir()
    for name, value in _env(warehouse).items():
        monkeypatch.setenv(name, value)
    train(warehouse / "frozen.duckdb", ("arbol",), frames=planted, run_dir=run_dir)
    with pytest.raises(LeakageAlarm, match="estrato pronostico"):
        evaluate(run_dir, warehouse / "frozen.duckdb", bootstrap=100)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["alarmas_fuga"] and "ALARMA DE FUGA" in (run_dir / "MODEL_CARD.md").read_text()
    # the command line says it on stderr and exits 1
    done = run(warehouse, "dwh.ml", "evaluate", "--run", str(run_dir), "--bootstrap", "100",
               "--published", str(warehouse / "frozen.duckdb"), expect=1)  # fmt: skip
    assert "leakage alarm" in done.stderr and "estrato pronostico" in done.stderr


# --- reproducibility -------------------------------------------------------------------------------------------


def test_training_twice_on_the_same_data_gives_the_same_scores(warehouse, trained, tmp_path):
    """Same data, parameters and seed: the same scores (the tree exactly; the TFT at 1e-6, since CPU kernels sum
    in another order with another thread count); another seed trains another TFT."""
    models = tmp_path / "models"
    frozen = str(warehouse / "frozen.duckdb")
    run(
        warehouse,
        "dwh.ml",
        "train",
        *FAST_TFT,
        *FAST_EVAL,
        "--no-oracle",
        "--published",
        frozen,
        DWH_MODELS_DIR=str(models),
    )
    (again,) = run_dirs(models)
    a = pd.read_csv(trained / "predicciones_prueba.csv")
    b = pd.read_csv(again / "predicciones_prueba.csv")
    pd.testing.assert_series_equal(a["arbol"], b["arbol"])
    np.testing.assert_allclose(a["tft"], b["tft"], atol=1e-6)
    run(warehouse, "dwh.ml", "train", *FAST_TFT, *FAST_EVAL, "--no-oracle", "--models", "tft", "--seed", "7",
        "--published", frozen, DWH_MODELS_DIR=str(tmp_path / "seed7"))  # fmt: skip
    (other,) = run_dirs(tmp_path / "seed7")
    c = pd.read_csv(other / "predicciones_prueba.csv")
    assert (c["tft_crudo"] - a["tft_crudo"]).abs().max() > 1e-3


def test_too_little_history_for_the_split_is_a_clear_error(warehouse, tmp_path):
    args = ("train", "--models", "arbol", "--test-semesters", "5", "--no-oracle")
    frozen = str(warehouse / "frozen.duckdb")
    done = run(warehouse, "dwh.ml", *args, "--published", frozen, DWH_MODELS_DIR=str(tmp_path / "m"), expect=1)
    assert "not enough labelled history for the time split" in done.stderr
