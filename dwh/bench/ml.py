"""ML stages of the benchmark: each model trained alone in a child process on the gold just built, so its
wall time and peak memory are its own."""

from __future__ import annotations

import json
from pathlib import Path

from dwh.bench.bronze import StageResult
from dwh.bench.measure import python_module, run_measured

MODELS = ("arbol", "tft")


def run_ml_stage(model: str, warehouse: Path, work: Path, timeout: float | None = None) -> StageResult:
    """`python -m dwh.ml train --models <model> --no-oracle` on the warehouse; rows = labelled rows fitted."""
    models_dir = work / "models" / model
    env = {"DWH_DUCKDB_PATH": str(warehouse), "DWH_MODELS_DIR": str(models_dir)}
    m = run_measured(
        python_module("dwh.ml", "train", "--models", model, "--no-oracle", "--published", str(warehouse)),
        work / f"ml_{model}.log",
        env=env,
        timeout=timeout,
    )
    stage = f"m ml {model}"
    if not m.ok:
        return StageResult(stage, 0, m, problem=f"exit {m.returncode}, see {m.log_path}")
    runs = sorted(p for p in models_dir.iterdir() if (p / "metrics.json").exists())
    params = json.loads((runs[-1] / "params.json").read_text(encoding="utf-8"))
    metrics = json.loads((runs[-1] / "metrics.json").read_text(encoding="utf-8"))
    fit = params["ajustes"][model]
    auc = metrics["semestres"]["todos"]["estratos"]["pronostico"][model].get("auc") or {}
    note = f"fit {fit['segundos']:.0f}s" + (f"; AUC pronostico {auc['valor']:.3f}" if auc.get("valor") else "")
    return StageResult(stage, int(params["filas"]["ajuste"]), m, {"note": note, "fit_s": fit["segundos"]})
