"""Fit heads on a run's training embeddings, store them safely, and score them on any split.

A head is fitted on one split (train) only. Scoring it on that split is allowed but always labelled
`fitted_on_split=True` ("training accuracy (fitted on this split)"), never validation: the paper's
Tables 5 and 7 report XGBoost at 99.7% "validation" precisely because of that mistake.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline

from fer_engine.classes import SPLIT_NAMES
from fer_engine.embeddings.embedding_set import EmbeddingSet, load_embeddings
from fer_engine.errors import ConfigError, ModelError
from fer_engine.heads.base import CLASSIFIER_STEP
from fer_engine.heads.persistence import head_file, load_estimator, save_estimator, storage_of
from fer_engine.heads.registry import HEAD_NAMES, class_weight_fit_params, create_head, get_head_spec
from fer_engine.heads.search import PAPER_CV_FOLDS, PAPER_N_ITER, random_search, stratified_subsample
from fer_engine.io_utils import atomic_write_json
from fer_engine.runs.layout import RunPaths
from fer_engine.scoring.metrics import ClassificationMetrics, classification_metrics

FIT_SPLIT = "train"
SUMMARY_KEYS = ("accuracy", "balanced_accuracy", "macro_precision", "macro_recall", "macro_f1", "weighted_f1")


@dataclass
class HeadRecord:
    """`heads/<name>.json`: how a head was fitted and how it scored; `training_accuracy` is on its own fit data."""

    name: str
    title: str
    file: str
    storage: str
    fitted_on_split: str
    n_train: int
    n_features: int
    fit_seconds: float
    training_accuracy: float
    class_weight: Any = None
    random_state: int = 0
    max_train: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    search: dict[str, Any] | None = None
    scores: dict[str, dict[str, Any]] = field(default_factory=dict)
    selected_on: str = "val"
    embeddings_tta: str = "none"
    embeddings_checkpoint_sha256: str = ""
    created_at: float = 0.0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HeadRecord:
        known = set(cls.__dataclass_fields__)
        return cls(**{key: value for key, value in data.items() if key in known})


@dataclass
class FittedHead:
    """A fitted estimator with its record; `score` labels results on the fit split as training accuracy."""

    name: str
    estimator: BaseEstimator
    record: HeadRecord

    def predict(self, embeddings: np.ndarray) -> np.ndarray:
        """Class ids for (N, D) embeddings."""
        embeddings = np.asarray(embeddings, dtype=np.float32)
        if embeddings.ndim != 2 or embeddings.shape[1] != self.record.n_features:
            raise ModelError(
                f"head '{self.name}' expects {self.record.n_features}-d embeddings, got shape {embeddings.shape}: "
                "it was fitted on another backbone's embeddings"
            )
        return np.asarray(self.estimator.predict(embeddings), dtype=np.int64)

    def score(self, embedding_set: EmbeddingSet, protocol: dict[str, Any] | None = None) -> ClassificationMetrics:
        """Metrics on any split; on the split it was fitted on they are flagged `fitted_on_split=True`."""
        labels: dict[str, Any] = {"tta": embedding_set.tta, "head_fitted_on": self.record.fitted_on_split}
        fitted_sha, set_sha = self.record.embeddings_checkpoint_sha256, embedding_set.checkpoint_sha256
        if fitted_sha and set_sha and fitted_sha != set_sha:
            # Legitimate for a re-saved checkpoint (the shipped fp16 copy); anything else deserves a refit.
            warnings.warn(
                f"head '{self.name}' was fitted on embeddings of another checkpoint file than these "
                f"'{embedding_set.split}' embeddings; refit it with `fer heads RUN` if the weights changed",
                stacklevel=2,
            )
            labels["head_checkpoint_mismatch"] = True
        labels.update(protocol or {})
        return classification_metrics(
            embedding_set.labels,
            self.predict(embedding_set.embeddings),
            embedding_set.class_names,
            split=embedding_set.split,
            head=self.name,
            fitted_on_split=embedding_set.split == self.record.fitted_on_split,
            protocol=labels,
        )


def head_record_file(run: RunPaths, name: str):
    """`heads/<name>.json` of a run."""
    return run.heads_dir / f"{name}.json"


def fitted_head_names(run: RunPaths) -> list[str]:
    """Heads with a record and a model file in the run, in registry order."""
    return [name for name in HEAD_NAMES if head_record_file(run, name).exists()]


def load_fitted_head(run: RunPaths, name: str) -> FittedHead:
    """A head fitted by `fit_heads` (record + safely loaded estimator)."""
    get_head_spec(name)
    record_path = head_record_file(run, name)
    if not record_path.exists():
        raise ModelError(f"run '{run.run_id}' has no fitted head '{name}': run `fer heads {run.root} --heads {name}`")
    record = HeadRecord.from_dict(json.loads(record_path.read_text()))
    estimator = load_estimator(run.heads_dir / record.file)
    return FittedHead(name, estimator, record)


def fit_head(
    name: str,
    train: EmbeddingSet,
    *,
    search: bool = False,
    class_weight: str | dict | None = None,
    n_iter: int = PAPER_N_ITER,
    cv: int = PAPER_CV_FOLDS,
    max_train: int | None = None,
    random_state: int = 0,
    n_jobs: int | None = None,
    params: dict[str, Any] | None = None,
) -> FittedHead:
    """Fit one head on the training embeddings (optionally by random search inside them)."""
    if train.split != FIT_SPLIT:
        raise ConfigError(f"heads are fitted on the '{FIT_SPLIT}' split only, not on '{train.split}'")
    spec = get_head_spec(name)
    params = dict(params or {})
    if spec.device_param and spec.device_param not in params:
        from fer_engine.device import resolve_device

        params[spec.device_param] = "cuda" if resolve_device("auto").type == "cuda" else "cpu"
    rows = stratified_subsample(train.labels, max_train, random_state)
    X, y = train.embeddings[rows], train.labels[rows]
    started = time.perf_counter()
    search_summary = None
    if search:
        result = random_search(
            name,
            X,
            y,
            n_iter=n_iter,
            cv=cv,
            class_weight=class_weight,
            random_state=random_state,
            n_jobs=n_jobs,
            base_params=params,
        )
        estimator = result.best_estimator
        search_summary = {
            "n_iter": result.n_iter,
            "cv_folds": result.cv_folds,
            "scoring": "accuracy",
            "cv_inside": FIT_SPLIT,
            "best_params": result.best_params,
            "best_cv_accuracy": result.best_cv_accuracy,
            "candidates": result.candidates,
        }
    else:
        estimator = create_head(name, class_weight=class_weight, random_state=random_state, **params)
        estimator.fit(X, y, **class_weight_fit_params(name, y, class_weight))
    fit_seconds = time.perf_counter() - started
    training_accuracy = float(np.mean(estimator.predict(X) == y))
    record = HeadRecord(
        name=name,
        title=spec.title,
        file=head_file("", name, storage_of(estimator)).name,
        storage=storage_of(estimator),
        fitted_on_split=FIT_SPLIT,
        n_train=int(len(y)),
        n_features=int(X.shape[1]),
        fit_seconds=round(fit_seconds, 3),
        training_accuracy=training_accuracy,
        class_weight=class_weight,
        random_state=random_state,
        max_train=max_train,
        params=classifier_params(estimator),
        search=search_summary,
        embeddings_tta=train.tta,
        embeddings_checkpoint_sha256=train.checkpoint_sha256,
        created_at=time.time(),
    )
    return FittedHead(name, estimator, record)


def fit_heads(
    run: RunPaths,
    heads: list[str] | tuple[str, ...] = HEAD_NAMES,
    *,
    search: bool = False,
    class_weight: str | dict | None = None,
    n_iter: int = PAPER_N_ITER,
    cv: int = PAPER_CV_FOLDS,
    max_train: int | None = None,
    random_state: int = 0,
    n_jobs: int | None = None,
    params: dict[str, dict[str, Any]] | None = None,
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, HeadRecord]:
    """Fit each head on the run's train embeddings, score it on val (selection) and test when present, store it."""
    for name in heads:
        get_head_spec(name)
    train = load_embeddings(run, FIT_SPLIT)
    evaluation_sets = {
        split: load_embeddings(run, split)
        for split in SPLIT_NAMES
        if split != FIT_SPLIT and run.embeddings_file(split).exists()
    }
    records = {}
    for name in heads:
        if on_event:
            on_event({"event": "head_started", "head": name, "search": search})
        fitted = fit_head(
            name,
            train,
            search=search,
            class_weight=class_weight,
            n_iter=n_iter,
            cv=cv,
            max_train=max_train,
            random_state=random_state,
            n_jobs=n_jobs,
            params=(params or {}).get(name),
        )
        for split, embedding_set in evaluation_sets.items():
            metrics = fitted.score(embedding_set)
            fitted.record.scores[split] = {key: getattr(metrics, key) for key in SUMMARY_KEYS} | {
                "score_kind": metrics.score_kind,
                "n": metrics.n,
            }
        save_estimator(fitted.estimator, run.heads_dir / fitted.record.file)
        atomic_write_json(head_record_file(run, name), asdict(fitted.record))
        records[name] = fitted.record
        if on_event:
            on_event(
                {
                    "event": "head_fitted",
                    "head": name,
                    "fit_seconds": fitted.record.fit_seconds,
                    "training_accuracy": fitted.record.training_accuracy,
                    "scores": fitted.record.scores,
                }
            )
    return records


def classifier_params(estimator: BaseEstimator) -> dict[str, Any]:
    """The classifier's own constructor parameters as JSON values (the scaler of a Pipeline is left out)."""
    classifier = estimator.named_steps[CLASSIFIER_STEP] if isinstance(estimator, Pipeline) else estimator
    params = {}
    for key, value in classifier.get_params(deep=False).items():
        if isinstance(value, tuple):
            value = list(value)
        elif hasattr(value, "item"):
            value = value.item()
        if not isinstance(value, (str, int, float, bool, list, dict, type(None))):
            value = repr(value)
        params[key] = value
    return params
