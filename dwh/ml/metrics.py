"""Evaluation metrics of dropout scores: ranking, calibration and the top-10% list staff would act on."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

TOP_SHARE = 0.10


def scores(y: np.ndarray, p: np.ndarray) -> dict[str, float | int | None]:
    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=float)
    out: dict[str, float | int | None] = {"n": int(len(y)), "positivos": int(y.sum())}
    if len(y) == 0 or y.min() == y.max():
        return out | {"auc": None, "pr_auc": None, "brier": None, "recall_top10": None, "precision_top10": None}
    k = max(1, math.ceil(TOP_SHARE * len(y)))
    top = np.argsort(-p, kind="mergesort")[:k]
    hits = int(y[top].sum())
    return out | {
        "tasa_base": float(y.mean()),
        "auc": float(roc_auc_score(y, p)),
        "pr_auc": float(average_precision_score(y, p)),
        "brier": float(brier_score_loss(y, np.clip(p, 0, 1))),
        "recall_top10": hits / int(y.sum()),
        "precision_top10": hits / k,
    }


def by_group(frame: pd.DataFrame, column: str, p_column: str, min_n: int = 30) -> dict[str, dict]:
    """Metrics per value of a column (cohort, program); small groups are reported with their n only."""
    out = {}
    for value, part in frame.groupby(column, observed=True):
        if len(part) < min_n:
            out[str(value)] = {"n": int(len(part)), "nota": f"menos de {min_n} filas"}
        else:
            out[str(value)] = scores(part["y"].to_numpy(), part[p_column].to_numpy())
    return out


def plots(frame: pd.DataFrame, models: list[str], out_dir: Path) -> list[Path]:
    """A ROC and a calibration plot (PNG) of every model's scores."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import roc_curve

    y = frame["y"].to_numpy()
    paths = []
    fig, ax = plt.subplots(figsize=(5, 5))
    for m in models:
        fpr, tpr, _ = roc_curve(y, frame[m])
        ax.plot(fpr, tpr, label=f"{m} (AUC {roc_auc_score(y, frame[m]):.3f})")
    ax.plot([0, 1], [0, 1], "k:", lw=1)
    ax.set(xlabel="1 - especificidad", ylabel="sensibilidad", title="ROC (semestres futuros)")
    ax.legend(loc="lower right")
    paths.append(out_dir / "roc.png")
    fig.savefig(paths[-1], dpi=100, bbox_inches="tight")
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(5, 5))
    for m in models:
        observed, predicted = calibration_curve(y, np.clip(frame[m], 0, 1), n_bins=10, strategy="quantile")
        ax.plot(predicted, observed, "o-", label=m)
    ax.plot([0, 1], [0, 1], "k:", lw=1)
    ax.set(xlabel="probabilidad predicha", ylabel="proporción observada", title="Calibración")
    ax.legend(loc="upper left")
    paths.append(out_dir / "calibracion.png")
    fig.savefig(paths[-1], dpi=100, bbox_inches="tight")
    plt.close(fig)
    return paths
