"""The TFT dropout model (dwh.ml.tft) on a small synthetic warehouse: its windows on hand values, no look-ahead,
first-semester students, which labels it learns from, reproducibility, save/load and signed reasons."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from bronze_support import write_config

pytest.importorskip("pytorch_forecasting", reason="the ML extra (pytorch-forecasting, torch) is not installed")

from dwh.ml.model import REASON_COLUMNS, Inputs  # noqa: E402
from dwh.ml.tft import (  # noqa: E402
    TftModel,
    TftSettings,
    class_weights,
    constant_inputs,
    heavy_tailed,
    positive_weight,
    stretches,
    windows,
)

AS_OF = "2025-11-27"
THREADS = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
# small and quick: the tests are about what the model sees, not how well it learns
SETTINGS = dict(max_encoder_length=4, hidden_size=8, attention_heads=1, hidden_continuous_size=4, batch_size=128)
KEYS = ["alumno_key", "time_idx"]


# --- a warehouse and its feature store -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def published(make_synthetic, tmp_path_factory) -> Path:
    """A nightly run on 300 synthetic students over 8 years (history before the embargo to fit on)."""
    sources = make_synthetic(students=300, sources=1, years=8, seed=31, moodle_years=2)
    workdir = tmp_path_factory.mktemp("tft")
    write_config(workdir / "config.py", {n: (u, "moodle" if n == "moodle" else "guarani") for n, u in sources.items()})
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DWH_", "DLT__", "LOAD__", "EXTRACT__"))}
    env |= THREADS | {
        "DWH_CONFIG": str(workdir / "config.py"),
        "DWH_DUCKDB_PATH": str(workdir / "warehouse.duckdb"),
        "DWH_AS_OF": AS_OF,
        "DWH_HASH_SALT": "tft-salt",
    }
    done = subprocess.run([sys.executable, "-m", "dwh.main"], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    return workdir / "published" / "warehouse.duckdb"


@pytest.fixture(scope="module")
def store(published) -> tuple[pd.DataFrame, Inputs, pd.DataFrame]:
    """The training table, the Inputs read from gold, and the inference frame."""
    with duckdb.connect(str(published), read_only=True) as con:
        frame = con.execute("SELECT * FROM gold.gold_tft_training_dataset ORDER BY alumno_key, time_idx").df()
        roles_rows = con.execute(
            "SELECT column_name, tft_role, descripcion FROM gold.gold_tft_feature_roles ORDER BY posicion"
        ).fetchall()
        calendar = con.execute("SELECT * FROM gold.gold_tft_known_future ORDER BY time_idx").df()
        horizon = con.execute(
            "SELECT CAST(valor AS INTEGER) FROM gold.seed_label_params WHERE nombre = 'horizonte_semestres'"
        ).fetchone()[0]
        inference = con.execute("SELECT * FROM gold.gold_tft_inference_frame ORDER BY alumno_key, time_idx").df()
    roles: dict[str, list[str]] = {}
    for column, role, _ in roles_rows:
        roles.setdefault(role, []).append(column)
    descriptions = {c: d for c, _, d in roles_rows if d}
    return frame, Inputs(roles, descriptions, calendar, int(horizon)), inference


@pytest.fixture(scope="module")
def split(store) -> dict:
    """test = the last labelled semester; embargo = the horizon; select = the semester before the embargo;
    fit = rows whose labels were known before it; history = nothing after the select semester."""
    frame, inputs, _ = store
    last = int(frame["time_idx"].max())
    select_semester = last - inputs.horizon - 1
    history = frame[frame["time_idx"] <= select_semester]
    return {
        "history": history,
        "fit": history["time_idx"] <= select_semester - 1 - inputs.horizon,
        "select": history["time_idx"] == select_semester,
        "test": frame[frame["time_idx"] == last],
    }


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """torch and the OpenMP pools on one thread in this process (the machine has 2 cores)."""
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(limits=1):
        yield
    torch.set_num_threads(before)


def fit(store, split, workdir: Path, history: pd.DataFrame | None = None, **settings) -> TftModel:
    _, inputs, _ = store
    history = split["history"] if history is None else history
    model = TftModel(TftSettings(**(SETTINGS | settings)))
    model.fit(history, split["fit"], split["select"], inputs, workdir)
    return model


@pytest.fixture(scope="module")
def model(store, split, tmp_path_factory) -> TftModel:
    """Two epochs: the select loss chooses between two checkpoints."""
    return fit(store, split, tmp_path_factory.mktemp("fit"), max_epochs=2)


@pytest.fixture(scope="module")
def one_epoch(store, split, tmp_path_factory) -> TftModel:
    return fit(store, split, tmp_path_factory.mktemp("fit1"), max_epochs=1)


def rows_of(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[KEYS].reset_index(drop=True)


def perturbed(frame: pd.DataFrame, columns: list[str], categoricals: list[str]) -> pd.DataFrame:
    """Every value of `columns` changed: reals scaled and shifted, categories moved to another seen one."""
    out = frame.copy()
    for column in columns:
        if column in categoricals:
            seen = sorted(out[column].astype(str).unique())
            following = {v: seen[(i + 1) % len(seen)] if len(seen) > 1 else "PERTURBADO" for i, v in enumerate(seen)}
            out[column] = out[column].astype(str).map(following)
        else:
            out[column] = out[column] * 1.7 + 3.0
    return out


def flipped(frame: pd.DataFrame, mask: pd.Series | None = None) -> pd.DataFrame:
    out = frame.copy()
    mask = pd.Series(True, index=out.index) if mask is None else mask
    out.loc[mask, "target"] = np.where(out.loc[mask, "target"] == "1", "0", "1")
    return out


# --- the windows on hand values --------------------------------------------------------------------------------


def hand_history() -> pd.DataFrame:
    """A: semesters 10, 11, 12. B: 10, 11, away 12-13, back 14, 15."""
    return pd.DataFrame(
        {
            "alumno_key": ["A", "A", "A", "B", "B", "B", "B"],
            "time_idx": [10, 11, 12, 10, 11, 14, 15],
            "target": ["0", "0", "1", "0", "1", "0", "1"],
            "sexo": ["F", "F", "F", "M", "M", "M", "M"],
            "cuatrimestre": ["1", "2", "1", "1", "2", "1", "2"],
            "semestres_desde_ingreso": [0.0, 1.0, 2.0, 0.0, 1.0, 4.0, 5.0],
            "aprobadas": [1.0, 2.0, 3.0, 10.0, 20.0, 30.0, 40.0],
        }
    )


HAND_CALENDAR = pd.DataFrame({"time_idx": range(10, 17), "cuatrimestre": ["1", "2"] * 3 + ["1"]})
HAND_KNOWN = ["cuatrimestre", "semestres_desde_ingreso"]


def test_stretches_split_a_returner_at_the_gap():
    assert stretches(hand_history()).tolist() == [1, 1, 1, 2, 2, 3, 3]


def test_windows_on_a_hand_made_frame():
    history = hand_history()
    scored = np.ones(len(history), dtype=bool)
    w = windows(history, scored, HAND_CALENDAR, HAND_KNOWN, max_encoder_length=2, weights=np.arange(1.0, 8.0))
    by_window = {name: steps.reset_index(drop=True) for name, steps in w.groupby("_ventana")}
    assert sorted(by_window) == ["A@10", "A@11", "A@12", "B@10", "B@11", "B@14", "B@15"]

    # A@12: encoder = rows 11 and 12 (L = 2), decoder = 13 with row 12's label and weight and 13's calendar
    a12 = by_window["A@12"]
    assert a12["time_idx"].tolist() == [11, 12, 13]
    assert a12["target"].tolist() == ["0", "0", "1"]  # the label sits on the decoder step only
    assert a12["_peso"].tolist() == [0.0, 0.0, 3.0]
    assert a12["cuatrimestre"].tolist() == ["2", "1", "2"]  # 13 from the calendar
    assert a12["semestres_desde_ingreso"].tolist() == [1.0, 2.0, 3.0]  # the counter goes on
    assert a12["aprobadas"].tolist() == [2.0, 3.0, 3.0]  # the decoder step's observations are row 12's
    assert a12["sexo"].tolist() == ["F", "F", "F"]

    # a first semester: encoder = its row, decoder = the next semester
    assert by_window["A@10"]["time_idx"].tolist() == [10, 11]
    assert by_window["A@10"]["target"].tolist() == ["0", "0"]

    # B@11 is decoded into 12, where B was away: calendar only; the real row 12 does not exist
    b11 = by_window["B@11"]
    assert b11["time_idx"].tolist() == [10, 11, 12] and b11["target"].tolist() == ["0", "0", "1"]
    assert b11["cuatrimestre"].tolist() == ["1", "2", "1"] and b11["aprobadas"].tolist() == [10.0, 20.0, 20.0]

    # B@14: the returner's series restarts at the gap (no invented rows 12-13), so the encoder is row 14 only
    b14 = by_window["B@14"]
    assert b14["time_idx"].tolist() == [14, 15]
    assert b14["aprobadas"].tolist() == [30.0, 30.0] and b14["semestres_desde_ingreso"].tolist() == [4.0, 5.0]
    assert b14["target"].tolist() == ["0", "0"] and b14["_peso"].tolist() == [0.0, 6.0]

    # B@15 (the last row) is decoded into 16, which only the calendar has
    assert by_window["B@15"]["time_idx"].tolist() == [14, 15, 16]
    assert by_window["B@15"]["target"].tolist() == ["0", "0", "1"]

    # only the scored rows get a window; a later row never enters an earlier row's window
    only = windows(history, history["time_idx"].eq(11).to_numpy(), HAND_CALENDAR, HAND_KNOWN, 8)
    assert sorted(only["_ventana"].unique()) == ["A@11", "B@11"]
    assert only.groupby("_ventana")["time_idx"].max().tolist() == [12, 12]
    assert only["_peso"].tolist() == [0.0, 0.0, 1.0, 0.0, 0.0, 1.0]


def test_class_weights_and_what_the_fit_rows_decide():
    history = hand_history()
    # fit rows A10, A11, A12, B10: 1 positive, 3 negatives; the select row B11 weighs its positive the same
    fit_rows = np.array([True, True, True, True, False, False, False])
    weights, ratio = class_weights(history["target"], fit_rows)
    assert ratio == 3.0 and weights.tolist() == [1.0, 1.0, 3.0, 1.0, 3.0, 1.0, 3.0]
    w = windows(history, fit_rows, HAND_CALENDAR, HAND_KNOWN, 2, weights)
    decoder = w[w["_peso"] > 0]
    assert decoder["_ventana"].tolist() == ["A@10", "A@11", "A@12", "B@10"]
    assert decoder["_peso"].tolist() == [1.0, 1.0, 3.0, 1.0]
    assert decoder["target"].tolist() == ["0", "0", "1", "0"]
    assert (w.loc[w["_peso"] == 0, "target"] == "0").all()
    with pytest.raises(ValueError, match="single class"):
        positive_weight(pd.Series(["0", "0"]))
    frame = pd.DataFrame(
        {
            "cuenta": [0.0] * 17 + [1.0, 2.0, 100.0],  # a long tail: skewness about 4.4
            "nota": np.linspace(1, 10, 20),  # symmetric
            "saldo": [-5.0] + [0.0] * 18 + [100.0],  # skewed but negative: no log
            "fijo": [3.0] * 20,
            "sede": ["X"] * 20,
        }
    )
    assert heavy_tailed(frame, ["cuenta", "nota", "saldo"]) == ["cuenta"]
    assert constant_inputs(frame, ["cuenta", "nota", "fijo", "sede"]) == ["fijo", "sede"]


def test_a_semester_missing_from_the_calendar_is_an_error():
    history = hand_history()
    with pytest.raises(ValueError, match=r"\[16\]"):
        windows(history, np.ones(len(history), dtype=bool), HAND_CALENDAR.iloc[:-1], HAND_KNOWN, 4)


# --- on the warehouse ------------------------------------------------------------------------------------------


def test_inputs_come_from_the_roles_and_the_decoder_sees_only_the_calendar(store, model):
    _, inputs, _ = store
    net = model.network
    known = inputs.roles.get("time_varying_known_categoricals", []) + inputs.roles.get("time_varying_known_reals", [])
    unknown = inputs.roles.get("time_varying_unknown_categoricals", []) + inputs.roles.get(
        "time_varying_unknown_reals", []
    )
    static = inputs.roles.get("static_categoricals", []) + inputs.roles.get("static_reals", [])
    assert set(net.decoder_variables) <= set(known) | {"relative_time_idx"}
    assert set(net.encoder_variables) == (set(known) | set(unknown) | {"relative_time_idx"}) - set(model.dropped)
    assert set(net.static_variables) == (set(static) | {"encoder_length"}) - set(model.dropped)
    everything = set(net.static_variables) | set(net.encoder_variables)
    assert not everything & {"target", "cohorte", "abandono", "perdida_regularidad", "anio_academico"}
    # the TFT's own inputs come from the roles; what was left out is constant on the fit rows
    assert set(model.features) == set(inputs.features) - set(model.dropped)
    assert set(model.log_columns) <= set(model.features) - set(model.categoricals)
    assert "cohorte" not in model.features


def test_no_look_ahead(store, model):
    """Scoring row t reads rows <= t and the calendar of t+1: everything of the rows after t+1, the
    observations of row t+1 and every label may change without moving its score; row t's may."""
    frame, inputs, _ = store
    unknown = inputs.roles.get("time_varying_unknown_categoricals", []) + inputs.roles.get(
        "time_varying_unknown_reals", []
    )
    # one row t per student that has a next row t+1 and, mostly, later ones: its median row
    has_next = frame.groupby("alumno_key")["time_idx"].shift(-1) == frame["time_idx"] + 1
    candidates = frame[has_next]
    middle = candidates.groupby("alumno_key").cumcount() == candidates.groupby("alumno_key")["time_idx"].transform(
        lambda s: len(s) // 2
    )
    scored = candidates[middle]
    assert len(scored) > 50
    t = frame["alumno_key"].map(scored.set_index("alumno_key")["time_idx"]).to_numpy()
    later = frame["time_idx"].to_numpy() > t + 1
    next_row = frame["time_idx"].to_numpy() == t + 1
    assert later.sum() > 0 and next_row.sum() == len(scored)

    before = model.predict(frame, rows_of(scored))
    assert np.isfinite(before).all() and ((before > 0) & (before < 1)).all()
    changed = flipped(frame)
    changed.loc[later] = perturbed(frame.loc[later], inputs.features, inputs.categoricals)
    changed.loc[next_row] = perturbed(frame.loc[next_row], unknown, inputs.categoricals)
    after = model.predict(changed, rows_of(scored))
    np.testing.assert_allclose(after, before, atol=1e-6, rtol=0)

    # positive control: row t's own observations do move its score
    own = frame.copy()
    at_t = frame["time_idx"].to_numpy() == t
    own.loc[at_t] = perturbed(frame.loc[at_t], unknown, inputs.categoricals)
    moved = model.predict(own, rows_of(scored))
    assert np.abs(moved - before).max() > 1e-3


