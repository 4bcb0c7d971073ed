"""XGBoost head: a scikit-learn classifier around XGBClassifier adding class weights and any label set.

XGBClassifier needs labels 0..K-1 and takes class weights only as fit-time sample weights; this wrapper
encodes labels, turns `class_weight` into sample weights, and stores itself in XGBoost's own JSON format.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted
from xgboost import XGBClassifier

from fer_engine.heads.base import XGBOOST_JSON_STORAGE, HeadSpec

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data
except ImportError:  # pragma: no cover - older scikit-learn

    def validate_data(estimator, X, y="no_validation", reset=True, **kwargs):
        if isinstance(y, str) and y == "no_validation":
            return estimator._validate_data(X, reset=reset, **kwargs)
        return estimator._validate_data(X, y, reset=reset, **kwargs)


# Booster attribute holding the wrapper's parameters and classes, so the .xgb.json file is self-contained.
_HEAD_ATTRIBUTE = "fer_engine_head"
SMALL_DATA_ROWS = 10_000  # below this, n_jobs=None means one thread
_BOOSTER_PARAMS = (
    "n_estimators",
    "max_depth",
    "learning_rate",
    "subsample",
    "colsample_bytree",
    "min_child_weight",
    "tree_method",
    "n_jobs",
    "device",
)


class XGBoostHead(ClassifierMixin, BaseEstimator):
    """Gradient-boosted trees (histogram method) with scikit-learn's `class_weight` semantics."""

    def __init__(
        self,
        n_estimators: int = 300,
        max_depth: int = 6,
        learning_rate: float = 0.1,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        min_child_weight: float = 1,
        tree_method: str = "hist",
        class_weight: str | dict | None = None,
        random_state: int = 0,
        n_jobs: int | None = None,
        device: str = "cpu",
    ):
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.min_child_weight = min_child_weight
        self.tree_method = tree_method
        self.class_weight = class_weight
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.device = device

    def _booster_settings(self, n_samples: int) -> dict:
        settings = {name: getattr(self, name) for name in _BOOSTER_PARAMS} | {"random_state": self.random_state}
        if self.n_jobs is None and n_samples < SMALL_DATA_ROWS:
            # On small data, thread synchronisation costs more than it saves (20x slower on a busy 2-core CPU).
            settings["n_jobs"] = 1
        return settings

    def fit(self, X, y, sample_weight=None) -> XGBoostHead:
        """Fit on features X (N, D) and labels y of any type; `class_weight` becomes per-sample weights."""
        X, y = validate_data(self, X, y, dtype=np.float32)
        check_classification_targets(y)
        self.classes_, encoded = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"XGBoostHead needs at least 2 classes in y; got 1 class: {self.classes_[0]!r}")
        weights = compute_sample_weight(self.class_weight, encoded) if self.class_weight is not None else None
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=np.float64)
            weights = sample_weight if weights is None else weights * sample_weight
        if weights is not None and not np.any(weights > 0):
            raise ValueError("sample weights are all zero: at least one sample needs a positive weight")
        self.model_ = XGBClassifier(**self._booster_settings(len(y)))
        self.model_.fit(X, encoded, sample_weight=weights)
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities (N, K) in the order of `classes_`."""
        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False, dtype=np.float32)
        return self.model_.predict_proba(X)

    def predict(self, X) -> np.ndarray:
        """The most probable class of each row."""
        probabilities = self.predict_proba(X)
        return self.classes_[np.argmax(probabilities, axis=1)]

    def save_json(self, path: str | Path) -> None:
        """Write the booster in XGBoost's JSON format with this wrapper's parameters and classes inside it."""
        check_is_fitted(self, "model_")
        if self.classes_.dtype.kind not in "iub":
            raise ValueError("XGBoostHead can be stored only with integer class labels")
        booster = self.model_.get_booster()
        booster.set_attr(
            **{
                _HEAD_ATTRIBUTE: json.dumps(
                    {
                        "params": self.get_params(),
                        "classes": self.classes_.tolist(),
                        "n_features_in": int(self.n_features_in_),
                    }
                )
            }
        )
        self.model_.save_model(str(path))

    @classmethod
    def load_json(cls, path: str | Path) -> XGBoostHead:
        """Rebuild a fitted head from `save_json` output (no pickle involved)."""
        model = XGBClassifier()
        model.load_model(str(path))
        raw = model.get_booster().attr(_HEAD_ATTRIBUTE)
        if not raw:
            raise ValueError(f"{path} is an XGBoost model but not a fer_engine head (no '{_HEAD_ATTRIBUTE}' attribute)")
        stored = json.loads(raw)
        # Predict on the CPU wherever it was fitted (a GPU-fitted head must load on a CPU-only machine).
        stored["params"]["device"] = "cpu"
        model.set_params(device="cpu")
        head = cls(**stored["params"])
        head.model_ = model
        head.classes_ = np.asarray(stored["classes"], dtype=np.int64)
        head.n_features_in_ = int(stored["n_features_in"])
        return head


def build_xgboost(*, class_weight: str | dict | None = None, random_state: int = 0, **params) -> XGBoostHead:
    """XGBoost (hist) with 300 rounds of depth-6 trees; `**params` override any XGBoostHead argument."""
    return XGBoostHead(class_weight=class_weight, random_state=random_state, **params)


# Every value of the paper's best configuration is in its list, so the search can find it.
SEARCH_SPACE = {
    "n_estimators": [100, 200, 300, 500],
    "max_depth": [3, 4, 6, 8, 10],
    "learning_rate": [0.03, 0.05, 0.1, 0.2, 0.3],
    "subsample": [0.5, 0.6, 0.8, 1.0],
    "colsample_bytree": [0.4, 0.6, 0.8, 1.0],
    "min_child_weight": [1, 2, 4, 6],
}

SPEC = HeadSpec(
    name="xgboost",
    title="XGBoost",
    build=build_xgboost,
    search_space=SEARCH_SPACE,
    storage=XGBOOST_JSON_STORAGE,
    device_param="device",
    key_params=("n_estimators", "max_depth", "learning_rate", "subsample", "colsample_bytree", "min_child_weight"),
)
