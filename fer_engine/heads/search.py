"""The paper's random search: 25 candidate settings, 3-fold stratified CV inside the training split, accuracy."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.model_selection import RandomizedSearchCV, StratifiedKFold

from fer_engine.errors import ConfigError
from fer_engine.heads.registry import class_weight_fit_params, create_head, get_head_spec

PAPER_N_ITER = 25
PAPER_CV_FOLDS = 3


@dataclass
class SearchResult:
    """The refitted best estimator, its parameters and mean CV accuracy, and a short trace of all candidates."""

    best_estimator: BaseEstimator
    best_params: dict[str, Any]
    best_cv_accuracy: float
    n_iter: int
    cv_folds: int
    n_searched: int
    seconds: float
    candidates: list[dict[str, Any]] = field(default_factory=list)


def stratified_subsample(y: np.ndarray, max_size: int | None, random_state: int = 0) -> np.ndarray:
    """Indices of at most `max_size` rows keeping class proportions (all rows when max_size is None or larger)."""
    y = np.asarray(y)
    if max_size is None or max_size >= len(y):
        return np.arange(len(y))
    if max_size < 1:
        raise ConfigError(f"max_train must be a positive number of rows, not {max_size}")
    from sklearn.model_selection import train_test_split

    indices = np.arange(len(y))
    _, counts = np.unique(y, return_counts=True)
    stratify = y if counts.min() >= 2 and max_size >= len(counts) else None
    kept, _ = train_test_split(indices, train_size=max_size, stratify=stratify, random_state=random_state)
    return np.sort(kept)


def random_search(
    head: str,
    X: np.ndarray,
    y: np.ndarray,
    *,
    n_iter: int = PAPER_N_ITER,
    cv: int = PAPER_CV_FOLDS,
    class_weight: str | dict | None = None,
    random_state: int = 0,
    max_train: int | None = None,
    n_jobs: int | None = None,
    base_params: dict[str, Any] | None = None,
) -> SearchResult:
    """Random search of `head`'s space on (X, y) only (the caller passes training features), refit on the best."""
    spec = get_head_spec(head)
    if n_iter < 1 or cv < 2:
        raise ConfigError(f"random search needs n_iter >= 1 and cv >= 2 (got n_iter={n_iter}, cv={cv})")
    rows = stratified_subsample(y, max_train, random_state)
    X, y = np.asarray(X)[rows], np.asarray(y)[rows]
    smallest_class = int(np.unique(y, return_counts=True)[1].min())
    if smallest_class < cv:
        raise ConfigError(
            f"{cv}-fold stratified CV needs at least {cv} examples per class; the rarest class has {smallest_class}"
        )
    search = RandomizedSearchCV(
        create_head(head, class_weight=class_weight, random_state=random_state, **(base_params or {})),
        spec.search_space,
        n_iter=n_iter,
        scoring="accuracy",
        cv=StratifiedKFold(n_splits=cv, shuffle=True, random_state=random_state),
        random_state=random_state,
        n_jobs=n_jobs,
        refit=True,
        error_score="raise",
    )
    started = time.perf_counter()
    search.fit(X, y, **class_weight_fit_params(head, y, class_weight))
    results = search.cv_results_
    candidates = [
        {"params": _jsonable(params), "mean_cv_accuracy": float(score), "rank": int(rank)}
        for params, score, rank in zip(results["params"], results["mean_test_score"], results["rank_test_score"])
    ]
    return SearchResult(
        best_estimator=search.best_estimator_,
        best_params=_jsonable(search.best_params_),
        best_cv_accuracy=float(search.best_score_),
        n_iter=n_iter,
        cv_folds=cv,
        n_searched=len(y),
        seconds=time.perf_counter() - started,
        candidates=sorted(candidates, key=lambda c: c["rank"]),
    )


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    """Parameters as JSON values (numpy scalars -> Python, tuples -> lists)."""
    out = {}
    for key, value in params.items():
        if hasattr(value, "item"):
            value = value.item()
        elif isinstance(value, tuple):
            value = list(value)
        out[key] = value
    return out
