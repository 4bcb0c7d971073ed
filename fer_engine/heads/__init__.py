"""Classical heads on GAP embeddings (svm, xgboost, rf, mlp) as scikit-learn estimators, searched and stored safely."""

from fer_engine.heads.fitting import FittedHead, HeadRecord, fit_head, fit_heads, fitted_head_names, load_fitted_head
from fer_engine.heads.persistence import load_estimator, save_estimator
from fer_engine.heads.registry import HEAD_NAMES, create_head, get_head_spec
from fer_engine.heads.search import SearchResult, random_search

__all__ = [
    "HEAD_NAMES",
    "FittedHead",
    "HeadRecord",
    "SearchResult",
    "create_head",
    "fit_head",
    "fit_heads",
    "fitted_head_names",
    "get_head_spec",
    "load_estimator",
    "load_fitted_head",
    "random_search",
    "save_estimator",
]
