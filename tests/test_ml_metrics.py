"""The evaluation's parts on hand-made values: the time split and its embargoes, the strata, the rule
baseline, every statistic (against scikit-learn and by hand), the bootstrap by student, the calibrators."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from dwh.ml import metrics, strata
from dwh.ml.calibration import Calibrator
from dwh.ml.split import time_split


def full(n: int) -> np.ndarray:
    return np.ones((1, n), dtype=np.uint8)


# --- the split ---------------------------------------------------------------------------------------------------


def test_the_split_keeps_an_embargo_of_the_horizon_between_fit_select_and_test():
    frame = pd.DataFrame({"alumno_key": "a", "time_idx": list(range(30, 49))})
    split = time_split(frame, horizon=2, test_semesters=2, select_semesters=2)
    # test 47, 48; embargo 45, 46; select 43, 44; embargo 41, 42; fit up to 40
    assert (split.test_first, split.test_last) == (47, 48)
    assert (split.select_first, split.select_last) == (43, 44)
    assert split.fit_last == 40
    assert sorted(frame.loc[split.test_rows(frame), "time_idx"]) == [47, 48]
    assert sorted(frame.loc[split.select_rows(frame), "time_idx"]) == [43, 44]
    assert frame.loc[split.fit_rows(frame), "time_idx"].max() == 40
    # a row t's label is decided at the closing date of t + 2, which comes before the as-of date of t + 3:
    # the last select row's label (44 -> 46) is known when 47 is predicted; the last fit row's (40 -> 42)
    # when 43 is
    assert split.select_last + split.horizon < split.test_first
    assert split.fit_last + split.horizon < split.select_first
    # a model sees nothing after the selection semesters while it is fitted and chosen
    assert split.history(frame)["time_idx"].max() == 44
    assert split.as_dict()["horizon"] == 2


def test_the_split_says_how_much_history_it_needs():
    frame = pd.DataFrame({"alumno_key": "a", "time_idx": list(range(41, 49))})
    with pytest.raises(ValueError, match=r"semesters 41\.\.48 \(8\).*need at least 9"):
        time_split(frame, horizon=2)
    assert time_split(frame, horizon=2, select_semesters=1).fit_last == 41


# --- strata and the rule baseline --------------------------------------------------------------------------------


def _rows(**columns) -> pd.DataFrame:
    base = {
        "activo": "1",
        "inscripcion_siguiente_abierta": "0",
        "inscripto_siguiente": "0",
        "asistencia_guarani": 80.0,
        "asistencia_guarani_missing": "0",
        "asistencia_moodle": 0.0,
        "asistencia_moodle_missing": "1",
        "cursadas_en_curso": 1.0,
        "cursadas_regularizadas": 0.0,
        "examenes_aprobados": 0.0,
    }
    n = max(len(v) for v in columns.values())
    return pd.DataFrame({k: columns.get(k, [v] * n) for k, v in base.items()})


def test_strata_and_the_committed_rows():
    frame = _rows(
        activo=["0", "1", "1", "1", "1", "1", "1", "1"],
        inscripcion_siguiente_abierta=["1", "1", "1", "0", "0", "0", "0", "0"],
        inscripto_siguiente=["0", "0", "1", "0", "0", "0", "0", "0"],
        asistencia_guarani=[80.0, 80.0, 80.0, 80.0, 59.9, 0.0, 0.0, 90.0],
        asistencia_guarani_missing=["0", "0", "0", "0", "0", "1", "1", "0"],
        asistencia_moodle=[0.0, 0.0, 0.0, 0.0, 0.0, 75.0, 0.0, 0.0],
        asistencia_moodle_missing=["1", "1", "1", "1", "1", "0", "1", "1"],
        cursadas_en_curso=[1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 1.0, 0.0],
        cursadas_regularizadas=[0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0],
    )
    assert strata.stratum(frame).tolist() == [
        "ya_ausente",  # absent, whatever else
        "no_inscripto",  # the window had opened, not enrolled
        "pronostico",  # enrolled
        "pronostico",  # the window had not opened: not being enrolled means nothing
        "pronostico",
        "pronostico",
        "pronostico",
        "pronostico",
    ]
    assert strata.committed(frame).tolist() == [
        False,  # not in pronostico
        False,
        True,  # 80 % and a course in progress
        True,
        False,  # 59.9 % attendance
        True,  # no Guaraní attendance: Moodle's 75 %, and a course passed
        False,  # no attendance recorded anywhere: nothing says the student attends
        False,  # 90 %, but nothing in progress or passed
    ]
    assert strata.rule_score(frame).tolist() == [2.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]


# --- statistics ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample():
    rng = np.random.default_rng(3)
    n = 3000
    y = (rng.random(n) < 0.15).astype(float)
    p = np.clip(np.round(0.15 + 0.25 * y + rng.normal(0, 0.15, n), 2), 0.01, 0.99)
    return y, p  # rounded: ties, which the AUC counts one half


def test_statistics_match_scikit_learn(sample):
    y, p = sample
    n = len(y)
    assert metrics._auc(y, p, full(n))[0] == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert metrics._average_precision(y, p, full(n))[0] == pytest.approx(average_precision_score(y, p), abs=1e-12)
    assert metrics._brier(y, p, full(n))[0] == pytest.approx(brier_score_loss(y, p), abs=1e-12)
    x = np.log(p / (1 - p))[:, None]
    expected = LogisticRegression(C=1e12, tol=1e-10, max_iter=10_000).fit(x, y).coef_[0, 0]
    assert metrics._slope(y, p, full(n))[0] == pytest.approx(expected, rel=1e-4)


def test_statistics_on_a_hand_computed_example():
    y = np.array([1, 0, 1, 0, 0, 1, 0, 0, 0, 0], dtype=float)
    p = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05])
    w = full(10)
    # pairs (positive, negative) ranked right: 0.9 beats 7 negatives, 0.7 beats 6, 0.4 beats 4 -> 17 of 21
    assert metrics._auc(y, p, w)[0] == pytest.approx(17 / 21)
    # precision at each positive: 1/1, 2/3, 3/6
    assert metrics._average_precision(y, p, w)[0] == pytest.approx((1 + 2 / 3 + 3 / 6) / 3)
    squared = [0.1, 0.8, 0.3, 0.6, 0.5, 0.6, 0.3, 0.2, 0.1, 0.05]
    assert metrics._brier(y, p, w)[0] == pytest.approx(sum(e * e for e in squared) / 10)
    # top 10 % of 10 rows = the 0.9, a positive: 1 of 3 positives found; reversed, none
    assert metrics._recall_top(y, p, w)[0] == pytest.approx(1 / 3)
    assert metrics._recall_top(y, p[::-1], w)[0] == 0 and metrics._auc(y, p[::-1], w)[0] == pytest.approx(4 / 21)
    # 25 rows: the top 10 % is ceil(2.5) = 3 rows, 2 of them positives, of 4 positives in all; the negative at
    # rank 2 is above the positives at ranks 3, 4 and 5
    y = np.array([1, 0, 1] + [1, 1] + [0] * 20, dtype=float)
    p = np.linspace(1, 0, 25)
    assert metrics._recall_top(y, p, full(25))[0] == pytest.approx(2 / 4)
    assert metrics._auc(y, p, full(25))[0] == pytest.approx(1 - 3 / (4 * 21))
    # ties count one half: one positive and one negative with the same score
    assert metrics._auc(np.array([1.0, 0.0]), np.array([0.5, 0.5]), full(2))[0] == pytest.approx(0.5)


def test_weights_are_repeated_rows(sample):
    """A row drawn twice by the bootstrap weighs as two copies of it."""
    y, p = sample
    rng = np.random.default_rng(9)
    w = rng.integers(0, 4, len(y))
    rows = np.repeat(np.arange(len(y)), w)
    for name, stat in metrics.STATISTICS.items():
        if name == "pendiente_calibracion":
            continue  # replicates are fitted on groups of rows; checked against the full fit below
        got = stat(y, p, w[None, :].astype(np.uint8))[0]
        expected = stat(y[rows], p[rows], full(len(rows)))[0]
        if name == "ece":
            continue  # its bins are quantiles of the sample, which repeating rows moves
        assert got == pytest.approx(expected, abs=1e-12), name


def test_ece_recall_and_slope_by_hand():
    # two bins of 5 rows: scores 0.1 (one positive: rate 0.2, gap 0.1) and 0.6 (three positives: gap 0)
    y = np.array([1, 0, 0, 0, 0, 1, 1, 1, 0, 0], dtype=float)
    p = np.array([0.1] * 5 + [0.6] * 5)
    assert metrics._ece(y, p, full(10), bins=2)[0] == pytest.approx(0.5 * 0.1 + 0.5 * 0.0)
    # top 10 % of 10 rows is the single highest score: one of the four positives
    q = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.9, 0.6, 0.7, 0.8, 0.05])
    assert metrics._recall_top(y, q, full(10))[0] == pytest.approx(1 / 4)
    # probabilities drawn from themselves are calibrated: the slope is 1, within its interval
    rng = np.random.default_rng(1)
    p = rng.uniform(0.01, 0.6, 20_000)
    y = (rng.random(20_000) < p).astype(float)
    reps = metrics.Replicates.by_student(np.arange(20_000), 200, seed=1)
    slope = metrics.scores(y, p, reps)["pendiente_calibracion"]
    assert slope["ic95"][0] <= 1.0 <= slope["ic95"][1]
    assert slope["valor"] == pytest.approx(1.0, abs=0.05)
    # the grouped fit the replicates use agrees with the row-by-row fit on the full sample
    assert metrics._slope(y, p, np.ones((2, 20_000), dtype=np.uint8))[0] == pytest.approx(slope["valor"], abs=5e-3)


def test_the_bootstrap_draws_students_with_all_their_rows():
    students = np.array(["a", "a", "a", "b", "c", "c"])
    reps = metrics.Replicates.by_student(students, 300, seed=4)
    w = reps.weights.astype(int)
    # rows of one student always carry the same weight; each replicate draws 3 students
    assert (w[:, 0] == w[:, 1]).all() and (w[:, 1] == w[:, 2]).all() and (w[:, 4] == w[:, 5]).all()
    assert (w[:, [0, 3, 4]].sum(axis=1) == 3).all()
    assert metrics.Replicates.by_student(students, 300, seed=4).weights.tolist() == reps.weights.tolist()


def test_a_small_sample_gets_counts_and_a_note(sample):
    y, p = sample
    reps = metrics.Replicates.by_student(np.arange(20), 50, seed=0)
    out = metrics.scores(y[:20], p[:20], reps)
    assert out["n"] == 20 and "auc" not in out and "muestra chica" in out["nota"]


def test_intervals_cover_the_point_and_paired_differences(sample):
    y, p = sample
    students = np.arange(len(y)) // 3
    reps = metrics.Replicates.by_student(students, 300, seed=2)
    out = metrics.scores(y, p, reps)
    for name in ("auc", "pr_auc", "brier", "recall_top10"):
        low, high = out[name]["ic95"]
        assert low <= out[name]["valor"] <= high, name
    # the same score against itself: a difference of exactly 0; against noise, clearly positive
    same = metrics.paired_difference(y, p, p, reps)
    assert same["valor"] == 0 and same["ic95"] == [0.0, 0.0]
    noise = np.random.default_rng(0).random(len(y))
    better = metrics.paired_difference(y, p, noise, reps)
    assert better["ic95"][0] > 0.2
    assert metrics.half_width(out["auc"]) == pytest.approx((out["auc"]["ic95"][1] - out["auc"]["ic95"][0]) / 2)


# --- calibration -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["platt", "isotonica"])
def test_a_calibrator_fitted_on_shifted_scores_recovers_the_probabilities(method):
    rng = np.random.default_rng(5)
    true = rng.uniform(0.01, 0.5, 30_000)
    y = (rng.random(30_000) < true).astype(int)
    logit = np.log(true / (1 - true))
    raw = 1 / (1 + np.exp(-(2.0 * logit + 1.5)))  # too extreme and too high, as a class-weighted model is
    calibrator = Calibrator(method).fit(raw[:20_000], y[:20_000])
    fixed = calibrator(raw[20_000:])
    reps = metrics.Replicates.by_student(np.arange(10_000), 100, seed=0)
    before = metrics.scores(y[20_000:], raw[20_000:], reps)["ece"]["valor"]
    after = metrics.scores(y[20_000:], fixed, reps)["ece"]["valor"]
    assert before > 0.1 and after < 0.02
    if method == "platt":
        # logit(true) = (logit(raw) - 1.5) / 2: a = -0.75, b = 0.5
        assert calibrator.params["b"] == pytest.approx(0.5, abs=0.05)
        assert calibrator.params["a"] == pytest.approx(-0.75, abs=0.1)
        # Platt keeps the order of the scores, so the AUC
        assert roc_auc_score(y[20_000:], fixed) == pytest.approx(roc_auc_score(y[20_000:], raw[20_000:]))


def test_a_calibrator_needs_both_classes():
    with pytest.raises(ValueError, match="single class"):
        Calibrator().fit(np.array([0.1, 0.2]), np.array([0, 0]))
