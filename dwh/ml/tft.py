"""The Temporal Fusion Transformer dropout model: one window per scored row, encoder up to t, decoder t+1."""

from __future__ import annotations

import logging
import pickle
import shutil
import time
import warnings
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dwh.ml.model import INPUT_ROLES, REASON_COLUMNS, Inputs

log = logging.getLogger("dwh.ml.tft")

KEY, TIME, TARGET = "alumno_key", "time_idx", "target"
WINDOW, WEIGHT = "_ventana", "_peso"
# what TimeSeriesDataSet adds to the inputs: never a reason, never in the feature store
LIBRARY_INPUTS = ("encoder_length", "relative_time_idx")
# a non-negative real whose skewness on the fit rows exceeds this is fed as log1p (counts with a long tail)
HEAVY_TAIL_SKEW = 2.0
CHECKPOINT, STATE = "tft.ckpt", "tft.pkl"


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
    hidden_continuous_size: int = 8


@contextmanager
def _quiet():
    """Lightning and pytorch-forecasting talk a lot (device banners, unknown-category warnings)."""
    for name in ("lightning", "lightning.pytorch", "pytorch_lightning", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


# --- the windows -----------------------------------------------------------------------------------------------


def stretches(history: pd.DataFrame) -> np.ndarray:
    """A number per row of `history` (sorted by student and semester) for each run of consecutive semesters:
    a returner's time away is not in the risk set, so its series restarts after the gap instead of getting
    invented rows (the cumulative features carry the past across it)."""
    new = (history[KEY] != history[KEY].shift()) | (history[TIME].diff() != 1)
    return new.cumsum().to_numpy()


def window_ids(keys: pd.Series, times: pd.Series) -> np.ndarray:
    return (keys.astype(str) + "@" + times.astype(int).astype(str)).to_numpy(dtype=object)


def windows(
    history: pd.DataFrame,
    scored: np.ndarray,
    calendar: pd.DataFrame,
    known: list[str],
    max_encoder_length: int,
    weights: np.ndarray | None = None,
) -> pd.DataFrame:
    """One series (`_ventana` = "alumno_key@t") per scored row t of `history`, which must be sorted by student
    and semester (`scored` is a boolean mask over its rows):

    - encoder: that student's rows t-L+1 .. t of t's stretch of consecutive semesters (L = max_encoder_length),
      all their inputs as observed; their `target` is a constant '0' (a label is never an input);
    - decoder: one step at t+1 made of row t, with the known inputs of t+1: the calendar's columns from
      `calendar` (gold_tft_known_future) and, for a known real the calendar lacks, row t's value + 1 (the
      only one is semestres_desde_ingreso, a semester counter). Its unknown inputs are row t's (the TFT's
      decoder never reads them); its `target` is row t's label and `_peso` its weight (`weights[t]`, 1 by
      default).

    A row's window is built the same way whether or not row t+1 exists, so nothing after t reaches it."""
    stretch = stretches(history)
    position = pd.Series(stretch).groupby(stretch).cumcount().to_numpy()
    rows = np.flatnonzero(scored)
    lengths = np.minimum(position[rows], max_encoder_length - 1) + 1
    owner = np.repeat(np.arange(len(rows)), lengths)
    offset = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    steps = rows[owner] - lengths[owner] + 1 + offset
    ids = window_ids(history[KEY].iloc[rows], history[TIME].iloc[rows])

    encoder = history.iloc[steps].copy()
    encoder[WINDOW] = ids[owner]
    encoder[TARGET] = "0"
    encoder[WEIGHT] = 0.0

    decoder = history.iloc[rows].copy()
    decoder[WINDOW] = ids
    decoder[TARGET] = history[TARGET].iloc[rows].astype(str).to_numpy()
    decoder[WEIGHT] = 1.0 if weights is None else np.asarray(weights, dtype=float)[rows]
    decoder[TIME] = decoder[TIME] + 1
    next_semester = calendar.set_index(TIME)
    missing = sorted(set(decoder[TIME]) - set(next_semester.index))
    if missing:
        raise ValueError(f"semesters {missing} are not in gold_tft_known_future: no calendar to decode them")
    for column in known:
        if column in next_semester.columns:
            decoder[column] = next_semester.loc[decoder[TIME], column].to_numpy()
        elif pd.api.types.is_numeric_dtype(history[column]):
            decoder[column] = decoder[column] + 1
        else:
            raise ValueError(f"known input {column} is neither in gold_tft_known_future nor a semester counter")
    frame = pd.concat([encoder, decoder], ignore_index=True)
    for column in frame.columns:
        if pd.api.types.is_string_dtype(frame[column]) and frame[column].dtype != object:
            frame[column] = frame[column].astype(object)
    return frame.sort_values([WINDOW, TIME], kind="stable").reset_index(drop=True)


def positive_weight(labels: pd.Series) -> float:
    """Class imbalance: a positive weighs as much as negatives / positives negatives."""
    positives = int((labels == "1").sum())
    if positives == 0 or positives == len(labels):
        raise ValueError("the fit rows have a single class: nothing to learn")
    return (len(labels) - positives) / positives


def class_weights(labels: pd.Series, fit: np.ndarray) -> tuple[np.ndarray, float]:
    """Each row's weight as a decoded label (positives weighed by the fit rows' ratio, negatives 1) and
    that ratio; the weights of select rows only scale their loss, which gives no gradient."""
    ratio = positive_weight(labels[fit])
    return np.where(labels == "1", ratio, 1.0), ratio


def constant_inputs(frame: pd.DataFrame, columns: list[str]) -> list[str]:
    """Inputs with a single value on the fit rows: nothing to learn from, and any later value would be one
    the network never saw (e.g. Moodle activity before Moodle existed)."""
    return [c for c in columns if frame[c].nunique(dropna=False) <= 1]


def heavy_tailed(frame: pd.DataFrame, reals: list[str]) -> list[str]:
    """Non-negative reals whose skewness on the fit rows exceeds HEAVY_TAIL_SKEW: fed as log1p, so that a
    rare large count does not dominate the standardised scale."""
    return [c for c in reals if frame[c].min() >= 0 and frame[c].skew() > HEAVY_TAIL_SKEW]


def neutral_values(frame: pd.DataFrame, columns: list[str], categoricals: list[str]) -> dict:
    """Each input's typical value on the fit rows: the median of a real, the most frequent category."""
    return {
        c: (
            frame[c].astype(str).value_counts().sort_index(kind="stable").idxmax()
            if c in categoricals
            else float(frame[c].median())
        )
        for c in columns
    }


def _parameters(dataset) -> dict:
    """The dataset's parameters without the window ids' encoder: it names every training window (the
    library refits it on each new frame, and stores and serialises it with the model otherwise)."""
    parameters = dataset.get_parameters()
    parameters["categorical_encoders"] = {
        name: encoder
        for name, encoder in parameters["categorical_encoders"].items()
        if not name.startswith("__group_id__")
    }
    return parameters


def _loader(dataset, batch_size: int, shuffle: bool):
    """A DataLoader over the dataset's windows, each built once: TimeSeriesDataSet builds a window in Python
    on every access (most of an epoch's time here), and ours never change (no length randomisation)."""
    from torch.utils.data import DataLoader

    samples = [dataset[i] for i in range(len(dataset))]
    return DataLoader(samples, batch_size=batch_size, shuffle=shuffle, collate_fn=dataset._collate_fn, num_workers=0)


# --- the model -------------------------------------------------------------------------------------------------


class TftModel:
    """Temporal Fusion Transformer on gold_tft_training_dataset: the row of semester t is scored from the
    window of its stretch up to t (static inputs, and every observed semester, row t included, as
    time-varying unknown inputs of the encoder) and a decoder step t+1 that sees only the calendar (the
    known inputs). A first-semester student has a one-step encoder.

    Reasons (`explain`): the TFT's variable-selection networks weigh the inputs of each window; a column's
    weight is the mean of its share in the static, encoder (averaged over the encoder steps) and decoder
    networks, so weights are comparable across columns and sum to 1 over all inputs. The top k by weight are
    the reasons. Selection weights are non-negative: they say what the network looked at, not which way it
    pushed. The sign is that of p(row) - p(row with that input set to its neutral value in every step),
    the neutral value being the median (real) or most frequent category on the fit rows: positive when the
    student's actual value raises the risk over a typical one. An input at its neutral value in every step
    cannot push either way (its sign would be 0), so the top k are taken among the inputs where the window
    departs from the typical student first. It is honest (the model's own response, computed for that row)
    and cheap (k extra forward passes); it is a one-at-a-time contrast, blind to interactions."""

    name = "tft"

    def __init__(self, settings: TftSettings | None = None):
        self.settings = settings or TftSettings()
        self.inputs: Inputs | None = None
        self.calendar: pd.DataFrame | None = None  # refreshed by load(): the next semester's calendar
        self.roles: dict[str, list[str]] = {}
        self.log_columns: list[str] = []
        self.dropped: list[str] = []
        self.neutral: dict = {}
        self.positive_weight = 1.0
        self.dataset_parameters: dict | None = None
        self.network = None
        self._checkpoint: Path | None = None

    # the inputs actually fed to the network, by role
    @property
    def features(self) -> list[str]:
        return [c for role in INPUT_ROLES for c in self.roles.get(role, [])]

    @property
    def categoricals(self) -> list[str]:
        return [c for role in INPUT_ROLES if role.endswith("categoricals") for c in self.roles.get(role, [])]

    @property
    def known(self) -> list[str]:
        return self.roles.get("time_varying_known_categoricals", []) + self.roles.get("time_varying_known_reals", [])

    def _sorted(self, history: pd.DataFrame) -> pd.DataFrame:
        columns = [KEY, TIME, TARGET, *self.features]
        frame = history[columns].sort_values([KEY, TIME], kind="stable").reset_index(drop=True)
        # plain Python strings: the library encodes categories value by value, far slower on Arrow strings
        for column in (KEY, TARGET, *self.categoricals):
            frame[column] = frame[column].astype(str).astype(object)
        return frame

    def _windows(self, history: pd.DataFrame, scored: np.ndarray, weights: np.ndarray | None = None) -> pd.DataFrame:
        return windows(history, scored, self.calendar, self.known, self.settings.max_encoder_length, weights)

    def _transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        for column in self.log_columns:
            frame[column] = np.log1p(frame[column].astype(float))
        return frame

    def _dataset_kwargs(self) -> dict:
        from pytorch_forecasting.data.encoders import NaNLabelEncoder

        return dict(
            time_idx=TIME,
            target=TARGET,
            group_ids=[WINDOW],
            weight=WEIGHT,
            max_encoder_length=self.settings.max_encoder_length,
            min_encoder_length=1,
            max_prediction_length=1,
            target_normalizer=NaNLabelEncoder(),
            # programs, sites or calendar events unseen in the fit rows map to the unknown class
            categorical_encoders={c: NaNLabelEncoder(add_nan=True, warn=False) for c in self.categoricals},
            add_relative_time_idx=True,
            predict_mode=True,
            **{role: self.roles.get(role, []) for role in INPUT_ROLES},
        )

    # --- fit --------------------------------------------------------------------------------------------------

    def fit(
        self, history: pd.DataFrame, fit_rows: pd.Series, select_rows: pd.Series, inputs: Inputs, workdir: Path
    ) -> dict:
        """Gradient steps on the windows of `fit_rows` only (weighted for class imbalance); the select rows'
        windows give the loss for early stopping, the learning-rate schedule and the checkpoint kept. Scalers,
        categories, log-scaling, dropped inputs and neutral values come from the fit rows."""
        import lightning.pytorch as pl
        from pytorch_forecasting import TemporalFusionTransformer, TimeSeriesDataSet
        from pytorch_forecasting.metrics import CrossEntropy
        from torch import nn

        started = time.perf_counter()
        self.inputs, self.calendar = inputs, inputs.calendar
        self.roles = {role: list(inputs.roles.get(role, [])) for role in INPUT_ROLES}
        fit_mask = fit_rows.reindex(history.index, fill_value=False).to_numpy(dtype=bool)
        select_mask = select_rows.reindex(history.index, fill_value=False).to_numpy(dtype=bool)
        if not fit_mask.any() or not select_mask.any():
            raise ValueError("the TFT needs fit rows to learn from and select rows to stop on")
        order = history.assign(_fit=fit_mask, _select=select_mask).sort_values([KEY, TIME], kind="stable")
        frame = self._sorted(order)
        fit_mask, select_mask = order["_fit"].to_numpy(), order["_select"].to_numpy()
        fitted = frame[fit_mask]

        self.dropped = constant_inputs(fitted, self.features)
        self.roles = {role: [c for c in cols if c not in self.dropped] for role, cols in self.roles.items()}
        reals = [c for c in self.features if c not in self.categoricals]
        self.log_columns = heavy_tailed(fitted, reals)
        self.neutral = neutral_values(fitted, self.features, self.categoricals)
        weights, self.positive_weight = class_weights(frame[TARGET], fit_mask)

        with _quiet():
            train = TimeSeriesDataSet(
                self._transform(self._windows(frame, fit_mask, weights)), **self._dataset_kwargs()
            )
            select = TimeSeriesDataSet.from_dataset(
                train, self._transform(self._windows(frame, select_mask, weights)), predict=True
            )
            parameters = _parameters(train)
            pl.seed_everything(self.settings.seed, workers=True, verbose=False)
            network = TemporalFusionTransformer.from_dataset(
                train,
                dataset_parameters=parameters,
                loss=CrossEntropy(),
                hidden_size=self.settings.hidden_size,
                attention_head_size=self.settings.attention_heads,
                dropout=self.settings.dropout,
                hidden_continuous_size=self.settings.hidden_continuous_size,
                learning_rate=self.settings.learning_rate,
                reduce_on_plateau_patience=2,
                log_interval=-1,
                logging_metrics=nn.ModuleList([]),
            )
            trainer, best, losses = self._trainer(Path(workdir))
            trainer.fit(
                network,
                train_dataloaders=_loader(train, self.settings.batch_size, shuffle=True),
                val_dataloaders=_loader(select, 2048, shuffle=False),
            )
            self._checkpoint = Path(best.best_model_path)
            self.network = TemporalFusionTransformer.load_from_checkpoint(self._checkpoint, map_location="cpu")
        self.network.eval()
        self.dataset_parameters = parameters
        best_epoch = int(np.argmin(losses)) + 1
        info = {
            "epocas": len(losses),
            "mejor_epoca": best_epoch,
            "perdida_seleccion": [round(x, 6) for x in losses],
            "ventanas_ajuste": len(train),
            "ventanas_seleccion": len(select),
            "peso_positivos": self.positive_weight,
            "log1p": self.log_columns,
            "entradas_constantes": self.dropped,
            "segundos": time.perf_counter() - started,
            "ajustes": asdict(self.settings),
        }
        log.info(
            "TFT: %d epochs (best %d, select loss %.4f) on %s fit windows in %.1fs",
            len(losses),
            best_epoch,
            min(losses),
            f"{len(train):,}",
            info["segundos"],
        )
        return info

    def _trainer(self, workdir: Path):
        import lightning.pytorch as pl
        from lightning.pytorch.callbacks import Callback, EarlyStopping, ModelCheckpoint

        losses: list[float] = []

        class SelectLoss(Callback):
            def on_validation_epoch_end(self, trainer, module):
                if not trainer.sanity_checking:
                    losses.append(float(trainer.callback_metrics["val_loss"]))
                    log.info("TFT epoch %d: select loss %.4f", len(losses), losses[-1])

        directory = workdir / "tft_checkpoints"
        shutil.rmtree(directory, ignore_errors=True)
        best = ModelCheckpoint(dirpath=directory, filename="tft-{epoch}", monitor="val_loss", mode="min")
        trainer = pl.Trainer(
            max_epochs=self.settings.max_epochs,
            accelerator="cpu",
            devices=1,
            gradient_clip_val=0.1,
            callbacks=[
                EarlyStopping(monitor="val_loss", patience=self.settings.patience, mode="min"),
                best,
                SelectLoss(),
            ],
            enable_progress_bar=False,
            enable_model_summary=False,
            enable_checkpointing=True,
            logger=False,
            deterministic=True,
            num_sanity_val_steps=0,
        )
        return trainer, best, losses

    # --- scoring ----------------------------------------------------------------------------------------------

    def _locate(self, frame: pd.DataFrame, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """The mask of `rows` in the sorted history and their window ids, in the order of `rows`."""
        wanted = window_ids(rows[KEY], rows[TIME])
        ids = window_ids(frame[KEY], frame[TIME])
        missing = ~pd.Index(wanted).isin(ids)
        if missing.any():
            raise KeyError(f"{int(missing.sum())} rows to score are not in the history, e.g. {wanted[missing][:3]}")
        return pd.Index(ids).isin(wanted), wanted

    def _forward(self, frame: pd.DataFrame, weights: bool = False):
        """P(target = '1') per window id (and, with weights=True, each input's selection weight)."""
        import torch
        from pytorch_forecasting import TimeSeriesDataSet

        assert self.network is not None and self.dataset_parameters is not None, "fit or load first"
        with _quiet():
            dataset = TimeSeriesDataSet.from_parameters(self.dataset_parameters, frame, predict=True)
            ids = dataset.decoded_index[WINDOW].to_numpy()
            positive = self.dataset_parameters["target_normalizer"].classes_["1"]
            network = self.network.eval()
            probabilities, selected = [], []
            with torch.no_grad():
                for x, _ in dataset.to_dataloader(train=False, batch_size=4096, num_workers=0):
                    out = network(x)
                    probabilities.append(torch.softmax(out["prediction"][:, 0, :], dim=-1)[:, positive])
                    if weights:
                        selected.append(self._selection(out, x["encoder_lengths"]))
        p = pd.Series(torch.cat(probabilities).numpy().astype(float), index=ids)
        if not weights:
            return p
        return p, pd.DataFrame(torch.cat(selected).numpy(), index=ids, columns=self._selection_columns())

    def _selection_columns(self) -> list[str]:
        network = self.network
        return list(dict.fromkeys(network.static_variables + network.encoder_variables + network.decoder_variables))

    def _selection(self, out: dict, encoder_lengths):
        """Per window, each input's mean share in the static, encoder and decoder selection networks."""
        import torch

        network = self.network
        columns = self._selection_columns()
        total = torch.zeros(len(encoder_lengths), len(columns))
        static = out["static_variables"].reshape(len(encoder_lengths), -1)
        encoder = out["encoder_variables"].squeeze(-2)
        valid = torch.arange(encoder.size(1))[None, :] < encoder_lengths[:, None]
        encoder = (encoder * valid[..., None]).sum(dim=1) / encoder_lengths[:, None].clamp(min=1)
        decoder = out["decoder_variables"].squeeze(-2)[:, 0]
        for names, share in (
            (network.static_variables, static),
            (network.encoder_variables, encoder),
            (network.decoder_variables, decoder),
        ):
            for i, name in enumerate(names):
                total[:, columns.index(name)] += share[:, i] / 3
        return total

    def predict(self, history: pd.DataFrame, rows: pd.DataFrame) -> np.ndarray:
        """P(target = '1') of each of `rows`, from that student's rows up to the row's semester (later rows of
        `history` are ignored) and the calendar of the next semester."""
        frame = self._sorted(history)
        scored, wanted = self._locate(frame, rows)
        p = self._forward(self._transform(self._windows(frame, scored)))
        return p.loc[wanted].to_numpy()

    def explain(self, history: pd.DataFrame, rows: pd.DataFrame, k: int = 3) -> pd.DataFrame:
        """The k inputs with the largest selection weight for each row, signed by the row's own response to
        setting that input to its neutral value (see the class docstring)."""
        frame = self._sorted(history)
        scored, wanted = self._locate(frame, rows)
        raw = self._windows(frame, scored)
        p, selected = self._forward(self._transform(raw.copy()), weights=True)
        candidates = selected[[c for c in selected.columns if c not in LIBRARY_INPUTS]]
        values = candidates.to_numpy()[candidates.index.get_indexer(wanted)]
        # an input at its neutral value all along the window cannot push either way: it comes last
        atypical = pd.DataFrame({c: raw[c].ne(self.neutral[c]) for c in candidates.columns}).groupby(raw[WINDOW]).any()
        eligible = atypical.loc[wanted].to_numpy()
        k = min(k, values.shape[1])
        # weights are shares in [0, 1]: minus 2 puts every ineligible input after every eligible one
        top = np.argsort(-np.where(eligible, values, values - 2.0), axis=1, kind="stable")[:, :k]
        names = np.asarray(candidates.columns)[top]
        weights = np.take_along_axis(values, top, axis=1)

        # rank r: every window again, with its r-th input set to the neutral value in all of its steps
        variants = []
        for r in range(k):
            variant = raw.copy()
            column_of_step = variant[WINDOW].map(dict(zip(wanted, names[:, r]))).to_numpy()
            for column in np.unique(names[:, r]):
                variant.loc[column_of_step == column, column] = self.neutral[column]
            variant[WINDOW] = variant[WINDOW] + f"#{r}"
            variants.append(variant)
        moved = self._forward(self._transform(pd.concat(variants, ignore_index=True)))

        base = p.loc[wanted].to_numpy()
        keys = rows[[KEY, TIME]].reset_index(drop=True)
        reasons = [
            keys.assign(
                orden=r + 1,
                column_name=names[:, r],
                # below 1e-9 the input made no difference: no direction
                peso=np.sign(np.round(base - moved.loc[[f"{w}#{r}" for w in wanted]].to_numpy(), 9)) * weights[:, r],
            )
            for r in range(k)
        ]
        out = pd.concat(reasons, ignore_index=True)
        return out.sort_values([KEY, TIME, "orden"], kind="stable").reset_index(drop=True)[REASON_COLUMNS]

    # --- persistence ------------------------------------------------------------------------------------------

    def save(self, run_dir: Path) -> None:
        assert self._checkpoint is not None, "fit or load first"
        run_dir = Path(run_dir)
        if self._checkpoint.resolve() != (run_dir / CHECKPOINT).resolve():
            shutil.copyfile(self._checkpoint, run_dir / CHECKPOINT)
        state = {
            "settings": asdict(self.settings),
            "inputs": self.inputs,
            "roles": self.roles,
            "log_columns": self.log_columns,
            "dropped": self.dropped,
            "neutral": self.neutral,
            "positive_weight": self.positive_weight,
            "dataset_parameters": self.dataset_parameters,
        }
        with open(run_dir / STATE, "wb") as fh:
            pickle.dump(state, fh)

    @classmethod
    def load(cls, run_dir: Path, calendar: pd.DataFrame | None = None) -> TftModel:
        """The saved model; `calendar` (today's gold_tft_known_future) replaces the training one, which may
        end before the semester after today's as-of date."""
        from pytorch_forecasting import TemporalFusionTransformer

        run_dir = Path(run_dir)
        with open(run_dir / STATE, "rb") as fh:
            state = pickle.load(fh)
        model = cls(TftSettings(**state["settings"]))
        model.inputs = state["inputs"]
        model.calendar = calendar if calendar is not None else model.inputs.calendar
        for name in ("roles", "log_columns", "dropped", "neutral", "positive_weight", "dataset_parameters"):
            setattr(model, name, state[name])
        model._checkpoint = run_dir / CHECKPOINT
        with _quiet():
            model.network = TemporalFusionTransformer.load_from_checkpoint(model._checkpoint, map_location="cpu")
        model.network.eval()
        return model
