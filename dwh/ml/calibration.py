"""Calibrators fitted on the selection semesters: raw model scores to probabilities that mean what they say."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

METHODS = ("platt", "isotonica")


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(np.asarray(p, dtype=np.float64), 1e-6, 1 - 1e-6)
    return np.log(q / (1 - q))


@dataclass
class Calibrator:
    """platt: P = σ(a + b · logit(raw)), two numbers, keeps the order of the scores (so the AUC);
    isotonica: a monotone step function, more flexible, ties neighbouring scores."""

    method: str = "platt"
    params: dict[str, float] = field(default_factory=dict)
    _isotonic: object | None = None

    def fit(self, raw: np.ndarray, y: np.ndarray) -> Calibrator:
        if self.method not in METHODS:
            raise ValueError(f"unknown calibration {self.method!r}; valid: {', '.join(METHODS)}")
        y = np.asarray(y, dtype=np.float64)
        if y.min() == y.max():
            raise ValueError("the selection semesters have a single class: no calibrator can be fitted")
        if self.method == "platt":
            from sklearn.linear_model import LogisticRegression

            fit = LogisticRegression(C=1e6, max_iter=1000).fit(_logit(raw)[:, None], y)
            self.params = {"a": float(fit.intercept_[0]), "b": float(fit.coef_[0, 0])}
        else:
            from sklearn.isotonic import IsotonicRegression

            self._isotonic = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(raw, y)
        return self

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        if self.method == "platt":
            z = self.params["a"] + self.params["b"] * _logit(raw)
            return 1.0 / (1.0 + np.exp(-z))
        assert self._isotonic is not None, "fit first"
        return np.asarray(self._isotonic.predict(np.asarray(raw, dtype=np.float64)))
