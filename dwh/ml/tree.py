"""The tree model: LightGBM on each row's own features, stopped on the selection semesters, with per-row
contributions (SHAP values in log-odds) as its reasons."""

from __future__ import annotations

import json
import pickle
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from dwh.ml.model import REASON_COLUMNS, Inputs

FILE = "tree.pkl"


@dataclass
class TreeSettings:
    learning_rate: float = 0.05
    num_leaves: int = 31
    min_child_samples: int = 50
    feature_fraction: float = 0.8
    lambda_l2: float = 1.0
    max_rounds: int = 2000
    patience: int = 50
    seed: int = 42
    threads: int = 1


@dataclass
class TreeModel:
    settings: TreeSettings = field(default_factory=TreeSettings)
    name: str = "arbol"
    features: list[str] = field(default_factory=list)
    categories: dict[str, list[str]] = field(default_factory=dict)
    booster_text: str = ""
    best_round: int = 0
    _booster: object | None = None

    def _design(self, frame: pd.DataFrame) -> pd.DataFrame:
        x = frame[self.features].copy()
        for column, categories in self.categories.items():
            # the fit rows' categories, in their order: an unseen value is missing, not a new code
            values = x[column].astype(str)
            x[column] = pd.Categorical(values.where(values.isin(categories)), categories=categories)
        return x

    def _y(self, frame: pd.DataFrame) -> np.ndarray:
        return (frame["target"] == "1").to_numpy(dtype=np.int32)

    def fit(
        self, history: pd.DataFrame, fit_rows: pd.Series, select_rows: pd.Series, inputs: Inputs, workdir: Path
    ) -> dict:
        import lightgbm as lgb

        fit, select = history[fit_rows], history[select_rows]
        self.features = inputs.features
        self.categories = {c: sorted(fit[c].astype(str).unique()) for c in inputs.categoricals}
        s = self.settings
        params = {
            "objective": "binary",
            "metric": "binary_logloss",
            "learning_rate": s.learning_rate,
            "num_leaves": s.num_leaves,
            "min_child_samples": s.min_child_samples,
            "feature_fraction": s.feature_fraction,
            "lambda_l2": s.lambda_l2,
            "seed": s.seed,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": s.threads,
            "verbosity": -1,
        }
        train = lgb.Dataset(self._design(fit), self._y(fit), categorical_feature=list(self.categories))
        valid = lgb.Dataset(self._design(select), self._y(select), reference=train)
        booster = lgb.train(
            params,
            train,
            num_boost_round=s.max_rounds,
            valid_sets=[valid],
            callbacks=[lgb.early_stopping(s.patience, verbose=False)],
        )
        self.best_round = int(booster.best_iteration or booster.current_iteration())
        self.booster_text = booster.model_to_string(num_iteration=self.best_round)
        self._booster = None
        return {
            "rondas": self.best_round,
            "filas_ajuste": int(len(fit)),
            "filas_seleccion": int(len(select)),
            "perdida_seleccion": float(booster.best_score["valid_0"]["binary_logloss"]),
            "parametros": params,
        }

    @property
    def booster(self):
        import lightgbm as lgb

        if self._booster is None:
            self._booster = lgb.Booster(model_str=self.booster_text)
        return self._booster

    def _rows(self, history: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
        keyed = history.set_index(["alumno_key", "time_idx"])
        return keyed.loc[pd.MultiIndex.from_frame(rows[["alumno_key", "time_idx"]])].reset_index()

    def predict(self, history: pd.DataFrame, rows: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.booster.predict(self._design(self._rows(history, rows))))

    def explain(self, history: pd.DataFrame, rows: pd.DataFrame, k: int = 3) -> pd.DataFrame:
        """The k inputs with the largest contributions (in absolute value) to each row's log-odds."""
        contrib = np.asarray(self.booster.predict(self._design(self._rows(history, rows)), pred_contrib=True))
        contrib = contrib[:, : len(self.features)]  # the last column is the expected value, no input's
        top = np.argsort(-np.abs(contrib), axis=1, kind="stable")[:, :k]
        n = len(rows)
        return pd.DataFrame(
            {
                "alumno_key": np.repeat(rows["alumno_key"].to_numpy(), k),
                "time_idx": np.repeat(rows["time_idx"].to_numpy(), k),
                "orden": np.tile(np.arange(1, k + 1), n),
                "column_name": np.asarray(self.features)[top].ravel(),
                "peso": np.take_along_axis(contrib, top, axis=1).ravel(),
            },
            columns=REASON_COLUMNS,
        )

    def save(self, run_dir: Path) -> None:
        with open(run_dir / FILE, "wb") as fh:
            pickle.dump({**asdict(self), "_booster": None}, fh)
        (run_dir / "tree_settings.json").write_text(json.dumps(asdict(self.settings), indent=2) + "\n")

    @classmethod
    def load(cls, run_dir: Path) -> TreeModel:
        with open(run_dir / FILE, "rb") as fh:
            state = pickle.load(fh)
        state["settings"] = TreeSettings(**state["settings"])
        return cls(**state)
