"""Machine learning on the feature store: a Temporal Fusion Transformer and a gradient-boosting baseline."""
