"""Read the training and inference frames and their roles from the published warehouse; split by time."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from dwh.ops.publish import published_path
from dwh.settings import warehouse_path

INPUT_ROLES = (
    "static_categoricals",
    "static_reals",
    "time_varying_known_categoricals",
    "time_varying_known_reals",
    "time_varying_unknown_categoricals",
    "time_varying_unknown_reals",
)


@dataclass
class Frames:
    training: pd.DataFrame
    roles: dict[str, list[str]]
    horizon: int

    @property
    def features(self) -> list[str]:
        return [c for role in INPUT_ROLES for c in self.roles.get(role, [])]

    @property
    def categoricals(self) -> list[str]:
        return [c for role in INPUT_ROLES if role.endswith("categoricals") for c in self.roles.get(role, [])]


def default_source() -> Path:
    """The published copy: the ML code never opens the working warehouse to read."""
    return published_path(warehouse_path())


def read_roles(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    roles: dict[str, list[str]] = {}
    rows = con.execute("SELECT column_name, tft_role FROM gold.gold_tft_feature_roles ORDER BY posicion").fetchall()
    for column, role in rows:
        roles.setdefault(role, []).append(column)
    return roles


def read_frames(path: Path) -> Frames:
    if not path.is_file():
        raise FileNotFoundError(f"no published warehouse at {path}: run python -m dwh.main first")
    with duckdb.connect(str(path), read_only=True) as con:
        training = con.execute("SELECT * FROM gold.gold_tft_training_dataset ORDER BY alumno_key, time_idx").df()
        roles = read_roles(con)
        horizon = con.execute(
            "SELECT CAST(valor AS INTEGER) FROM gold.seed_label_params WHERE nombre = 'horizonte_semestres'"
        ).fetchone()[0]
    return Frames(training, roles, int(horizon))


def read_inference(path: Path) -> pd.DataFrame:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute("SELECT * FROM gold.gold_tft_inference_frame ORDER BY alumno_key, time_idx").df()


@dataclass
class Split:
    cutoff: int  # last semester whose labels training may know
    validation_from: int  # first predicted semester of the held-out future
    train_mask: pd.Series
    validation_mask: pd.Series


def leave_future_out(frame: pd.DataFrame, horizon: int, validation_semesters: int = 2) -> Split:
    """Validate on the last `validation_semesters` labelled semesters; train on rows whose labels were
    known before them: a row t's label is known at t + horizon, so training stops `horizon` semesters
    before the first validated one (the embargo)."""
    last = int(frame["time_idx"].max())
    validation_from = last - validation_semesters + 1
    cutoff = validation_from - 1
    train = frame["time_idx"] <= cutoff - horizon
    validation = frame["time_idx"] >= validation_from
    if not train.any() or not validation.any():
        raise ValueError(
            f"not enough history for a leave-future-out split (semesters {frame['time_idx'].min()}..{last})"
        )
    return Split(cutoff, validation_from, train, validation)
