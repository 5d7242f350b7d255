"""`train`: fit each model on the past, choose and calibrate it on later semesters, then score the test ones.

The order is the guarantee: every model is fitted, stopped and calibrated from `split.history(frame)`,
which holds no row after the selection semesters; only then are the test semesters scored.
"""

from __future__ import annotations

import datetime as dt
import logging
import pickle
import resource
import time
from dataclasses import asdict
from pathlib import Path

import pandas as pd

from dwh.ml import runs, strata
from dwh.ml.calibration import Calibrator
from dwh.ml.data import Frames, read_frames
from dwh.ml.model import Inputs, Model
from dwh.ml.split import TimeSplit, time_split
from dwh.ml.tree import TreeModel, TreeSettings

log = logging.getLogger("dwh.ml.train")
MODELS = ("arbol", "tft")
GROUPS = ("sexo", "tipo_ingreso", "sede", "propuesta")
PREDICTIONS = "predicciones_prueba.csv"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_model(name: str, tft_settings=None, seed: int = 42) -> Model:
    if name == "arbol":
        return TreeModel(TreeSettings(seed=seed))
    if name == "tft":
        from dwh.ml.tft import TftModel, TftSettings

        return TftModel(tft_settings or TftSettings(seed=seed))
    raise ValueError(f"unknown model {name!r}; valid: {', '.join(MODELS)}")


def load_model(name: str, run_dir: Path, calendar: pd.DataFrame | None = None) -> Model:
    """A run's saved model; `calendar` (today's gold_tft_known_future) is the TFT's next-semester calendar."""
    if name == "arbol":
        return TreeModel.load(run_dir)
    from dwh.ml.tft import TftModel

    return TftModel.load(run_dir, calendar)


def fit_and_choose(
    frame: pd.DataFrame, split: TimeSplit, inputs: Inputs, model: Model, run_dir: Path, calibration: str
) -> tuple[dict, Calibrator]:
    """Fit on the fit rows, stop on the selection rows, and calibrate on them; nothing later is passed."""
    history = split.history(frame)
    fit_rows, select_rows = split.fit_rows(history), split.select_rows(history)
    info = model.fit(history, fit_rows, select_rows, inputs, run_dir)
    select = history.loc[select_rows, ["alumno_key", "time_idx", "target"]]
    raw = model.predict(history, select)
    calibrator = Calibrator(calibration).fit(raw, (select["target"] == "1").to_numpy(dtype=int))
    return info, calibrator


def evaluation_rows(frame: pd.DataFrame, split: TimeSplit) -> pd.DataFrame:
    """The test rows with what evaluate needs besides the scores: label parts, strata, groups, rules."""
    test = frame[split.test_rows(frame)]
    out = test[["alumno_key", "time_idx", "cuatrimestre", *GROUPS]].copy()
    out["y"] = (test["target"] == "1").astype(int)
    out["abandono"] = (test["abandono"] == "1").astype(int)
    out["perdida_regularidad"] = (test["perdida_regularidad"] == "1").astype(int)
    out["estrato"] = strata.stratum(test)
    out["comprometido"] = strata.committed(test).astype(int)
    out["reglas"] = strata.rule_score(test)
    return out.reset_index(drop=True)


def train(
    published: Path,
    models: tuple[str, ...],
    test_semesters: int = 2,
    select_semesters: int = 2,
    calibration: str = "platt",
    tft_settings=None,
    seed: int = 42,
    frames: Frames | None = None,
    run_dir: Path | None = None,
) -> Path:
    frames = frames or read_frames(published)
    frame = frames.training
    split = time_split(frame, frames.horizon, test_semesters, select_semesters)
    run_dir = run_dir or runs.new_run_dir()
    log.info(
        "run %s: %s labelled rows; fitting on semesters <= %d, choosing on %d..%d, testing on %d..%d (embargo %d)",
        run_dir.name,
        f"{len(frame):,}",
        split.fit_last,
        split.select_first,
        split.select_last,
        split.test_first,
        split.test_last,
        split.horizon,
    )
    fits: dict[str, dict] = {}
    chosen: dict[str, tuple[Model, Calibrator]] = {}
    for name in models:
        model = make_model(name, tft_settings, seed)
        started = time.perf_counter()
        info, calibrator = fit_and_choose(frame, split, frames.inputs, model, run_dir, calibration)
        info |= {"segundos": round(time.perf_counter() - started, 2), "pico_rss_mb": round(peak_rss_mb())}
        fits[name] = info
        model.save(run_dir)
        with open(run_dir / f"calibrador_{name}.pkl", "wb") as fh:
            pickle.dump(calibrator, fh)
        chosen[name] = (model, calibrator)
        log.info(
            "%s fitted and calibrated in %.1fs (peak RSS %s MB)", name, info["segundos"], f"{info['pico_rss_mb']:,}"
        )
    # only now, with every choice made, are the test semesters scored
    scored = evaluation_rows(frame, split)
    for name, (model, calibrator) in chosen.items():
        raw = model.predict(frame, scored[["alumno_key", "time_idx"]])
        scored[f"{name}_crudo"] = raw
        scored[name] = calibrator(raw)
    scored.to_csv(run_dir / PREDICTIONS, index=False)
    runs.write_json(
        run_dir / "params.json",
        {
            "run_id": run_dir.name,
            "published": str(published),
            "models": list(models),
            "calibracion": calibration,
            "semilla": seed,
            "tft": asdict(tft_settings) if tft_settings is not None and "tft" in models else None,
            "horizonte_semestres": frames.horizon,
            "particion": split.as_dict(),
            "filas": {
                "ajuste": int(split.fit_rows(frame).sum()),
                "seleccion": int(split.select_rows(frame).sum()),
                "prueba": int(split.test_rows(frame).sum()),
            },
            "semestres_etiquetados": [int(frame["time_idx"].min()), int(frame["time_idx"].max())],
            "nombres_semestres": semester_names(frames.inputs.calendar, frame),
            "ajustes": fits,
            "advertencias": label_warnings(frame),
            "creado": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        },
    )
    return run_dir


def label_warnings(frame: pd.DataFrame) -> list[str]:
    """What the model card must say about its labels: sources whose graduates may be counted as dropouts."""
    if "egresados_incompletos" not in frame:
        return []
    unsure = frame.loc[frame["egresados_incompletos"] == "1", "fuente"].drop_duplicates().sort_values()
    return [
        f"fuente {source}: sin tabla de egresados (aceptado en seed_label_params); sus egresados pueden "
        "contarse como abandonos"
        for source in unsure
    ]


def semester_names(calendar: pd.DataFrame, frame: pd.DataFrame) -> dict[str, str]:
    """time_idx -> 'year-cuatrimestre' for the labelled semesters, so the card speaks in years."""
    known = calendar[calendar["time_idx"].between(frame["time_idx"].min(), frame["time_idx"].max())]
    return {
        str(int(t)): f"{int(a)}-{c}"
        for t, a, c in known[["time_idx", "anio_academico", "cuatrimestre"]].itertuples(index=False)
    }
