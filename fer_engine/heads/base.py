"""What the registry knows about a head: how to build it, its random-search space, how it is stored."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sklearn.base import BaseEstimator

SKOPS_STORAGE = "skops"
XGBOOST_JSON_STORAGE = "xgboost_json"

CLASSIFIER_STEP = "classifier"
SCALER_STEP = "scale"


@dataclass(frozen=True)
class HeadSpec:
    """A head by name: `build(class_weight=, random_state=, **params)`, its search space, its storage format.

    `sample_weight_param` names the fit parameter that takes per-sample weights when the estimator has no
    `class_weight` option of its own (class weighting is then done with balanced sample weights).
    """

    name: str
    title: str
    build: Callable[..., BaseEstimator]
    search_space: dict[str, Any] = field(default_factory=dict)
    storage: str = SKOPS_STORAGE
    sample_weight_param: str | None = None
    key_params: tuple[str, ...] = ()  # the classifier settings a report shows
    device_param: str | None = None  # parameter set to 'cuda' when a GPU is present (fitting there is faster)