def test_scores_are_aligned_with_the_rows_asked_for(store, model):
    frame = store[0]
    rows = rows_of(frame.sample(40, random_state=1))
    p = model.predict(frame, rows)
    reversed_p = model.predict(frame, rows.iloc[::-1])
    np.testing.assert_array_equal(reversed_p[::-1], p)
    with pytest.raises(KeyError):
        model.predict(frame, pd.DataFrame({"alumno_key": ["nadie"], "time_idx": [1]}))


def test_a_first_semester_student_is_scored_by_the_tft(store, model):
    frame, _, inference = store
    first = frame.groupby("alumno_key").head(1)
    alone = first.iloc[:20]  # only their first row: a one-step encoder, no other history
    p_alone = model.predict(alone, rows_of(alone))
    assert np.isfinite(p_alone).all() and ((p_alone > 0) & (p_alone < 1)).all()
    # the same rows scored with the whole history around them: the later rows are not read
    np.testing.assert_allclose(model.predict(frame, rows_of(alone)), p_alone, atol=1e-6, rtol=0)

    # the inference frame: the caller passes the rows in the risk set, the last row of each student is scored
    # (its next semester is in gold_tft_known_future); students with a single row are scored too
    history = inference[inference["en_riesgo"]]
    last = history[history["time_idx"] == history.groupby("alumno_key")["time_idx"].transform("max")]
    p = model.predict(history, rows_of(last))
    assert len(p) == last["alumno_key"].nunique() > 0 and np.isfinite(p).all()
    single = history.groupby("alumno_key")["time_idx"].transform("size") == 1
    assert single.any(), "the synthetic university should have first-semester students at risk now"


