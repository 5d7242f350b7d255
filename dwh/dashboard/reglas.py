"""The dashboard's fixed rules: small-group threshold, risk levels and sources, the missing-name label."""

from __future__ import annotations

UMBRAL_GRUPO_PEQUENO = 10
# What every view shows for a missing program or site (gold.riesgo_actual writes the same).
SIN_DATO = "sin dato"
NIVELES = ("alto", "medio", "bajo")
FUENTE_MODELO = "modelo"
FUENTE_HEURISTICA = "heurística"
# Model probability of dropping out (ml.predicciones.probabilidad); gold.riesgo_actual applies the same.
UMBRALES_MODELO = {"alto": 0.5, "medio": 0.2}
# gold.mart_student_risk_features.risk_score_heuristic (0-11): a fixed rule, not a model, not a probability.
UMBRALES_HEURISTICA = {"alto": 6, "medio": 3}
