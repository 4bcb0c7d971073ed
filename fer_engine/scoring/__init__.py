"""Scores below every pipeline step: classification metrics and the paper's published numbers as data.

A low layer so that `heads/` (training accuracy of a fitted head, the paper's XGBoost search) and
`evaluation/` both read them without `heads/` importing `evaluation/`.
"""

from fer_engine.scoring.metrics import ClassificationMetrics, classification_metrics

__all__ = ["ClassificationMetrics", "classification_metrics"]
