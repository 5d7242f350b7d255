"""The Temporal Fusion Transformer: datasets straight from the feature store's roles, training, scoring."""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

log = logging.getLogger("dwh.ml.tft")


@dataclass
class TftSettings:
    max_encoder_length: int = 8
    hidden_size: int = 16
    attention_heads: int = 2
    dropout: float = 0.1
    learning_rate: float = 0.003
    batch_size: int = 256
    max_epochs: int = 15
    patience: int = 3
    seed: int = 42


def _quiet() -> None:
    warnings.filterwarnings("ignore", module="lightning")
    warnings.filterwarnings("ignore", module="pytorch_forecasting")
    warnings.filterwarnings("ignore", category=UserWarning)
    for name in ("lightning", "lightning.pytorch", "pytorch_lightning", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)


def one_window_per_target(index: pd.DataFrame) -> np.ndarray:
    """Keep one window per (student, predicted semester), the one with the longest history.

    TimeSeriesDataSet also emits, for short series, many windows ending on the same last row; for
    dropout that last row is often the positive, so duplicates would weigh it several times.
    """
    order = index.sort_values(["alumno_key", "time_idx_last", "time_idx_first"])
    keep = ~order.duplicated(["alumno_key", "time_idx_last"], keep="first")
    return keep.reindex(index.index).to_numpy()


def dataset(frame: pd.DataFrame, roles: dict[str, list[str]], settings: TftSettings):
    """The training TimeSeriesDataSet: every argument comes from gold_tft_feature_roles."""
    from pytorch_forecasting import TimeSeriesDataSet
    from pytorch_forecasting.data.encoders import NaNLabelEncoder

    inputs = {k: v for k, v in roles.items() if k not in ("meta", "group_ids", "time_idx", "target")}
    categoricals = [c for k, cols in inputs.items() if k.endswith("categoricals") for c in cols]
    return TimeSeriesDataSet(
        frame,
        time_idx=roles["time_idx"][0],
        target=roles["target"][0],
        group_ids=roles["group_ids"],
        max_encoder_length=settings.max_encoder_length,
        min_encoder_length=1,
        max_prediction_length=1,
        target_normalizer=NaNLabelEncoder(),
        # a returner's semesters away are not in the risk set: its series has a gap there
        allow_missing_timesteps=True,
        # new programs, sites or cohorts after training must not break scoring
        categorical_encoders={c: NaNLabelEncoder(add_nan=True) for c in categoricals},
        add_relative_time_idx=True,
        **inputs,
    )


def fit(train_ds, validation_ds, settings: TftSettings, checkpoint_dir):
    """Train with CrossEntropy (a categorical target needs it) and early stopping on the CPU; return the
    epoch with the best validation loss, not the last one (early stopping runs `patience` epochs past it)."""
    import lightning.pytorch as pl
    import torch
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
    from pytorch_forecasting import TemporalFusionTransformer
    from pytorch_forecasting.metrics import CrossEntropy

    _quiet()
    pl.seed_everything(settings.seed, workers=True)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    model = TemporalFusionTransformer.from_dataset(
        train_ds,
        loss=CrossEntropy(),
        hidden_size=settings.hidden_size,
        attention_head_size=settings.attention_heads,
        dropout=settings.dropout,
        hidden_continuous_size=8,
        learning_rate=settings.learning_rate,
        reduce_on_plateau_patience=2,
        log_interval=-1,
    )
    best = ModelCheckpoint(dirpath=str(checkpoint_dir), filename="tft", monitor="val_loss", mode="min", save_top_k=1)
    trainer = pl.Trainer(
        max_epochs=settings.max_epochs,
        accelerator="cpu",
        devices=1,
        gradient_clip_val=0.1,
        callbacks=[EarlyStopping(monitor="val_loss", patience=settings.patience, mode="min"), best],
        enable_progress_bar=False,
        enable_model_summary=False,
        logger=False,
        deterministic=True,
    )
    t0 = time.perf_counter()
    trainer.fit(
        model,
        train_dataloaders=train_ds.to_dataloader(train=True, batch_size=settings.batch_size, num_workers=0),
        val_dataloaders=validation_ds.to_dataloader(train=False, batch_size=2048, num_workers=0),
    )
    log.info(
        "TFT trained: %d epochs in %.1fs; best validation loss %.4f",
        trainer.current_epoch,
        time.perf_counter() - t0,
        float(best.best_model_score) if best.best_model_score is not None else float("nan"),
    )
    if best.best_model_path:
        model = TemporalFusionTransformer.load_from_checkpoint(best.best_model_path, map_location="cpu")
    return model, trainer, best.best_model_path


def probabilities(model, ds) -> pd.DataFrame:
    """P(target = '1') of every window of ds, with the student and the predicted semester."""
    import torch

    _quiet()
    out = model.predict(
        ds.to_dataloader(train=False, batch_size=2048, num_workers=0),
        mode="raw",
        return_index=True,
        trainer_kwargs={"accelerator": "cpu", "logger": False, "enable_progress_bar": False},
    )
    logits = out.output["prediction"][:, 0, :]
    p = torch.softmax(logits, dim=-1)[:, 1].cpu().numpy()
    index = out.index.reset_index(drop=True)
    return pd.DataFrame({"alumno_key": index["alumno_key"], "time_idx": index["time_idx"], "p": p})
