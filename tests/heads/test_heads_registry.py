"""Each head is a scikit-learn estimator that learns separable embeddings well above chance."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone, is_classifier
from sklearn.pipeline import Pipeline

from fer_engine.errors import ConfigError  # noqa: E402
from fer_engine.heads import HEAD_NAMES, create_head  # noqa: E402
from fer_engine.heads.registry import class_weight_fit_params  # noqa: E402
from fer_engine.heads.xgboost_head import XGBoostHead  # noqa: E402
from support.builders import FAST_HEAD_PARAMS, separable_embeddings


def test_registry_names_the_four_heads_of_the_paper():
    assert set(HEAD_NAMES) == {"svm", "xgboost", "rf", "mlp"}


@pytest.mark.parametrize("name", HEAD_NAMES)
def test_head_fits_and_predicts_above_chance(name):
    train = separable_embeddings(25, seed=0)
    val = separable_embeddings(10, seed=1, split="val")
    head = create_head(name, **FAST_HEAD_PARAMS[name])
    assert is_classifier(head)
    head.fit(train.embeddings, train.labels)
    accuracy = float(np.mean(head.predict(val.embeddings) == val.labels))
    assert accuracy > 0.8, f"{name} reached only {accuracy:.2f} on separable blobs (chance 0.14)"
    clone(head)  # a proper scikit-learn estimator can be cloned


def test_defaults_are_the_documented_ones():
    svm = create_head("svm")
    assert isinstance(svm, Pipeline) and svm.named_steps["classifier"].C == 10.0
    assert svm.named_steps["classifier"].kernel == "rbf"
    assert create_head("rf").n_estimators == 500
    mlp = create_head("mlp").named_steps["classifier"]
    assert mlp.hidden_layer_sizes == (512, 256) and mlp.early_stopping is True
    xgb = create_head("xgboost")
    assert isinstance(xgb, XGBoostHead) and xgb.tree_method == "hist"


def test_class_weight_reaches_every_head():
    assert create_head("svm", class_weight="balanced").named_steps["classifier"].class_weight == "balanced"
    assert create_head("rf", class_weight="balanced").class_weight == "balanced"
    assert create_head("xgboost", class_weight="balanced").class_weight == "balanced"
    labels = np.array([0, 0, 0, 1])
    weights = class_weight_fit_params("mlp", labels, "balanced")["classifier__sample_weight"]
    assert weights[3] == pytest.approx(3 * weights[0])
    assert class_weight_fit_params("svm", labels, "balanced") == {}


def test_unknown_head_or_parameter_or_class_weight_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown head 'knn'"):
        create_head("knn")
    with pytest.raises(ConfigError, match="invalid parameters for head 'rf'"):
        create_head("rf", n_trees=3)
    with pytest.raises(ConfigError, match="class_weight"):
        create_head("svm", class_weight="inverse")


def test_xgboost_class_weight_changes_the_fit():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    y = (X[:, 0] + 0.8 * rng.normal(size=200) > 1.2).astype(int)  # imbalanced, overlapping
    plain = XGBoostHead(n_estimators=20, max_depth=2, n_jobs=1).fit(X, y)
    balanced = XGBoostHead(n_estimators=20, max_depth=2, n_jobs=1, class_weight="balanced").fit(X, y)
    assert balanced.predict(X).sum() > plain.predict(X).sum()  # the rare class is predicted more often
