"""What every dropout model offers the train, evaluate and predict commands."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

INPUT_ROLES = (
    "static_categoricals",
    "static_reals",
    "time_varying_known_categoricals",
    "time_varying_known_reals",
    "time_varying_unknown_categoricals",
    "time_varying_unknown_reals",
)
REASON_COLUMNS = ["alumno_key", "time_idx", "orden", "column_name", "peso"]


@dataclass
class Inputs:
    """The feature store's description of its columns, read from gold (never written in Python)."""

    roles: dict[str, list[str]]
    descriptions: dict[str, str]
    # gold_tft_known_future: time_idx, anio_academico, cuatrimestre, evento_calendario, as_of_date, ...
    calendar: pd.DataFrame
    horizon: int

    @property
    def features(self) -> list[str]:
        return [c for role in INPUT_ROLES for c in self.roles.get(role, [])]

    @property
    def categoricals(self) -> list[str]:
        return [c for role in INPUT_ROLES if role.endswith("categoricals") for c in self.roles.get(role, [])]


class Model(Protocol):
    """A dropout model. `history` has gold_tft_training_dataset's columns; a row (alumno_key, time_idx) is
    scored from that student's rows up to and including time_idx, never a later one."""

    name: str

    def fit(
        self, history: pd.DataFrame, fit_rows: pd.Series, select_rows: pd.Series, inputs: Inputs, workdir: Path
    ) -> dict:
        """Learn from the `fit_rows` labels; choose everything chosen (early stopping, checkpoint) on
        `select_rows`. `history` never holds a row after the last selection semester. Returns what to
        record about the fit (epochs, windows, chosen parameters)."""
        ...

    def predict(self, history: pd.DataFrame, rows: pd.DataFrame) -> np.ndarray:
        """P(target = '1') of each of `rows` (alumno_key, time_idx), in their order, before calibration."""
        ...

    def explain(self, history: pd.DataFrame, rows: pd.DataFrame, k: int = 3) -> pd.DataFrame:
        """The k strongest reasons of each row, REASON_COLUMNS: orden 1..k, the input column and its signed
        weight (positive raises the risk)."""
        ...

    def save(self, run_dir: Path) -> None: ...
