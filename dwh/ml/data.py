"""Read the feature store from the published warehouse: the labelled rows, the rows to score, their roles."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from dwh import duck
from dwh.ml.model import Inputs
from dwh.ops.publish import published_path
from dwh.settings import warehouse_path


@dataclass
class Frames:
    training: pd.DataFrame
    inputs: Inputs
    # origen of every column (ingreso, calendario, semestre; None for keys, target and meta)
    origins: dict[str, str | None]

    @property
    def horizon(self) -> int:
        return self.inputs.horizon


def default_source() -> Path:
    """The published copy: the ML code never opens the working warehouse to read."""
    return published_path(warehouse_path())


def _connect(path: Path) -> duckdb.DuckDBPyConnection:
    if not path.is_file():
        raise FileNotFoundError(f"no published warehouse at {path}: run python -m dwh.main first")
    con = duck.connect(str(path), read_only=True, stage="ml")
    missing = [
        t
        for t in ("gold_tft_training_dataset", "gold_tft_feature_roles", "gold_tft_inference_frame")
        if not con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'gold' AND table_name = ?", [t]
        ).fetchone()[0]
    ]
    if missing:
        con.close()
        raise FileNotFoundError(
            f"{path} has no {', '.join('gold.' + t for t in missing)}: the labels were not built "
            "(see the last python -m dwh.main run: gold_tft_label_sources says why)"
        )
    return con


def _inputs(con: duckdb.DuckDBPyConnection) -> tuple[Inputs, dict[str, str | None]]:
    roles: dict[str, list[str]] = {}
    descriptions: dict[str, str] = {}
    origins: dict[str, str | None] = {}
    rows = con.execute(
        "SELECT column_name, tft_role, origen, descripcion FROM gold.gold_tft_feature_roles ORDER BY posicion"
    ).fetchall()
    for column, role, origin, description in rows:
        roles.setdefault(role, []).append(column)
        origins[column] = origin
        if description:
            descriptions[column] = description
    calendar = con.execute("SELECT * FROM gold.gold_tft_known_future ORDER BY time_idx").df()
    horizon = con.execute(
        "SELECT CAST(valor AS INTEGER) FROM gold.seed_label_params WHERE nombre = 'horizonte_semestres'"
    ).fetchone()[0]
    return Inputs(roles, descriptions, calendar, int(horizon)), origins


def read_frames(path: Path) -> Frames:
    with _connect(path) as con:
        training = con.execute("SELECT * FROM gold.gold_tft_training_dataset ORDER BY alumno_key, time_idx").df()
        inputs, origins = _inputs(con)
    if training.empty:
        raise ValueError(f"{path}: gold.gold_tft_training_dataset is empty: no labelled semester yet")
    return Frames(training, inputs, origins)


def read_inference(path: Path) -> pd.DataFrame:
    """The students at risk now: the rows each was in the risk set at (a returner's time away is context
    the training rows never had, so it is left out), ordered by student and semester."""
    with _connect(path) as con:
        return con.execute(
            "SELECT * FROM gold.gold_tft_inference_frame WHERE en_riesgo ORDER BY alumno_key, time_idx"
        ).df()
