"""Metrics of a head on a split, the paper's published numbers as data, and the paper-layout report."""

from fer_engine.evaluation.metrics import ClassificationMetrics, classification_metrics

__all__ = ["ClassificationMetrics", "classification_metrics"]
