"""Sanity scan of the TFT training table: positive share and each feature's single-feature AUC against the label."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import duckdb
import numpy as np

from dwh.logs import setup_logging

log = logging.getLogger("dwh.bench.scan")
SUSPICIOUS_AUC = 0.9


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve by the rank-sum (Mann-Whitney) formula, ties given their mean rank."""
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), dtype=float)
    sorted_scores = scores[order]
    # mean rank of each run of equal scores
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_scores)) + 1]
    ends = np.r_[starts[1:], len(scores)]
    for s, e in zip(starts, ends):
        ranks[order[s:e]] = (s + e + 1) / 2.0
    pos = labels.astype(bool)
    n_pos, n_neg = pos.sum(), (~pos).sum()
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def scan(warehouse: Path) -> tuple[int, float, list[tuple[str, str, float]]]:
    """Rows, positive share, and (feature, role, AUC) with AUC folded to >= 0.5, best first.

    A categorical feature is scored by its category's positive rate (in-sample target encoding).
    """
    with duckdb.connect(str(warehouse), read_only=True) as con:
        roles = con.execute(
            "SELECT column_name, tft_role FROM gold.gold_tft_feature_roles "
            "WHERE tft_role LIKE '%categoricals' OR tft_role LIKE '%reals' ORDER BY posicion"
        ).fetchall()
        labels = np.asarray(
            con.execute("SELECT CAST(target AS INTEGER) AS y FROM gold.gold_tft_training_dataset").fetchnumpy()["y"]
        )
        results = []
        for column, role in roles:
            if role.endswith("categoricals"):
                # a window does not keep row order: score and label travel together
                sql = (
                    f"SELECT avg(CAST(target AS DOUBLE)) OVER (PARTITION BY {column}) AS s, "
                    "CAST(target AS INTEGER) AS y FROM gold.gold_tft_training_dataset"
                )
            else:
                sql = f"SELECT {column} AS s, CAST(target AS INTEGER) AS y FROM gold.gold_tft_training_dataset"
            data = con.execute(sql).fetchnumpy()
            a = auc(np.asarray(data["s"], dtype=float), np.asarray(data["y"], dtype=int))
            results.append((column, role, max(a, 1 - a)))
    share = float(labels.mean()) if len(labels) else float("nan")
    return len(labels), share, sorted(results, key=lambda r: -r[2])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dwh.bench.feature_scan", description=__doc__)
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args(argv)
    setup_logging()
    rows, share, results = scan(args.warehouse)
    log.info("gold_tft_training_dataset: %s rows, positive share %.2f%%", f"{rows:,}", share * 100)
    for column, role, a in results[: args.top]:
        flag = "  <- suspicious (check for leakage)" if a >= SUSPICIOUS_AUC else ""
        log.info("  AUC %.3f  %-32s %s%s", a, column, role, flag)
    return 0


if __name__ == "__main__":
    sys.exit(main())
