"""`python -m dwh.ml train | evaluate | predict`: dropout models on the published warehouse's feature store."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import pickle
import resource
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from dwh.logs import setup_logging
from dwh.ml import metrics, runs
from dwh.ml.baseline import Baseline
from dwh.ml.data import default_source, leave_future_out, read_frames, read_inference
from dwh.ml.tft import TftSettings

log = logging.getLogger("dwh.ml")
MODELS = ("tft", "baseline")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def train(published: Path, settings: TftSettings, models: tuple[str, ...], validation_semesters: int) -> Path:
    """Fit the models on the past, score the held-out future semesters, save everything in a run dir."""
    frames = read_frames(published)
    frame = frames.training
    split = leave_future_out(frame, frames.horizon, validation_semesters)
    if "tft" in models and not (frame[split.train_mask].groupby("alumno_key").size() > 1).any():
        # TimeSeriesDataSet would fail with a bare AssertionError: a window needs a semester to encode
        raise ValueError(
            f"no TFT training window: no student has 2 semesters up to {split.cutoff - frames.horizon} "
            "(one to encode, one to predict); use more history, fewer --validation-semesters or --models baseline"
        )
    run_dir = runs.new_run_dir()
    log.info(
        "run %s: %s rows; training on semesters <= %d (labels known by %d), validating on >= %d",
        run_dir.name,
        f"{len(frame):,}",
        split.cutoff - frames.horizon,
        split.cutoff,
        split.validation_from,
    )
    validation = frame.loc[split.validation_mask, ["alumno_key", "time_idx", "cohorte", "propuesta", "target"]].copy()
    validation["y"] = (validation["target"] == "1").astype(int)
    timings: dict[str, dict] = {}
    if "baseline" in models:
        t0 = time.perf_counter()
        model = Baseline(frames.features, frames.categoricals, settings.seed).fit(frame[split.train_mask])
        validation["baseline"] = model.predict(frame[split.validation_mask]).to_numpy()
        timings["baseline"] = {"segundos": time.perf_counter() - t0, "pico_rss_mb": _peak_rss_mb()}
        with open(run_dir / "baseline.pkl", "wb") as fh:
            pickle.dump(model, fh)
    if "tft" in models:
        from pytorch_forecasting import TimeSeriesDataSet

        from dwh.ml import tft

        t0 = time.perf_counter()
        train_ds = tft.dataset(frame[split.train_mask], frames.roles, settings)
        validation_ds = TimeSeriesDataSet.from_dataset(
            train_ds, frame, min_prediction_idx=split.validation_from, stop_randomization=True
        )
        train_ds = train_ds.filter(tft.one_window_per_target)
        validation_ds = validation_ds.filter(tft.one_window_per_target)
        model, trainer, best_path = tft.fit(train_ds, validation_ds, settings, run_dir)
        scored = tft.probabilities(model, validation_ds).rename(columns={"p": "tft"})
        validation = validation.merge(scored, on=["alumno_key", "time_idx"], how="left")
        timings["tft"] = {
            "segundos": time.perf_counter() - t0,
            "epocas": int(trainer.current_epoch),
            "ventanas_entrenamiento": len(train_ds),
            "pico_rss_mb": _peak_rss_mb(),
        }
        if not best_path:  # no validation loss was ever computed: keep the last weights
            trainer.save_checkpoint(run_dir / "tft.ckpt")
        with open(run_dir / "tft_dataset.pkl", "wb") as fh:
            pickle.dump(train_ds.get_parameters(), fh)
    validation.drop(columns=["target"]).to_csv(run_dir / "validation_predictions.csv", index=False)
    runs.write_json(
        run_dir / "params.json",
        {
            "run_id": run_dir.name,
            "published": str(published),
            "models": list(models),
            "tft": settings.__dict__,
            "horizonte_semestres": frames.horizon,
            "cutoff": split.cutoff,
            "entrenamiento_hasta": split.cutoff - frames.horizon,
            "validacion_desde": split.validation_from,
            "filas_entrenamiento": int(split.train_mask.sum()),
            "filas_validacion": int(split.validation_mask.sum()),
            "tiempos": timings,
            "advertencias": label_warnings(frame),
            "creado": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        },
    )
    return run_dir


def label_warnings(frame) -> list[str]:
    """What the model card must say about its labels: sources whose graduates may be counted as dropouts."""
    if "egresados_incompletos" not in frame:
        return []
    unsure = frame.loc[frame["egresados_incompletos"] == "1", "fuente"].drop_duplicates().sort_values()
    return [
        f"fuente {source}: sin tabla de egresados (aceptado en seed_label_params); sus egresados pueden "
        "contarse como abandonos"
        for source in unsure
    ]


def evaluate(run_dir: Path, published: Path, oracle: bool = True) -> dict:
    """Metrics per model on the held-out semesters (and per cohort and program), with the oracle's."""
    params = runs.read_json(run_dir / "params.json")
    frame = pd.read_csv(run_dir / "validation_predictions.csv", dtype={"alumno_key": str, "cohorte": str})
    models = [m for m in MODELS if m in frame.columns]
    if oracle:
        from dwh.ml.oracle import true_hazard

        truth = true_hazard(published)
        if truth is not None:
            frame = frame.merge(truth, on=["alumno_key", "time_idx"], how="left")
            if frame["oracle"].notna().any():
                models.append("oracle")
    # TFT cannot predict a student's first semester (no history to encode): the models are compared on
    # the rows both scored; the oracle exists only where the generator still had the student enrolled,
    # so it is compared separately, on those rows
    learnt = [m for m in models if m != "oracle"]
    common = frame.dropna(subset=learnt)
    result: dict = {"run_id": params["run_id"], "filas_validacion": len(frame), "filas_comunes": len(common)}
    result["modelos"] = {m: metrics.scores(common["y"].to_numpy(), common[m].to_numpy()) for m in learnt}
    result["todas_las_filas"] = {
        m: metrics.scores(frame.dropna(subset=[m])["y"].to_numpy(), frame[m].dropna().to_numpy()) for m in learnt
    }
    if "oracle" in models:
        with_truth = common.dropna(subset=["oracle"])
        compared = {m: metrics.scores(with_truth["y"].to_numpy(), with_truth[m].to_numpy()) for m in models}
        best = compared["oracle"]["auc"]
        result["con_oracle"] = {
            "nota": "filas de estudiantes que el generador tenía activos en ese semestre (la verdad existe solo ahí); "
            "el oráculo es el riesgo verdadero de dejar el semestre siguiente, no la etiqueta exacta",
            "filas": len(with_truth),
            "modelos": compared,
            "brecha_con_oracle_auc": {
                m: (None if best is None or compared[m]["auc"] is None else best - compared[m]["auc"]) for m in learnt
            },
        }
    result["por_cohorte"] = {m: metrics.by_group(common, "cohorte", m) for m in learnt}
    result["por_carrera"] = {m: metrics.by_group(common, "propuesta", m) for m in learnt}
    result["tiempos"] = params.get("tiempos", {})
    result["advertencias"] = params.get("advertencias", [])
    if len(common) and common["y"].nunique() == 2:
        result["graficos"] = [str(p.name) for p in metrics.plots(common, learnt, run_dir)]
    runs.write_json(run_dir / "metrics.json", result)
    table = dict(result["modelos"])
    if "con_oracle" in result:
        table |= {f"{m} (activos)": v for m, v in result["con_oracle"]["modelos"].items()}
    for m, s in table.items():
        if s.get("auc") is not None:
            log.info(
                "%-19s AUC %.3f  PR-AUC %.3f  Brier %.4f  recall@10%% %.3f  precision@10%% %.3f  (n %s)",
                m,
                s["auc"],
                s["pr_auc"],
                s["brier"],
                s["recall_top10"],
                s["precision_top10"],
                f"{s['n']:,}",
            )
    return result


