"""Gradient-boosting baseline on the same rows: each row's own features (all known at its as-of date)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier


@dataclass
class Baseline:
    features: list[str]
    categoricals: list[str]
    seed: int
    categories: dict[str, list[str]] = field(default_factory=dict)
    model: HistGradientBoostingClassifier | None = None

    def _design(self, frame: pd.DataFrame) -> pd.DataFrame:
        x = frame[self.features].copy()
        for column in self.categoricals:
            # the training categories, in their order: an unseen value becomes missing, not a new code
            values, categories = x[column].astype(str), self.categories[column]
            # (values outside the categories are set to missing first: pandas 4 will refuse them)
            x[column] = pd.Categorical(values.where(values.isin(categories)), categories=categories)
        return x

    def fit(self, frame: pd.DataFrame) -> Baseline:
        self.categories = {c: sorted(frame[c].astype(str).unique()) for c in self.categoricals}
        self.model = HistGradientBoostingClassifier(
            categorical_features="from_dtype",
            learning_rate=0.06,
            max_iter=400,
            max_leaf_nodes=31,
            l2_regularization=1.0,
            early_stopping=True,
            validation_fraction=0.15,
            n_iter_no_change=20,
            random_state=self.seed,
        )
        self.model.fit(self._design(frame), (frame["target"] == "1").astype(int))
        return self

    def predict(self, frame: pd.DataFrame) -> pd.Series:
        assert self.model is not None, "fit first"
        return pd.Series(self.model.predict_proba(self._design(frame))[:, 1], index=frame.index)
