"""Heads by name ('svm', 'xgboost', 'rf', 'mlp'), built as scikit-learn estimators."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.class_weight import compute_sample_weight

from fer_engine.errors import ConfigError
from fer_engine.heads import mlp, random_forest, svm, xgboost_head
from fer_engine.heads.base import HeadSpec

HEAD_SPECS: dict[str, HeadSpec] = {
    spec.name: spec for spec in (svm.SPEC, xgboost_head.SPEC, random_forest.SPEC, mlp.SPEC)
}
HEAD_NAMES: tuple[str, ...] = tuple(HEAD_SPECS)
SOFTMAX = "softmax"
"""The network's own classifier, scored beside the heads."""
CLASSIFIER_NAMES: tuple[str, ...] = (SOFTMAX, *HEAD_NAMES)
CLASS_WEIGHTS = (None, "balanced")
CLASS_WEIGHT_CHOICES: tuple[str, ...] = tuple(weight or "none" for weight in CLASS_WEIGHTS)
"""`CLASS_WEIGHTS` as the CLI spells them ('none' for None)."""


def get_head_spec(name: str) -> HeadSpec:
    """The registered head `name`, or a ConfigError listing the known heads."""
    if name not in HEAD_SPECS:
        raise ConfigError(f"unknown head '{name}'; available: {', '.join(HEAD_NAMES)}")
    return HEAD_SPECS[name]


def _check_class_weight(class_weight: Any) -> None:
    if class_weight not in CLASS_WEIGHTS and not isinstance(class_weight, dict):
        raise ConfigError(f"class_weight must be None, 'balanced' or a dict of class -> weight, not {class_weight!r}")


def create_head(
    name: str, *, class_weight: str | dict | None = None, random_state: int = 0, **params: Any
) -> BaseEstimator:
    """A fresh, unfitted estimator for head `name`; `params` override its defaults (classifier arguments)."""
    spec = get_head_spec(name)
    _check_class_weight(class_weight)
    try:
        return spec.build(class_weight=class_weight, random_state=random_state, **params)
    except TypeError as exc:
        raise ConfigError(f"invalid parameters for head '{name}': {exc}") from exc


def class_weight_fit_params(name: str, y: np.ndarray, class_weight: str | dict | None) -> dict[str, np.ndarray]:
    """Fit keyword arguments that apply `class_weight` to heads without a class_weight option (empty otherwise)."""
    spec = get_head_spec(name)
    _check_class_weight(class_weight)
    if class_weight is None or spec.sample_weight_param is None:
        return {}
    return {spec.sample_weight_param: compute_sample_weight(class_weight, y)}
