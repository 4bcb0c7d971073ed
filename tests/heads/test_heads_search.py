"""The paper's random search: CV inside train only, configurable size, and the paper's XGBoost values reachable."""

from __future__ import annotations

import numpy as np
import pytest

from fer_engine.errors import ConfigError  # noqa: E402
from fer_engine.heads import random_search  # noqa: E402
from fer_engine.heads.registry import HEAD_SPECS  # noqa: E402
from fer_engine.heads.search import PAPER_CV_FOLDS, PAPER_N_ITER, stratified_subsample  # noqa: E402
from fer_engine.heads.xgboost_head import SEARCH_SPACE as XGB_SPACE  # noqa: E402
from fer_engine.scoring.paper_results import PAPER_XGBOOST_SEARCH  # noqa: E402
from support.builders import separable_embeddings


def test_paper_search_size_and_xgboost_best_values_are_in_the_space():
    assert (PAPER_N_ITER, PAPER_CV_FOLDS) == (25, 3)
    best = PAPER_XGBOOST_SEARCH["best_params"]
    assert best == {
        "subsample": 0.5,
        "n_estimators": 500,
        "min_child_weight": 2,
        "max_depth": 10,
        "learning_rate": 0.1,
        "colsample_bytree": 0.6,
    }
    for key, value in best.items():
        assert value in XGB_SPACE[key], f"{key}={value} cannot be drawn by the search"


@pytest.mark.parametrize("name", sorted(HEAD_SPECS))
def test_every_search_space_names_valid_parameters(name):
    from fer_engine.heads import create_head

    valid = create_head(name).get_params(deep=True)
    for key in HEAD_SPECS[name].search_space:
        assert key in valid, f"{name}: search parameter {key} is not a parameter of the estimator"


def test_random_search_with_tiny_n_iter_returns_a_refitted_best_estimator():
    train = separable_embeddings(12, dim=8)
    result = random_search("svm", train.embeddings, train.labels, n_iter=2, cv=2, random_state=0)
    assert len(result.candidates) == 2 and result.n_iter == 2 and result.cv_folds == 2
    assert set(result.best_params) == set(HEAD_SPECS["svm"].search_space)
    assert 0.0 <= result.best_cv_accuracy <= 1.0
    assert np.mean(result.best_estimator.predict(train.embeddings) == train.labels) > 0.9


def test_random_search_xgboost_and_max_train_subsample():
    train = separable_embeddings(20, dim=6)
    result = random_search(
        "xgboost", train.embeddings, train.labels, n_iter=1, cv=2, max_train=70, base_params={"n_jobs": 1}
    )
    assert result.n_searched == 70
    assert result.best_estimator.n_features_in_ == 6


def test_stratified_subsample_keeps_every_class_and_rejects_nonsense():
    labels = np.repeat(np.arange(7), [50, 5, 50, 80, 60, 40, 60])
    kept = stratified_subsample(labels, 70, random_state=0)
    assert len(kept) == 70 and set(labels[kept]) == set(range(7))
    assert len(stratified_subsample(labels, None)) == len(labels)
    with pytest.raises(ConfigError):
        stratified_subsample(labels, 0)


def test_search_refuses_folds_larger_than_the_rarest_class():
    train = separable_embeddings(2, dim=4)
    with pytest.raises(ConfigError, match="3-fold"):
        random_search("svm", train.embeddings, train.labels, n_iter=1, cv=3)
