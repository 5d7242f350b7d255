"""`evaluate`: every model on the test semesters, per stratum, label part and group, with 95 % intervals,
against the rule baseline and (on synthetic data) the label-matched oracle; the leakage alarm; the card."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from dwh.ml import card, metrics, plots, runs, strata
from dwh.ml.train import GROUPS, PREDICTIONS

log = logging.getLogger("dwh.ml.evaluate")
ORACLE, RULES = "oraculo", "reglas"
STRATA_REPORTED = ("todas", *strata.STRATA, strata.COMPROMETIDO)
PARTS = ("abandono", "perdida_regularidad")


class LeakageAlarm(RuntimeError):
    """A model ranks the forecast rows better than the generator's own truth allows: something leaks."""


def _stratum_mask(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name == "todas":
        return np.ones(len(frame), dtype=bool)
    if name == strata.COMPROMETIDO:
        return frame["comprometido"].to_numpy() == 1
    return frame["estrato"].to_numpy() == name


def _score_columns(frame: pd.DataFrame, learnt: list[str]) -> list[str]:
    return [*learnt, RULES, *([ORACLE] if ORACLE in frame else [])]


def _scores(frame: pd.DataFrame, mask: np.ndarray, model: str, reps: metrics.Replicates, y: str = "y") -> dict:
    if model == ORACLE:
        mask = mask & frame[ORACLE].notna().to_numpy()
    only = metrics.RANKING if model == RULES else None
    return metrics.scores(frame.loc[mask, y].to_numpy(), frame.loc[mask, model].to_numpy(), reps.subset(mask), only)


def _semesters(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    keys = {str(int(t)): (frame["time_idx"] == t).to_numpy() for t in sorted(frame["time_idx"].unique())}
    return keys | {"todos": np.ones(len(frame), dtype=bool)}


def _strata_figures(frame: pd.DataFrame, models: list[str], reps: metrics.Replicates) -> dict:
    out: dict = {}
    for key, in_semester in _semesters(frame).items():
        section: dict = {"estratos": {}, "partes": {}}
        for name in STRATA_REPORTED:
            mask = in_semester & _stratum_mask(frame, name)
            section["estratos"][name] = {m: _scores(frame, mask, m, reps) for m in models}
        for part in PARTS:
            section["partes"][part] = {
                name: {m: _scores(frame, in_semester & _stratum_mask(frame, name), m, reps, y=part) for m in models}
                for name in ("todas", strata.PRONOSTICO)
            }
        out[key] = section
    return out


def _comparisons(frame: pd.DataFrame, learnt: list[str], reps: metrics.Replicates) -> dict:
    """Paired AUC differences on `pronostico` (all test semesters): each model against the rules, the
    TFT against the tree, the oracle against each model (on the rows the oracle covers)."""
    mask = _stratum_mask(frame, strata.PRONOSTICO)
    y = frame["y"].to_numpy()
    out: dict = {}

    def diff(a: str, b: str, m: np.ndarray) -> dict:
        if y[m].min(initial=0) == y[m].max(initial=0):
            return {"valor": None, "ic95": None}
        return metrics.paired_difference(y[m], frame.loc[m, a].to_numpy(), frame.loc[m, b].to_numpy(), reps.subset(m))

    for m in learnt:
        out[f"{m}_menos_{RULES}"] = diff(m, RULES, mask)
    if {"tft", "arbol"} <= set(learnt):
        out["tft_menos_arbol"] = diff("tft", "arbol", mask)
    if ORACLE in frame:
        covered = mask & frame[ORACLE].notna().to_numpy()
        for m in learnt:
            out[f"{ORACLE}_menos_{m}"] = diff(ORACLE, m, covered)
    return out


def _groups(frame: pd.DataFrame, model: str, reps: metrics.Replicates) -> dict:
    out: dict = {}
    for column in GROUPS:
        out[column] = {
            str(value): metrics.scores(
                frame.loc[mask, "y"].to_numpy(),
                frame.loc[mask, model].to_numpy(),
                reps.subset(mask),
                only=("auc", "ece", "pendiente_calibracion", "recall_top10"),
            )
            for value in sorted(frame[column].astype(str).unique())
            for mask in [(frame[column].astype(str) == value).to_numpy()]
        }
    return out


def _default_model(by_semester: dict, learnt: list[str]) -> tuple[str, str]:
    """The TFT only when its `pronostico` AUC (all test semesters) is within the tree's interval or above."""
    pron = by_semester["todos"]["estratos"][strata.PRONOSTICO]
    if "tft" not in learnt:
        return learnt[0], f"solo se entrenó {learnt[0]}"
    if "arbol" not in learnt:
        return "tft", "solo se entrenó tft"
    tree, tft = pron["arbol"].get("auc"), pron["tft"].get("auc")
    if not tree or not tft or tree["valor"] is None or tft["valor"] is None:
        return "arbol", "sin AUC comparable en pronostico: el árbol, más simple"
    low = tree["ic95"][0]
    if tft["valor"] >= low:
        return "tft", f"AUC del TFT en pronostico {tft['valor']:.3f} dentro del intervalo del árbol (≥ {low:.3f})"
    return "arbol", (
        f"AUC del TFT en pronostico {tft['valor']:.3f} bajo el intervalo del árbol ({low:.3f}–{tree['ic95'][1]:.3f}): "
        "el TFT queda como opción"
    )


def _alarms(by_semester: dict, learnt: list[str]) -> list[str]:
    """On synthetic data: a model whose `pronostico` AUC exceeds the oracle's upper bound on the same rows."""
    found = []
    for key, section in by_semester.items():
        pron = section["estratos"][strata.PRONOSTICO]
        oracle = pron.get(ORACLE, {}).get("auc")
        if not oracle or oracle["valor"] is None:
            continue
        for m in learnt:
            mine = section.get("pronostico_con_oraculo", {}).get(m, {}).get("auc")
            if mine and mine["valor"] is not None and mine["valor"] > oracle["ic95"][1]:
                found.append(
                    f"estrato pronostico, semestre {key}: AUC de {m} {mine['valor']:.3f} > cota superior del "
                    f"oráculo {oracle['ic95'][1]:.3f} (oráculo {oracle['valor']:.3f}): posible fuga de información"
                )
    return found


def _oracle(published: Path, frame: pd.DataFrame, replicas: int) -> tuple[pd.DataFrame, dict | None]:
    from dwh.ml.oracle import matched_oracle

    values = matched_oracle(published, frame[["alumno_key", "time_idx"]], replicas=replicas)
    if values is None:
        return frame, None
    info = dict(values.attrs.get("oracle", {}))
    values = values.rename(columns={"oracle": ORACLE})
    merged = frame.merge(values, on=["alumno_key", "time_idx"], how="left", validate="one_to_one")
    accepted = merged.loc[merged[ORACLE].notna(), "replicas_aceptadas"]
    if len(accepted):
        info["replicas_aceptadas"] = {"minimo": int(accepted.min()), "mediana": float(accepted.median())}
    return merged, info


def evaluate(
    run_dir: Path, published: Path, oracle: bool = True, bootstrap: int = 500, oracle_replicas: int = 200
) -> dict:
    params = runs.read_json(run_dir / "params.json")
    frame = pd.read_csv(run_dir / PREDICTIONS, dtype={"alumno_key": str, **{g: str for g in GROUPS}})
    learnt = [m for m in params["models"] if m in frame]
    oracle_info = None
    if oracle:
        frame, oracle_info = _oracle(published, frame, oracle_replicas)
    if ORACLE in frame and frame[ORACLE].isna().all():
        frame = frame.drop(columns=[ORACLE])
    models = _score_columns(frame, learnt)
    reps = metrics.Replicates.by_student(frame["alumno_key"].to_numpy(), bootstrap, seed=0)
    by_semester = _strata_figures(frame, models, reps)
    if ORACLE in frame:
        # the alarm compares each model with the oracle on exactly the rows the oracle covers
        for key, in_semester in _semesters(frame).items():
            covered = in_semester & _stratum_mask(frame, strata.PRONOSTICO) & frame[ORACLE].notna().to_numpy()
            by_semester[key]["pronostico_con_oraculo"] = {m: _scores(frame, covered, m, reps) for m in learnt}
    default, why = _default_model(by_semester, learnt)
    alarms = _alarms(by_semester, learnt)
    result = {
        "run_id": params["run_id"],
        "horizonte_semestres": params["horizonte_semestres"],
        "particion": params["particion"],
        "filas_prueba": len(frame),
        "bootstrap": {"replicas": bootstrap, "unidad": "estudiante (alumno_key)", "intervalo": "percentil 95 %"},
        "oraculo": oracle_info,
        "semestres": by_semester,
        "comparaciones_pronostico": _comparisons(frame, learnt, reps),
        "grupos": {"modelo": default, **_groups(frame, default, reps)},
        "modelo_por_defecto": default,
        "motivo_modelo_por_defecto": why,
        "alarmas_fuga": alarms,
        "ajustes": params.get("ajustes", {}),
        "advertencias": params.get("advertencias", []),
    }
    result["graficos"] = [p.name for p in plots.draw(frame, learnt, run_dir)]
    runs.write_json(run_dir / "metrics.json", result)
    (run_dir / card.FILE).write_text(card.render(params, result), encoding="utf-8")
    _log_headline(result, models)
    if alarms:
        raise LeakageAlarm("; ".join(alarms))
    return result


def _log_headline(result: dict, models: list[str]) -> None:
    for key, section in result["semestres"].items():
        for name in ("todas", strata.PRONOSTICO, strata.COMPROMETIDO):
            for m in models:
                s = section["estratos"][name].get(m, {})
                auc = s.get("auc")
                if not auc or auc["valor"] is None:
                    continue
                ece = s.get("ece")
                log.info(
                    "semestre %-5s %-13s %-7s AUC %.3f [%.3f, %.3f]%s  (n %s, %.1f %% positivos)",
                    key,
                    name,
                    m,
                    auc["valor"],
                    *auc["ic95"],
                    f"  ECE {ece['valor']:.3f}" if ece and ece["valor"] is not None else "",
                    f"{s['n']:,}",
                    100 * s["tasa_positivos"],
                )
    log.info("default model: %s (%s)", result["modelo_por_defecto"], result["motivo_modelo_por_defecto"])
