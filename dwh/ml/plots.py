"""PNG plots of an evaluation: ROC curves and calibration of every model, on all test rows and on `pronostico`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from dwh.ml import strata


def draw(frame: pd.DataFrame, models: list[str], out_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import roc_auc_score, roc_curve

    parts = {"todas": frame, strata.PRONOSTICO: frame[frame["estrato"] == strata.PRONOSTICO]}
    paths = []
    for kind in ("roc", "calibracion"):
        fig, axes = plt.subplots(1, 2, figsize=(10, 5))
        for ax, (name, part) in zip(axes, parts.items()):
            y = part["y"].to_numpy()
            if y.min(initial=0) == y.max(initial=0):
                ax.set_title(f"{name}: una sola clase")
                continue
            for m in models:
                if kind == "roc":
                    fpr, tpr, _ = roc_curve(y, part[m])
                    ax.plot(fpr, tpr, label=f"{m} (AUC {roc_auc_score(y, part[m]):.3f})")
                else:
                    observed, predicted = calibration_curve(y, np.clip(part[m], 0, 1), n_bins=10, strategy="quantile")
                    ax.plot(predicted, observed, "o-", label=m)
            ax.plot([0, 1], [0, 1], "k:", lw=1)
            if kind == "roc":
                ax.set(xlabel="1 - especificidad", ylabel="sensibilidad", title=f"ROC, {name}")
            else:
                ax.set(xlabel="probabilidad calibrada", ylabel="proporción observada", title=f"Calibración, {name}")
            ax.legend(loc="lower right" if kind == "roc" else "upper left")
        paths.append(out_dir / f"{kind}.png")
        fig.savefig(paths[-1], dpi=100, bbox_inches="tight")
        plt.close(fig)
    return paths
