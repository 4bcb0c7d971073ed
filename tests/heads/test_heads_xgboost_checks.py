"""The XGBoost wrapper passes scikit-learn's estimator checks."""

from __future__ import annotations

from sklearn.utils.estimator_checks import parametrize_with_checks

from fer_engine.heads.xgboost_head import XGBoostHead


# Row/column subsampling is random by design, so the sample-weight equivalence checks need it off here.
@parametrize_with_checks([XGBoostHead(n_estimators=5, max_depth=3, subsample=1.0, colsample_bytree=1.0, n_jobs=1)])
def test_xgboost_head_is_a_scikit_learn_estimator(estimator, check):
    check(estimator)


def test_xgboost_head_parameters_survive_clone():
    """scikit-learn's search clones estimators: every constructor argument must come back unchanged."""
    from sklearn.base import clone

    head = XGBoostHead(n_estimators=7, max_depth=4, learning_rate=0.2, subsample=0.5, colsample_bytree=0.6)
    assert clone(head).get_params() == head.get_params()
    assert clone(head).get_params()["subsample"] == 0.5
