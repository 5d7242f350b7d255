"""Strata of the evaluation rows: what was already visible at the freeze, and what is left to forecast."""

from __future__ import annotations

import numpy as np
import pandas as pd

YA_AUSENTE, NO_INSCRIPTO, PRONOSTICO = "ya_ausente", "no_inscripto", "pronostico"
STRATA = (YA_AUSENTE, NO_INSCRIPTO, PRONOSTICO)
COMPROMETIDO = "comprometido"  # a part of PRONOSTICO
ASISTENCIA_COMPROMETIDA = 60.0


def stratum(frame: pd.DataFrame) -> pd.Series:
    """ya_ausente: no academic activity this semester; no_inscripto: active, the enrolment for the next
    semester had opened by the freeze and the student had not enrolled; pronostico: every other row."""
    absent = frame["activo"] == "0"
    not_enrolled = (frame["inscripcion_siguiente_abierta"] == "1") & (frame["inscripto_siguiente"] == "0")
    values = np.select([absent, not_enrolled], [YA_AUSENTE, NO_INSCRIPTO], PRONOSTICO)
    return pd.Series(values, index=frame.index, name="estrato")


def committed(frame: pd.DataFrame) -> pd.Series:
    """Rows where nothing visible says the student is leaving: attendance of at least 60 % (Guaraní's, or
    Moodle's where Guaraní recorded none) and a course in progress or passed this semester."""
    guarani = frame["asistencia_guarani_missing"] == "0"
    moodle = frame["asistencia_moodle_missing"] == "0"
    attendance = np.where(guarani, frame["asistencia_guarani"], np.where(moodle, frame["asistencia_moodle"], np.nan))
    attends = pd.Series(attendance, index=frame.index) >= ASISTENCIA_COMPROMETIDA
    going = (frame["cursadas_en_curso"] > 0) | (frame["cursadas_regularizadas"] > 0) | (frame["examenes_aprobados"] > 0)
    return (stratum(frame) == PRONOSTICO) & attends & going


def rule_score(frame: pd.DataFrame) -> np.ndarray:
    """The rule baseline: 2 when absent this semester, 1 when not enrolled for the next one, else 0.

    Within `pronostico` it is constant by construction (AUC 0.5): that stratum is what the rules cannot see.
    """
    s = stratum(frame)
    return np.select([s == YA_AUSENTE, s == NO_INSCRIPTO], [2.0, 1.0], 0.0)
