"""`python -m dwh.ml train | evaluate | predict`: dropout models on the published warehouse's feature store."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import duckdb

from dwh.duck import out_of_memory, out_of_memory_message
from dwh.logs import setup_logging
from dwh.ml import runs
from dwh.ml.calibration import METHODS
from dwh.ml.train import MODELS
from dwh.settings import ConfigError, memory_limit

log = logging.getLogger("dwh.ml")


def _parser() -> argparse.ArgumentParser:
    from dwh.ml.tft import TftSettings

    parser = argparse.ArgumentParser(prog="python -m dwh.ml", description=__doc__)
    parser.add_argument("command", choices=("train", "evaluate", "predict"))
    parser.add_argument("--published", type=Path, help="published warehouse (default: the pipeline's)")
    parser.add_argument("--run", type=Path, help="evaluate/predict: run directory (default: the latest)")
    parser.add_argument("--models", default="arbol,tft", help="train: models to fit (default arbol,tft)")
    parser.add_argument("--model", choices=MODELS, help="predict: model to score with (default: the run's default)")
    parser.add_argument("--test-semesters", type=int, default=2, help="train: last labelled semesters to report on")
    parser.add_argument("--select-semesters", type=int, default=2, help="train: semesters to choose and calibrate on")
    parser.add_argument("--calibration", choices=METHODS, default="platt")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--epochs", type=int, default=TftSettings.max_epochs, help="TFT: maximum epochs")
    parser.add_argument("--hidden", type=int, default=TftSettings.hidden_size, help="TFT: hidden size")
    parser.add_argument("--max-encoder-length", type=int, default=TftSettings.max_encoder_length)
    parser.add_argument("--batch-size", type=int, default=TftSettings.batch_size)
    parser.add_argument("--learning-rate", type=float, default=TftSettings.learning_rate)
    parser.add_argument("--no-oracle", action="store_true", help="evaluate: do not look for synthetic truth")
    parser.add_argument("--bootstrap", type=int, default=500, help="evaluate: bootstrap replicates (default 500)")
    parser.add_argument("--oracle-replicas", type=int, default=200, help="evaluate: futures simulated per row")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    setup_logging()
    from dwh.ml.data import default_source
    from dwh.ml.evaluate import LeakageAlarm, evaluate
    from dwh.settings import warehouse_path

    published = args.published or default_source()
    models = tuple(m.strip() for m in args.models.split(",") if m.strip())
    unknown = [m for m in models if m not in MODELS]
    if args.command == "train" and (unknown or not models):
        log.error("--models: unknown %s (valid: %s)", ", ".join(unknown) or "(none)", ", ".join(MODELS))
        return 2
    if args.oracle_replicas < 200 and not args.no_oracle:
        log.error("--oracle-replicas must be at least 200 (the oracle's interval needs them)")
        return 2
    try:
        memory_limit()
    except ConfigError as exc:
        log.error("%s", exc)
        return 2
    try:
        if args.command == "train":
            from dwh.ml.tft import TftSettings
            from dwh.ml.train import train

            settings = TftSettings(
                max_encoder_length=args.max_encoder_length,
                hidden_size=args.hidden,
                batch_size=args.batch_size,
                learning_rate=args.learning_rate,
                max_epochs=args.epochs,
                seed=args.seed,
            )
            run_dir = train(
                published,
                models,
                args.test_semesters,
                args.select_semesters,
                args.calibration,
                settings,
                args.seed,
            )
            log.info("run saved in %s", run_dir)
            evaluate(run_dir, published, not args.no_oracle, args.bootstrap, args.oracle_replicas)
        elif args.command == "evaluate":
            evaluate(
                args.run or runs.latest_run_dir(), published, not args.no_oracle, args.bootstrap, args.oracle_replicas
            )
        else:
            from dwh.ml.predict import predict

            predict(args.run or runs.latest_run_dir(), published, warehouse_path(), args.model)
    except LeakageAlarm as exc:
        log.error("leakage alarm: %s", exc)
        return 1
    except (FileNotFoundError, ValueError) as exc:
        log.error("%s", exc)
        return 1
    except duckdb.Error as exc:
        detail = out_of_memory(exc)
        if detail is None:
            raise
        log.error("%s", out_of_memory_message("ml", memory_limit(), detail))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
