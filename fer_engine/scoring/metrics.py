"""Classification metrics of one head on one split, with the protocol labels that say how they were obtained.

Everything is computed by scikit-learn (`zero_division=0`); precision, recall and F1 are reported both
macro- and support-weighted because the paper does not say which it used.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sklearn import metrics as skm

TRAINING_ACCURACY_LABEL = "training accuracy (fitted on this split)"
SPLIT_ROLES = {"train": "train", "val": "validation (PublicTest)", "test": "test (PrivateTest)"}


@dataclass
class ClassificationMetrics:
    """Scores of `head` on `split`; `fitted_on_split` marks a training accuracy, never a validation score."""

    split: str
    head: str
    n: int
    accuracy: float
    balanced_accuracy: float
    macro_precision: float
    macro_recall: float
    macro_f1: float
    weighted_precision: float
    weighted_recall: float
    weighted_f1: float
    per_class: dict[str, dict[str, float]]
    confusion_matrix: list[list[int]]
    confusion_matrix_normalized: list[list[float]]
    class_names: list[str]
    fitted_on_split: bool = False
    protocol: dict[str, Any] = field(default_factory=dict)

    @property
    def score_kind(self) -> str:
        """What this number is: 'training accuracy (fitted on this split)' or the split's role (validation/test)."""
        if self.fitted_on_split:
            return TRAINING_ACCURACY_LABEL
        return SPLIT_ROLES.get(self.split, self.split or "unnamed split")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the evaluation file format), including `score_kind`."""
        data = asdict(self)
        data["score_kind"] = self.score_kind
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClassificationMetrics:
        """Inverse of `to_dict` (unknown keys such as `score_kind` are ignored)."""
        known = set(cls.__dataclass_fields__)
        return cls(**{key: value for key, value in data.items() if key in known})


def default_protocol(**labels: Any) -> dict[str, Any]:
    """The protocol labels every result carries, with the product's defaults (selected on val, single model)."""
    protocol: dict[str, Any] = {
        "selected_on": "val",
        "tta": "none",
        "pretrained": None,
        "ensemble": False,
        "checkpoint": "",
    }
    protocol.update({key: value for key, value in labels.items() if value is not None})
    return protocol


def classification_metrics(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    class_names: list[str] | tuple[str, ...],
    *,
    split: str = "",
    head: str = "softmax",
    fitted_on_split: bool = False,
    protocol: dict[str, Any] | None = None,
) -> ClassificationMetrics:
    """Accuracy, balanced accuracy, macro/weighted P/R/F1, per-class scores and confusion matrices (rows = true)."""
    y_true = np.asarray(y_true, dtype=np.int64).ravel()
    y_pred = np.asarray(y_pred, dtype=np.int64).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has {len(y_true)} labels but y_pred has {len(y_pred)}")
    class_names = list(class_names)
    labels = np.arange(len(class_names))
    n = int(len(y_true))

    def averaged(average: str) -> tuple[float, float, float]:
        precision, recall, f1, _ = skm.precision_recall_fscore_support(
            y_true, y_pred, labels=labels, average=average, zero_division=0
        )
        return float(precision), float(recall), float(f1)

    precision, recall, f1, support = skm.precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average=None, zero_division=0
    )
    per_class = {
        name: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, name in enumerate(class_names)
    }
    confusion = skm.confusion_matrix(y_true, y_pred, labels=labels)
    row_totals = confusion.sum(axis=1, keepdims=True)
    normalized = np.divide(confusion, row_totals, out=np.zeros(confusion.shape, dtype=np.float64), where=row_totals > 0)
    macro = averaged("macro")
    weighted = averaged("weighted")
    return ClassificationMetrics(
        split=split,
        head=head,
        n=n,
        accuracy=float(skm.accuracy_score(y_true, y_pred)) if n else 0.0,
        balanced_accuracy=_balanced_accuracy(y_true, y_pred) if n else 0.0,
        macro_precision=macro[0],
        macro_recall=macro[1],
        macro_f1=macro[2],
        weighted_precision=weighted[0],
        weighted_recall=weighted[1],
        weighted_f1=weighted[2],
        per_class=per_class,
        confusion_matrix=confusion.astype(int).tolist(),
        confusion_matrix_normalized=normalized.tolist(),
        class_names=class_names,
        fitted_on_split=bool(fitted_on_split),
        protocol=default_protocol(**(protocol or {})),
    )


def _balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean recall over the classes present in y_true (silencing sklearn's warning about predicted-only classes)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return float(skm.balanced_accuracy_score(y_true, y_pred))
