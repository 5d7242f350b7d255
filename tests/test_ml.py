"""python -m dwh.ml on a small synthetic university: train, evaluate and predict end to end, reproducible
training, no look-ahead in the models' inputs, the leave-future-out split and the metrics on hand values."""

from __future__ import annotations

import json
import math
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from bronze_support import wh, write_config

pytest.importorskip("pytorch_forecasting", reason="the ML extra (pytorch-forecasting, torch) is not installed")

from dwh.ml import metrics  # noqa: E402
from dwh.ml.data import leave_future_out, read_frames  # noqa: E402

AS_OF = "2025-11-27"
KEYS = ("alumno_key", "time_idx", "target")
# The machine (and CI) has few cores: one thread per process avoids oversubscription (and is faster here).
THREADS = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


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


def run(workdir: Path, module: str, *args: str, **extra: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        env=_env(workdir, **extra),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"{module} {' '.join(args)}:\n{done.stderr[-4000:]}"
    return done


def run_dirs(models: Path) -> list[Path]:
    return sorted(p for p in models.iterdir() if (p / "params.json").exists())


@pytest.fixture(scope="module")
def warehouse(make_synthetic, tmp_path_factory) -> Path:
    """A nightly run on 400 synthetic students (5 years: the TFT needs history before the embargo)."""
    sources = make_synthetic(students=400, sources=1, years=5, seed=23, moodle_years=2)
    workdir = tmp_path_factory.mktemp("ml")
    write_config(workdir / "config.py", {n: (u, "moodle" if n == "moodle" else "guarani") for n, u in sources.items()})
    run(workdir, "dwh.main")
    # a frozen copy of the published warehouse: the end-to-end test republishes the working one
    shutil.copy(workdir / "published" / "warehouse.duckdb", workdir / "frozen.duckdb")
    return workdir


@pytest.fixture(scope="module")
def trained(warehouse) -> Path:
    """`python -m dwh.ml train --epochs 1` with the default published warehouse and models dir."""
    run(warehouse, "dwh.ml", "train", "--epochs", "1", "--batch-size", "64")
    (run_dir,) = run_dirs(warehouse / "models")
    return run_dir


@pytest.fixture
def one_thread():
    """torch and the OpenMP pools (scikit-learn's gradient boosting) on one thread in this process."""
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(limits=1):
        yield
    torch.set_num_threads(before)


# --- end to end ----------------------------------------------------------------------------------------------


def test_train_evaluate_predict_and_publish_end_to_end(warehouse, trained):
    run_dir = trained
    for name in (
        "params.json",
        "metrics.json",
        "roc.png",
        "calibracion.png",
        "tft.ckpt",
        "tft_dataset.pkl",
        "baseline.pkl",
        "validation_predictions.csv",
    ):
        assert (run_dir / name).is_file(), name
    for png in ("roc.png", "calibracion.png"):
        assert (run_dir / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    params = json.loads((run_dir / "params.json").read_text())
    assert params["run_id"] == run_dir.name and params["models"] == ["tft", "baseline"]
    assert params["tft"]["max_epochs"] == 1 and params["horizonte_semestres"] == 2
    # the embargo: training rows' labels (t + horizon) are known before the first validated semester
    assert params["entrenamiento_hasta"] + params["horizonte_semestres"] < params["validacion_desde"]
    assert params["filas_entrenamiento"] > 0 and params["filas_validacion"] > 0

    trained_metrics = json.loads((run_dir / "metrics.json").read_text())
    run(warehouse, "dwh.ml", "evaluate")  # the latest run, again: same numbers
    result = json.loads((run_dir / "metrics.json").read_text())
    assert result == trained_metrics
    assert set(result["modelos"]) == {"tft", "baseline"}
    for model, s in result["modelos"].items():
        assert s["n"] == result["filas_comunes"] > 0
        for key in ("auc", "pr_auc", "brier", "recall_top10", "precision_top10"):
            assert 0 <= s[key] <= 1, (model, key, s[key])
    for model, s in result["todas_las_filas"].items():
        assert 0 <= s["auc"] <= 1, model
    # the baseline scores every validation row; the TFT all but first semesters (no history to encode)
    assert result["todas_las_filas"]["baseline"]["n"] == result["filas_validacion"]
    assert 0 < result["todas_las_filas"]["tft"]["n"] < result["filas_validacion"]
    # the oracle (true hazard) exists only for students the generator still had enrolled: compared there
    oracle = result["con_oracle"]
    assert 0 < oracle["filas"] <= result["filas_comunes"]
    assert set(oracle["modelos"]) == {"tft", "baseline", "oracle"}
    assert all(s["n"] == oracle["filas"] for s in oracle["modelos"].values())
    assert set(oracle["brecha_con_oracle_auc"]) == {"tft", "baseline"}
    for section in ("por_cohorte", "por_carrera"):
        assert set(result[section]) == {"tft", "baseline"}
        for model, groups in result[section].items():
            assert groups and sum(g["n"] for g in groups.values()) == result["filas_comunes"], (section, model)
            for g in groups.values():
                assert g.get("auc") is None or 0 <= g["auc"] <= 1
    assert result["tiempos"]["tft"]["segundos"] > 0 and result["tiempos"]["tft"]["epocas"] == 1
    assert result["tiempos"]["tft"]["ventanas_entrenamiento"] > 0
    assert result["tiempos"]["baseline"]["segundos"] > 0
    assert sorted(result["graficos"]) == ["calibracion.png", "roc.png"]

    run(warehouse, "dwh.ml", "predict", "--model", "tft")
    run(warehouse, "dwh.ml", "predict", "--model", "baseline")
    working = warehouse / "warehouse.duckdb"
    last_rows = set(
        wh(
            working,
            "SELECT alumno_key, max(time_idx) FROM gold.gold_tft_inference_frame GROUP BY alumno_key",
        )
    )
    with_history = set(
        wh(
            working,
            "SELECT alumno_key, max(time_idx) FROM gold.gold_tft_inference_frame GROUP BY alumno_key "
            "HAVING count(*) > 1",
        )
    )
    assert len(last_rows) > len(with_history) > 0
    predictions = {}
    for model in ("tft", "baseline"):
        rows = wh(
            working,
            "SELECT alumno_key, time_idx, probabilidad, modelo_run_id, scored_at FROM ml.predicciones WHERE modelo = ?",
            [model],
        )
        assert all(0 <= p <= 1 for _, _, p, _, _ in rows), model
        assert {r[3] for r in rows} == {run_dir.name}
        assert all(r[4] is not None for r in rows)
        keys = [(k, t) for k, t, *_ in rows]
        assert len(keys) == len(set(keys)), model
        predictions[model] = {(k, t): p for k, t, p, *_ in rows}
    # one row per active student, at its last semester; the TFT cannot score a first semester (no
    # semester to encode): it scores the students with history, and the run's baseline the others
    assert set(predictions["baseline"]) == last_rows
    assert set(predictions["tft"]) == with_history
    fallback = wh(working, "SELECT count(*) FROM ml.predicciones WHERE modelo = 'tft:baseline'")[0][0]
    assert fallback == len(last_rows) - len(with_history)

    run(warehouse, "dwh.main", "--layer", "gold")
    published = warehouse / "published" / "warehouse.duckdb"
    assert wh(published, "SELECT count(*) FROM ml.predicciones")[0][0] == 2 * len(last_rows)
    from dwh.dashboard.queries import Filtros, conectar, riesgo

    con = conectar(published)
    try:
        frame, fuente = riesgo(con, Filtros(), limite=None)
    finally:
        con.close()
    assert fuente == "modelo"
    # each student's latest score: the baseline's, scored last
    assert len(frame) == len(last_rows)
    got = {(k, int(t)): p for k, t, p in frame[["student_key", "time_idx", "puntaje"]].itertuples(index=False)}
    assert got == pytest.approx(predictions["baseline"])


def test_train_without_history_for_the_tft_fails_with_a_clear_message(warehouse, tmp_path, monkeypatch):
    from dwh.ml.__main__ import train
    from dwh.ml.tft import TftSettings

    monkeypatch.setenv("DWH_MODELS_DIR", str(tmp_path / "models"))
    # validating on the last 4 semesters leaves each student at most one semester before the embargo
    with pytest.raises(ValueError, match="no TFT training window"):
        train(warehouse / "frozen.duckdb", TftSettings(max_epochs=1), ("tft", "baseline"), 4)
    assert not (tmp_path / "models").exists() or not any((tmp_path / "models").iterdir())


# --- reproducibility -------------------------------------------------------------------------------------------


def flat(tree: dict, prefix: str = "") -> dict:
    """{'2021': {'auc': 0.7}} -> {'2021.auc': 0.7}; notes (text) are dropped."""
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out |= flat(value, f"{prefix}{key}.")
        elif not isinstance(value, str):
            out[prefix + key] = value
    return out


def test_training_twice_on_the_same_data_gives_the_same_metrics(warehouse, trained, tmp_path):
    """Same data, parameters and seed: the same metrics. The baseline is compared exactly. The TFT (fixed seed,
    deterministic=True, one thread in both runs) also comes out bit for bit identical here, but is compared at
    1e-6: with another thread count CPU kernels sum in another order (2 threads vs 1 moved its scores by 1.5e-7)."""
    models = tmp_path / "models"
    run(
        warehouse,
        "dwh.ml",
        "train",
        "--epochs",
        "1",
        "--batch-size",
        "64",
        "--published",
        str(warehouse / "frozen.duckdb"),
        DWH_MODELS_DIR=str(models),
    )
    (again,) = run_dirs(models)
    first = json.loads((trained / "metrics.json").read_text())
    second = json.loads((again / "metrics.json").read_text())
    assert first["filas_validacion"] == second["filas_validacion"]
    assert first["filas_comunes"] == second["filas_comunes"]
    for section in ("modelos", "todas_las_filas", "por_cohorte", "por_carrera"):
        assert second[section]["baseline"] == first[section]["baseline"], section
        assert flat(second[section]["tft"]) == pytest.approx(flat(first[section]["tft"]), abs=1e-6), section
    assert second["con_oracle"]["modelos"]["oracle"] == first["con_oracle"]["modelos"]["oracle"]
    a = pd.read_csv(trained / "validation_predictions.csv")
    b = pd.read_csv(again / "validation_predictions.csv")
    pd.testing.assert_series_equal(a["baseline"], b["baseline"])
    np.testing.assert_allclose(a["tft"], b["tft"], atol=1e-6)
    assert a["tft"].notna().sum() > 0
    # ... and the seed matters: another one trains another TFT
    run(
        warehouse,
        "dwh.ml",
        "train",
        *("--epochs", "1", "--batch-size", "64", "--models", "tft", "--seed", "7", "--no-oracle"),
        *("--published", str(warehouse / "frozen.duckdb")),
        DWH_MODELS_DIR=str(tmp_path / "seed7"),
    )
    (other,) = run_dirs(tmp_path / "seed7")
    c = pd.read_csv(other / "validation_predictions.csv")
    assert (c["tft"] - a["tft"]).abs().max() > 1e-3


# --- no look-ahead in the models' inputs ------------------------------------------------------------------------


def perturb(frame: pd.DataFrame, rows: pd.Series, seed: int) -> pd.DataFrame:
    """A copy of frame with every column except the keys and the target changed on `rows`.

    Reals get noise and a scale change; categoricals (flags included) another observed value, or a new one.
    """
    rng = np.random.default_rng(seed)
    out = frame.copy()
    n = int(rows.sum())
    for column in frame.columns:
        if column in KEYS:
            continue
        values = frame.loc[rows, column]
        if pd.api.types.is_bool_dtype(values):
            out.loc[rows, column] = ~values
        elif pd.api.types.is_integer_dtype(values):
            out.loc[rows, column] = (values + rng.integers(1, 10, n)).astype(values.dtype)
        elif pd.api.types.is_numeric_dtype(values):
            spread = float(frame[column].std()) or 1.0
            out.loc[rows, column] = values * rng.uniform(0.2, 3.0, n) + rng.normal(0, 2 * spread, n) + spread
        elif pd.api.types.is_datetime64_any_dtype(values):
            out.loc[rows, column] = values + pd.to_timedelta(rng.integers(1, 800, n), unit="D")
        else:
            choices = sorted(set(frame[column].dropna().astype(str)) | {"PERTURBADO"})
            new = []
            for v in values.astype(str):
                others = [c for c in choices if c != v]
                new.append(others[rng.integers(len(others))])
            out.loc[rows, column] = new
    return out


@pytest.fixture(scope="module")
def leak_setup(warehouse, trained):
    """The trained TFT and baseline, the training frame and the (student, t) rows to predict: students with
    a row at t, a semester before it (the TFT needs one to encode) and at least one after it (what is
    perturbed)."""
    frames = read_frames(warehouse / "frozen.duckdb")
    frame = frames.training
    split = leave_future_out(frame, frames.horizon)
    t = split.validation_from
    has = frame.groupby("alumno_key")["time_idx"].agg(["min", "max"])
    # a returner's time away is no training row: the student must have the row at t itself
    at_t = set(frame.loc[frame["time_idx"] == t, "alumno_key"])
    students = has.index[(has["min"] < t) & (has["max"] > t) & has.index.isin(at_t)]
    assert len(students) >= 30
    ours = frame["alumno_key"].isin(students)
    return {"run": trained, "frames": frames, "frame": frame, "t": t, "ours": ours, "students": set(students)}


def tft_scores(setup: dict, frame: pd.DataFrame) -> pd.Series:
    """P(dropout) of the chosen students at t, from the validation windows the training run builds."""
    from pytorch_forecasting import TemporalFusionTransformer, TimeSeriesDataSet

    from dwh.ml import tft

    if "model" not in setup:
        setup["model"] = TemporalFusionTransformer.load_from_checkpoint(setup["run"] / "tft.ckpt", map_location="cpu")
        with open(setup["run"] / "tft_dataset.pkl", "rb") as fh:
            setup["params"] = pickle.load(fh)
    ds = TimeSeriesDataSet.from_parameters(
        setup["params"], frame, predict=False, stop_randomization=True, min_prediction_idx=setup["t"]
    ).filter(tft.one_window_per_target)
    scored = tft.probabilities(setup["model"], ds)
    scored = scored[(scored["time_idx"] == setup["t"]) & scored["alumno_key"].isin(setup["students"])]
    out = scored.set_index("alumno_key")["p"].sort_index()
    assert set(out.index) == setup["students"]
    return out


def baseline_scores(setup: dict, frame: pd.DataFrame) -> pd.Series:
    if "baseline" not in setup:
        with open(setup["run"] / "baseline.pkl", "rb") as fh:
            setup["baseline"] = pickle.load(fh)
    rows = frame[setup["ours"] & (frame["time_idx"] == setup["t"])]
    return setup["baseline"].predict(rows).set_axis(rows["alumno_key"]).sort_index()


def moved(before: pd.Series, after: pd.Series) -> float:
    """Share of the students whose score changed by more than 1e-4."""
    return float(((before - after).abs() > 1e-4).mean())


@pytest.mark.parametrize("model", ["tft", "baseline"])
def test_perturbing_every_input_after_the_prediction_time_does_not_move_the_scores(leak_setup, model, one_thread):
    setup, frame, t = leak_setup, leak_setup["frame"], leak_setup["t"]
    score = tft_scores if model == "tft" else baseline_scores
    before = score(setup, frame)
    assert before.between(0, 1).all()
    after_t = setup["ours"] & (frame["time_idx"] > t)
    # every column of every later row (static, known, meta), twice with different noise
    for seed in (1, 2):
        future = perturb(frame, after_t, seed)
        assert (
            (future.loc[after_t, setup["frames"].features] != frame.loc[after_t, setup["frames"].features]).all().all()
        )
        after = score(setup, future)
        # TFT: batches are built the same way, but float sums may differ in the last bits (1e-7 seen)
        np.testing.assert_allclose(after.to_numpy(), before.to_numpy(), rtol=0, atol=1e-6)
    # labels are never inputs: flipping every label of the students (past ones too) changes nothing
    flipped = frame.copy()
    flipped.loc[setup["ours"], "target"] = np.where(frame.loc[setup["ours"], "target"] == "1", "0", "1")
    np.testing.assert_allclose(score(setup, flipped).to_numpy(), before.to_numpy(), rtol=0, atol=1e-6)
    # positive controls: the row predicted (its features are known at its as-of date) moves the scores
    assert moved(before, score(setup, perturb(frame, setup["ours"] & (frame["time_idx"] == t), 3))) > 0.9
    if model == "tft":
        # ... and so does the semester before it, which the TFT encodes
        assert moved(before, score(setup, perturb(frame, setup["ours"] & (frame["time_idx"] == t - 1), 4))) > 0.9


# --- the split and the metrics ---------------------------------------------------------------------------------


def test_leave_future_out_keeps_an_embargo_of_the_label_horizon():
    frame = pd.DataFrame(
        {
            "alumno_key": ["a"] * 10 + ["b"] * 6,
            "time_idx": list(range(40, 50)) + list(range(44, 50)),
        }
    )
    split = leave_future_out(frame, horizon=2, validation_semesters=2)
    assert (split.validation_from, split.cutoff) == (48, 47)
    assert sorted(frame.loc[split.validation_mask, "time_idx"]) == [48, 48, 49, 49]
    assert sorted(frame.loc[split.train_mask, "time_idx"]) == [40, 41, 42, 43, 44, 44, 45, 45]
    # training rows: time_idx <= validation_from - 1 - horizon, so their labels (t+1 .. t+horizon) are known
    # before the first validated semester; rows 46 and 47 are the embargo, in neither set
    assert frame.loc[split.train_mask, "time_idx"].max() == split.validation_from - 1 - 2
    assert frame.loc[split.train_mask, "time_idx"].max() + 2 < split.validation_from
    assert not (split.train_mask & split.validation_mask).any()
    assert sorted(frame.loc[~split.train_mask & ~split.validation_mask, "time_idx"]) == [46, 46, 47, 47]

    wider = leave_future_out(frame, horizon=3, validation_semesters=1)
    assert (wider.validation_from, wider.cutoff) == (49, 48)
    assert frame.loc[wider.train_mask, "time_idx"].max() == 45
    assert sorted(frame.loc[wider.validation_mask, "time_idx"]) == [49, 49]

    with pytest.raises(ValueError, match="not enough history"):
        leave_future_out(frame[frame["time_idx"] >= 46], horizon=2, validation_semesters=2)


def test_scores_on_a_hand_computed_example():
    y = np.array([1, 0, 1, 0, 0, 1, 0, 0, 0, 0])
    p = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05])
    s = metrics.scores(y, p)
    assert s["n"] == 10 and s["positivos"] == 3 and s["tasa_base"] == pytest.approx(0.3)
    # pairs (positive, negative) ranked right: 0.9 beats 7 negatives, 0.7 beats 6, 0.4 beats 4 -> 17 of 21
    assert s["auc"] == pytest.approx(17 / 21)
    # precision at each positive: 1/1, 2/3, 3/6
    assert s["pr_auc"] == pytest.approx((1 + 2 / 3 + 3 / 6) / 3)
    squared = [0.1, 0.8, 0.3, 0.6, 0.5, 0.6, 0.3, 0.2, 0.1, 0.05]
    assert s["brier"] == pytest.approx(sum(e * e for e in squared) / 10)
    # top 10% of 10 rows = 1 row, the 0.9, a positive: 1 of 3 positives found, 1 of 1 flagged is right
    assert s["recall_top10"] == pytest.approx(1 / 3) and s["precision_top10"] == 1.0

    # the best-scored row a negative: nothing found
    s = metrics.scores(y, p[::-1])
    assert s["recall_top10"] == 0 and s["precision_top10"] == 0
    assert s["auc"] == pytest.approx(4 / 21)

    # 25 rows: the top 10% is ceil(2.5) = 3 rows; 2 of them positives, of 4 positives in all
    y = np.array([1, 0, 1] + [1, 1] + [0] * 20)
    p = np.linspace(1, 0, 25)
    s = metrics.scores(y, p)
    assert math.ceil(0.1 * 25) == 3
    assert s["recall_top10"] == pytest.approx(2 / 4) and s["precision_top10"] == pytest.approx(2 / 3)
    # negatives above a positive: the 0 at rank 2 is above the positives at ranks 3, 4, 5
    assert s["auc"] == pytest.approx(1 - 3 / (4 * 21))

    # one class only: no ranking metric
    s = metrics.scores(np.zeros(5), np.linspace(0, 1, 5))
    assert s["n"] == 5 and s["positivos"] == 0 and s["auc"] is None and s["recall_top10"] is None


def test_metrics_by_group_report_small_groups_with_their_size_only():
    frame = pd.DataFrame(
        {
            "cohorte": ["2020"] * 30 + ["2021"] * 5,
            "y": [1, 0] * 15 + [1, 0, 0, 0, 0],
            "p": [0.8, 0.2] * 15 + [0.5] * 5,
        }
    )
    out = metrics.by_group(frame, "cohorte", "p")
    assert out["2020"]["n"] == 30 and out["2020"]["auc"] == pytest.approx(1.0)
    assert out["2021"] == {"n": 5, "nota": "menos de 30 filas"}