def predict(run_dir: Path, published: Path, model_name: str, warehouse: Path) -> int:
    """Score each active student's latest semester and append the scores to ml.predicciones."""
    from dwh.ops.lock import warehouse_lock

    params = runs.read_json(run_dir / "params.json")
    frame = read_inference(published)
    if frame.empty:
        log.warning("the inference frame is empty: no active student to score")
        return 0
    last = frame.groupby("alumno_key")["time_idx"].transform("max") == frame["time_idx"]
    if model_name == "baseline":
        with open(run_dir / "baseline.pkl", "rb") as fh:
            model: Baseline = pickle.load(fh)
        scored = frame.loc[last, ["alumno_key", "time_idx"]].copy()
        scored["probabilidad"] = model.predict(frame[last]).to_numpy()
        scored["modelo"] = model_name
    else:
        from pytorch_forecasting import TemporalFusionTransformer, TimeSeriesDataSet

        from dwh.ml import tft

        with open(run_dir / "tft_dataset.pkl", "rb") as fh:
            ds_params = pickle.load(fh)
        ds = TimeSeriesDataSet.from_parameters(ds_params, frame, predict=True, stop_randomization=True)
        model = TemporalFusionTransformer.load_from_checkpoint(run_dir / "tft.ckpt", map_location="cpu")
        scored = tft.probabilities(model, ds).rename(columns={"p": "probabilidad"})
        scored["modelo"] = model_name
        # a first-semester student has no history for the TFT to encode: the run's baseline scores them
        missing = frame[last & ~frame["alumno_key"].isin(scored["alumno_key"])]
        if len(missing) and (run_dir / "baseline.pkl").exists():
            with open(run_dir / "baseline.pkl", "rb") as fh:
                fallback: Baseline = pickle.load(fh)
            extra = missing[["alumno_key", "time_idx"]].copy()
            extra["probabilidad"] = fallback.predict(missing).to_numpy()
            extra["modelo"] = f"{model_name}:baseline"
            scored = pd.concat([scored, extra], ignore_index=True)
            log.info("%s first-semester students scored by the run's baseline", f"{len(extra):,}")
    scored["modelo_run_id"] = params["run_id"]
    scored["scored_at"] = dt.datetime.now(dt.timezone.utc)
    with warehouse_lock(warehouse, "python -m dwh.ml predict"):
        with duckdb.connect(str(warehouse)) as con:
            con.execute("CREATE SCHEMA IF NOT EXISTS ml")
            con.execute(
                "CREATE TABLE IF NOT EXISTS ml.predicciones (alumno_key VARCHAR, time_idx INTEGER, "
                "probabilidad DOUBLE, modelo VARCHAR, modelo_run_id VARCHAR, scored_at TIMESTAMPTZ)"
            )
            con.register("scored", scored)
            con.execute(
                "INSERT INTO ml.predicciones SELECT alumno_key, CAST(time_idx AS INTEGER), probabilidad, modelo, "
                "modelo_run_id, scored_at FROM scored"
            )
    log.info(
        "%s students scored with %s (run %s): mean probability %.3f; published with the next run",
        f"{len(scored):,}",
        model_name,
        params["run_id"],
        float(np.mean(scored["probabilidad"])),
    )
    return len(scored)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dwh.ml", description=__doc__)
    parser.add_argument("command", choices=("train", "evaluate", "predict"))
    parser.add_argument("--published", type=Path, help="published warehouse (default: the pipeline's)")
    parser.add_argument("--run", type=Path, help="run directory (evaluate/predict; default: the latest)")
    parser.add_argument("--models", default="tft,baseline", help="train: models to fit (default tft,baseline)")
    parser.add_argument("--model", choices=MODELS, default="baseline", help="predict: model to score with")
    parser.add_argument("--epochs", type=int, default=TftSettings.max_epochs)
    parser.add_argument("--hidden", type=int, default=TftSettings.hidden_size)
    parser.add_argument("--max-encoder-length", type=int, default=TftSettings.max_encoder_length)
    parser.add_argument("--batch-size", type=int, default=TftSettings.batch_size)
    parser.add_argument("--learning-rate", type=float, default=TftSettings.learning_rate)
    parser.add_argument("--seed", type=int, default=TftSettings.seed)
    parser.add_argument("--validation-semesters", type=int, default=2)
    parser.add_argument("--no-oracle", action="store_true", help="evaluate: do not look for synthetic truth")
    args = parser.parse_args(argv)
    setup_logging()
    from dwh.settings import warehouse_path

    published = args.published or default_source()
    try:
        if args.command == "train":
            models = tuple(m.strip() for m in args.models.split(",") if m.strip())
            unknown = [m for m in models if m not in MODELS]
            if unknown:
                log.error("--models: unknown %s (valid: %s)", ", ".join(unknown), ", ".join(MODELS))
                return 2
            settings = TftSettings(
                max_encoder_length=args.max_encoder_length,
                hidden_size=args.hidden,
                batch_size=args.batch_size,
                learning_rate=args.learning_rate,
                max_epochs=args.epochs,
                seed=args.seed,
            )
            run_dir = train(published, settings, models, args.validation_semesters)
            evaluate(run_dir, published, oracle=not args.no_oracle)
            log.info("run saved in %s", run_dir)
        elif args.command == "evaluate":
            evaluate(args.run or runs.latest_run_dir(), published, oracle=not args.no_oracle)
        else:
            predict(args.run or runs.latest_run_dir(), published, args.model, warehouse_path())
    except (FileNotFoundError, ValueError) as exc:
        log.error("%s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
