"""Dropout models on the feature store: a LightGBM tree and a Temporal Fusion Transformer, evaluated honestly."""
