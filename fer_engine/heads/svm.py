"""Support-vector head: standardised embeddings -> RBF SVC (C=10), as one scikit-learn Pipeline."""

from __future__ import annotations

from scipy.stats import loguniform
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from fer_engine.heads.base import CLASSIFIER_STEP, SCALER_STEP, HeadSpec


def build_svm(*, class_weight: str | dict | None = None, random_state: int = 0, **params) -> Pipeline:
    """RBF SVC with C=10, gamma='scale'; decisions by decision_function (no Platt probabilities: 5 extra fits)."""
    settings = {"kernel": "rbf", "C": 10.0, "gamma": "scale", "cache_size": 1000}
    settings.update(params)
    classifier = SVC(class_weight=class_weight, random_state=random_state, **settings)
    return Pipeline([(SCALER_STEP, StandardScaler()), (CLASSIFIER_STEP, classifier)])


SEARCH_SPACE = {
    f"{CLASSIFIER_STEP}__C": loguniform(0.1, 100.0),
    f"{CLASSIFIER_STEP}__gamma": ["scale", 1e-4, 3e-4, 1e-3, 3e-3, 1e-2],
}

SPEC = HeadSpec(
    name="svm", title="SVM (RBF)", build=build_svm, search_space=SEARCH_SPACE, key_params=("kernel", "C", "gamma")
)
