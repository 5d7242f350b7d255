"""`predict`: score each student at risk now with a run's calibrated model, with the top three reasons, and
append the scores (and the run's model card) to the working warehouse's `ml` schema."""

from __future__ import annotations

import datetime as dt
import logging
import pickle
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from dwh import duck
from dwh.ml import card, runs
from dwh.ml.calibration import Calibrator
from dwh.ml.data import Frames, read_frames, read_inference
from dwh.ml.train import load_model

log = logging.getLogger("dwh.ml.predict")
REASONS = 3
PREDICTION_COLUMNS = {
    "alumno_key": "VARCHAR",
    "time_idx": "INTEGER",
    "probabilidad": "DOUBLE",
    "modelo": "VARCHAR",
    "run_id": "VARCHAR",
    "scored_at": "TIMESTAMPTZ",
    "horizonte": "INTEGER",
    "probabilidad_cruda": "DOUBLE",
    **{f"{kind}_{k}": typ for k in range(1, REASONS + 1) for kind, typ in (("razon", "VARCHAR"), ("peso", "DOUBLE"))},
}


def reasons(model, history: pd.DataFrame, rows: pd.DataFrame, frames: Frames) -> pd.DataFrame:
    """The top REASONS inputs of each row, named by their Spanish description; calendar inputs (the
    cuatrimestre, the years since entry) are left out: they describe the calendar, not the student."""
    calendar = [c for c, o in frames.origins.items() if o == "calendario"]
    ranked = model.explain(history, rows, k=REASONS + len(calendar))
    ranked = ranked[~ranked["column_name"].isin(calendar)].copy()
    ranked["orden"] = ranked.groupby(["alumno_key", "time_idx"]).cumcount() + 1
    ranked = ranked[ranked["orden"] <= REASONS]
    missing = sorted(set(ranked["column_name"]) - set(frames.inputs.descriptions))
    if missing:
        raise ValueError(f"gold.gold_tft_feature_roles has no descripcion for {', '.join(missing)}")
    ranked["razon"] = ranked["column_name"].map(frames.inputs.descriptions)
    wide = ranked.pivot(index=["alumno_key", "time_idx"], columns="orden", values=["razon", "peso"])
    wide.columns = [f"{kind}_{k}" for kind, k in wide.columns]
    return wide.reset_index()


def _ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS ml")
    columns = ", ".join(f"{c} {t}" for c, t in PREDICTION_COLUMNS.items())
    con.execute(f"CREATE TABLE IF NOT EXISTS ml.predicciones ({columns})")
    have = {r[0] for r in con.execute("SELECT column_name FROM (DESCRIBE ml.predicciones)").fetchall()}
    if "modelo_run_id" in have and "run_id" not in have:
        # an older table: same values, the name the card and the dashboard use
        con.execute("ALTER TABLE ml.predicciones RENAME COLUMN modelo_run_id TO run_id")
        have = (have - {"modelo_run_id"}) | {"run_id"}
    for column, typ in PREDICTION_COLUMNS.items():
        if column not in have:
            con.execute(f"ALTER TABLE ml.predicciones ADD COLUMN {column} {typ}")
    con.execute(
        "CREATE TABLE IF NOT EXISTS ml.fichas_modelo (run_id VARCHAR PRIMARY KEY, modelo_por_defecto VARCHAR, "
        "ficha TEXT, escrita TIMESTAMPTZ)"
    )


def predict(run_dir: Path, published: Path, warehouse: Path, model_name: str | None = None) -> int:
    from dwh.ops.lock import warehouse_lock

    params = runs.read_json(run_dir / "params.json")
    metrics_path = run_dir / "metrics.json"
    evaluated = runs.read_json(metrics_path) if metrics_path.exists() else None
    if model_name is None:
        if evaluated is None:
            raise FileNotFoundError(f"{run_dir} has no metrics.json: run python -m dwh.ml evaluate first, or --model")
        model_name = evaluated["modelo_por_defecto"]
    if model_name not in params["models"]:
        raise ValueError(f"run {params['run_id']} has no {model_name} model (it has {', '.join(params['models'])})")
    frames = read_frames(published)
    history = read_inference(published)
    if history.empty:
        log.warning("the inference frame is empty: no student at risk to score")
        return 0
    rows = history.groupby("alumno_key", as_index=False)["time_idx"].max()
    model = load_model(model_name, run_dir, frames.inputs.calendar)
    with open(run_dir / f"calibrador_{model_name}.pkl", "rb") as fh:
        calibrator: Calibrator = pickle.load(fh)
    scored = rows.copy()
    scored["probabilidad_cruda"] = model.predict(history, rows)
    scored["probabilidad"] = calibrator(scored["probabilidad_cruda"].to_numpy())
    scored = scored.merge(reasons(model, history, rows, frames), on=["alumno_key", "time_idx"], how="left")
    scored["modelo"] = model_name
    scored["run_id"] = params["run_id"]
    scored["horizonte"] = params["horizonte_semestres"]
    scored["scored_at"] = dt.datetime.now(dt.timezone.utc)
    card_text = (run_dir / card.FILE).read_text(encoding="utf-8") if (run_dir / card.FILE).exists() else None
    with warehouse_lock(warehouse, "python -m dwh.ml predict"):
        with duck.connect(str(warehouse), stage="ml") as con:
            _ensure_table(con)
            con.register("scored", scored[list(PREDICTION_COLUMNS)])
            con.execute(f"INSERT INTO ml.predicciones ({', '.join(PREDICTION_COLUMNS)}) SELECT * FROM scored")
            if card_text is not None:
                con.execute(
                    "INSERT OR REPLACE INTO ml.fichas_modelo VALUES (?, ?, ?, now())",
                    [params["run_id"], evaluated["modelo_por_defecto"] if evaluated else None, card_text],
                )
    log.info(
        "%s students scored with %s (run %s): mean calibrated probability %.3f; published with the next run",
        f"{len(scored):,}",
        model_name,
        params["run_id"],
        float(np.mean(scored["probabilidad"])),
    )
    return len(scored)