def test_fit_learns_only_from_fit_labels_and_stops_on_select(store, split, model, one_epoch, tmp_path):
    """Labels of rows in neither set never matter; select labels only choose the epoch: with one epoch
    there is nothing to choose, so flipping them changes nothing either."""
    history, rows = split["history"], rows_of(split["test"])
    neither = ~(split["fit"] | split["select"])
    assert neither.sum() > 0
    other = fit(store, split, tmp_path / "a", history=flipped(history, neither), max_epochs=2)
    np.testing.assert_array_equal(other.predict(store[0], rows), model.predict(store[0], rows))

    select_flipped = fit(store, split, tmp_path / "b", history=flipped(history, ~split["fit"]), max_epochs=1)
    np.testing.assert_array_equal(select_flipped.predict(store[0], rows), one_epoch.predict(store[0], rows))


def test_the_model_kept_is_the_epoch_with_the_lowest_select_loss(store, split, tmp_path):
    _, inputs, _ = store
    history = split["history"]
    # a learning rate high enough for the select loss to rise again (here: best epoch 3 of 4)
    model = TftModel(TftSettings(**(SETTINGS | {"max_epochs": 4, "patience": 2, "learning_rate": 0.3})))
    info = model.fit(history, split["fit"], split["select"], inputs, tmp_path)
    losses = info["perdida_seleccion"]
    assert info["mejor_epoca"] == int(np.argmin(losses)) + 1 and info["epocas"] == len(losses)
    # the select loss is the class-weighted cross-entropy of the select rows' windows, recomputed here
    select = history[split["select"]]
    p = model.predict(history, rows_of(select))
    positive = (select["target"] == "1").to_numpy()
    loss = -np.where(positive, info["peso_positivos"] * np.log(p), np.log(1 - p))
    assert loss.mean() == pytest.approx(min(losses), abs=1e-4)


