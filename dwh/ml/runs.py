"""Where a training run's parameters, models, predictions and metrics live: dwh/data/models/<run id>/."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

from dwh import settings


def models_dir() -> Path:
    """$DWH_MODELS_DIR, else models/ beside the warehouse."""
    return settings.models_dir()


def new_run_dir() -> Path:
    run_id = dt.datetime.now().strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
    path = models_dir() / run_id
    path.mkdir(parents=True)
    return path


def latest_run_dir() -> Path:
    runs = sorted(p for p in models_dir().glob("*") if (p / "params.json").exists())
    if not runs:
        raise FileNotFoundError(f"no trained run in {models_dir()}: run python -m dwh.ml train first")
    return runs[-1]


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))
