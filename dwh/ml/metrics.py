"""Evaluation figures of dropout scores, each with a 95 % interval from a bootstrap over students.

One set of bootstrap replicates (students drawn with replacement, all their rows with them) serves every
model, stratum and group of an evaluation, so intervals of different models are paired.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TOP_SHARE = 0.10
ECE_BINS = 10
MIN_ROWS, MIN_POSITIVES = 30, 5


@dataclass
class Replicates:
    """Row weights of B bootstrap replicates: how many times each row's student was drawn."""

    weights: np.ndarray  # (B, rows), small integers

    @classmethod
    def by_student(cls, students: np.ndarray, replicates: int, seed: int) -> Replicates:
        codes, uniques = _codes(students)
        rng = np.random.default_rng(seed)
        n = len(uniques)
        counts = np.empty((replicates, n), dtype=np.uint8)
        for b in range(replicates):
            counts[b] = np.minimum(np.bincount(rng.integers(0, n, n), minlength=n), 255)
        return cls(counts[:, codes])

    def subset(self, mask: np.ndarray) -> Replicates:
        return Replicates(self.weights[:, mask])


def _codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    uniques, codes = np.unique(np.asarray(values), return_inverse=True)
    return codes, uniques


def _auc(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted AUC of every weight row of w (ties count one half), through the groups of equal scores."""
    order = np.argsort(p, kind="mergesort")
    ps, ys, ws = p[order], y[order], w[:, order].astype(np.float64)
    starts = np.flatnonzero(np.r_[True, ps[1:] != ps[:-1]])
    pos = np.add.reduceat(ws * ys, starts, axis=1)
    neg = np.add.reduceat(ws * (1 - ys), starts, axis=1)
    below = np.cumsum(neg, axis=1) - neg
    total = pos.sum(axis=1) * neg.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (pos * (below + 0.5 * neg)).sum(axis=1) / total, np.nan)


def _average_precision(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted average precision (area under precision-recall, step-wise; tied scores form one step)."""
    order = np.argsort(-p, kind="mergesort")
    ps, ys, ws = p[order], y[order], w[:, order].astype(np.float64)
    starts = np.flatnonzero(np.r_[True, ps[1:] != ps[:-1]])
    pos = np.add.reduceat(ws * ys, starts, axis=1)
    seen = np.add.reduceat(ws, starts, axis=1)
    tp, n = np.cumsum(pos, axis=1), np.cumsum(seen, axis=1)
    total = tp[:, -1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (pos * (tp / np.maximum(n, 1e-12))).sum(axis=1) / total, np.nan)


def _recall_top(y: np.ndarray, p: np.ndarray, w: np.ndarray, share: float = TOP_SHARE) -> np.ndarray:
    """Share of the (weighted) positives among the highest `share` of the (weighted) rows."""
    order = np.argsort(-p, kind="mergesort")
    ys, ws = y[order], w[:, order].astype(np.float64)
    cum = np.cumsum(ws, axis=1)
    inside = cum <= np.ceil(share * cum[:, -1:])
    with np.errstate(invalid="ignore", divide="ignore"):
        return (ws * ys * inside).sum(axis=1) / (ws * ys).sum(axis=1)


def _brier(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> np.ndarray:
    return (w * ((y - p) ** 2)).sum(axis=1) / w.sum(axis=1)


def _ece(y: np.ndarray, p: np.ndarray, w: np.ndarray, bins: int = ECE_BINS) -> np.ndarray:
    """Expected calibration error over `bins` bins of equal size (quantiles of p in the whole sample):
    Σ_bins share of rows × |observed rate − mean probability|. Equal-size bins, because with a few percent
    of positives equal-width bins would put nearly every row in the first one."""
    edges = np.unique(np.quantile(p, np.linspace(0, 1, bins + 1)[1:-1]))
    which = np.searchsorted(edges, p, side="right")
    onehot = np.zeros((len(p), len(edges) + 1))
    onehot[np.arange(len(p)), which] = 1.0
    wf = w.astype(np.float64)
    n = wf @ onehot
    gap = np.abs((wf * y) @ onehot - (wf * p) @ onehot)
    return gap.sum(axis=1) / n.sum(axis=1)


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(q / (1 - q))


def _newton_slope(x: np.ndarray, n: np.ndarray, k: np.ndarray, iterations: int = 50) -> np.ndarray:
    """b of the weighted logistic fit logit P = a + b·x, for each row of the weights n (rows) and positive
    weights k, by Newton steps from the calibrated answer (a, b) = (0, 1)."""
    a = np.zeros(n.shape[0])
    b = np.ones(n.shape[0])
    xs = x if x.ndim == 2 else np.broadcast_to(x, n.shape)
    for _ in range(iterations):
        mu = 1.0 / (1.0 + np.exp(-np.clip(a[:, None] + b[:, None] * xs, -500, 500)))
        r, v = k - n * mu, n * mu * (1 - mu)
        g0, g1 = r.sum(axis=1), (r * xs).sum(axis=1)
        h00, h01, h11 = v.sum(axis=1), (v * xs).sum(axis=1), (v * xs * xs).sum(axis=1)
        det = h00 * h11 - h01**2
        ok = det > 1e-12
        safe = np.where(ok, det, 1.0)
        da = np.where(ok, (h11 * g0 - h01 * g1) / safe, 0.0)
        db = np.where(ok, (h00 * g1 - h01 * g0) / safe, 0.0)
        a, b = a + da, b + db
        if np.nanmax(np.abs(np.r_[da, db])) < 1e-9:
            break
    return b


SLOPE_GROUPS = 400


def _slope(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Calibration slope: b in logit P(y = 1) = a + b · logit(p) (1 = calibrated spread; below 1, scores too
    extreme; above 1, too timid). The full sample is fitted row by row; bootstrap replicates on 400
    groups of rows of neighbouring scores (each at its weighted mean logit), which moves b by well under
    its interval and keeps a thousand fits cheap."""
    x = _logit(p)
    if w.shape[0] == 1:
        return _newton_slope(x, w.astype(np.float64), w * y)
    order = np.argsort(x, kind="mergesort")
    xs, ys, ws = x[order], y[order], w[:, order].astype(np.float64)
    starts = np.unique(np.linspace(0, len(x), SLOPE_GROUPS, endpoint=False).astype(int))
    n = np.add.reduceat(ws, starts, axis=1)
    k = np.add.reduceat(ws * ys, starts, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        xg = np.where(n > 0, np.add.reduceat(ws * xs, starts, axis=1) / n, 0.0)
    return _newton_slope(xg, n, k)


STATISTICS = {
    "auc": _auc,
    "pr_auc": _average_precision,
    "recall_top10": _recall_top,
    "brier": _brier,
    "ece": _ece,
    "pendiente_calibracion": _slope,
}
RANKING = ("auc", "pr_auc", "recall_top10")


def figure(point: float, replicates: np.ndarray) -> dict[str, object]:
    reps = replicates[np.isfinite(replicates)]
    if not np.isfinite(point):
        return {"valor": None, "ic95": None}
    low, high = np.quantile(reps, [0.025, 0.975]) if len(reps) else (np.nan, np.nan)
    return {"valor": float(point), "ic95": [float(low), float(high)] if len(reps) else None}


def scores(y: np.ndarray, p: np.ndarray, reps: Replicates, only: tuple[str, ...] | None = None) -> dict[str, object]:
    """Each statistic with its 95 % interval; a sample too small (under 30 rows or 5 positives, or one class
    only) gets its counts and a note, not figures that would mislead."""
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    out: dict[str, object] = {"n": int(len(y)), "positivos": int(y.sum())}
    if len(y):
        out["tasa_positivos"] = float(y.mean())
    negatives = len(y) - int(y.sum())
    if len(y) < MIN_ROWS or y.sum() < MIN_POSITIVES or negatives < MIN_POSITIVES:
        out["nota"] = f"muestra chica: menos de {MIN_ROWS} filas o de {MIN_POSITIVES} positivos o negativos"
        return out
    full = np.ones((1, len(y)), dtype=np.uint8)
    for name, stat in STATISTICS.items():
        if only is not None and name not in only:
            continue
        out[name] = figure(float(stat(y, p, full)[0]), stat(y, p, reps.weights))
    return out


def paired_difference(
    y: np.ndarray, p: np.ndarray, q: np.ndarray, reps: Replicates, statistic: str = "auc"
) -> dict[str, object]:
    """statistic(p) − statistic(q) on the same rows and replicates, with its 95 % interval."""
    y = np.asarray(y, dtype=np.float64)
    stat = STATISTICS[statistic]
    full = np.ones((1, len(y)), dtype=np.uint8)
    point = float(stat(y, np.asarray(p, float), full)[0] - stat(y, np.asarray(q, float), full)[0])
    return figure(point, stat(y, np.asarray(p, float), reps.weights) - stat(y, np.asarray(q, float), reps.weights))


def half_width(fig: dict[str, object]) -> float | None:
    ci = fig.get("ic95")
    return None if not ci else (ci[1] - ci[0]) / 2