def test_same_seed_same_model_another_seed_another(store, split, one_epoch, tmp_path):
    rows = rows_of(split["test"])
    again = fit(store, split, tmp_path / "a", max_epochs=1)
    np.testing.assert_array_equal(again.predict(store[0], rows), one_epoch.predict(store[0], rows))
    other = fit(store, split, tmp_path / "b", max_epochs=1, seed=7)
    assert np.abs(other.predict(store[0], rows) - one_epoch.predict(store[0], rows)).max() > 1e-4


def test_save_and_load_give_the_same_scores_and_reasons(store, model, tmp_path):
    frame, inputs, _ = store
    rows = rows_of(frame.sample(60, random_state=2))
    model.save(tmp_path)
    loaded = TftModel.load(tmp_path)
    assert loaded.log_columns == model.log_columns and loaded.settings == model.settings
    np.testing.assert_array_equal(loaded.predict(frame, rows), model.predict(frame, rows))
    pd.testing.assert_frame_equal(loaded.explain(frame, rows), model.explain(frame, rows))
    # today's calendar replaces the training one
    assert TftModel.load(tmp_path, calendar=inputs.calendar.iloc[:3]).calendar.shape[0] == 3


def test_explain_gives_k_signed_reasons_per_row(store, model):
    frame, inputs, _ = store
    rows = rows_of(frame.sample(30, random_state=3))
    reasons = model.explain(frame, rows, k=3)
    assert list(reasons.columns) == REASON_COLUMNS
    assert len(reasons) == 3 * len(rows)
    assert reasons.groupby(KEYS)["orden"].apply(lambda s: s.tolist() == [1, 2, 3]).all()
    assert set(reasons["column_name"]) <= set(model.features) <= set(inputs.features)
    # ranked by selection weight among the inputs away from their neutral value: |peso| does not grow with
    # orden (a 0, no direction, only after them); weights are shares of 1
    magnitude = reasons["peso"].abs()
    nonzero = reasons[magnitude > 0]
    assert (nonzero["peso"].abs().groupby([nonzero["alumno_key"], nonzero["time_idx"]]).diff().dropna() <= 0).all()
    assert (magnitude <= 1).all() and (magnitude > 0).mean() > 0.8

    # the sign: the row's score minus its score with that input at its neutral value in every step of the
    # window (checked here for static and observed inputs, which live in the history)
    time_varying_known = set(
        inputs.roles.get("time_varying_known_categoricals", []) + inputs.roles.get("time_varying_known_reals", [])
    )
    checked = 0
    for reason in reasons.itertuples():
        if reason.column_name in time_varying_known or checked >= 8:
            continue
        row = pd.DataFrame({"alumno_key": [reason.alumno_key], "time_idx": [reason.time_idx]})
        mine = frame["alumno_key"] == reason.alumno_key
        neutral = frame.copy()
        neutral.loc[mine, reason.column_name] = model.neutral[reason.column_name]
        delta = model.predict(frame, row)[0] - model.predict(neutral, row)[0]
        assert np.sign(np.round(delta, 9)) == np.sign(reason.peso), reason
        checked += 1
    assert checked > 0


def test_import_is_cheap():
    code = "import sys, dwh.ml.tft; print(any(m in sys.modules for m in ('torch', 'pytorch_forecasting', 'lightning')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr
