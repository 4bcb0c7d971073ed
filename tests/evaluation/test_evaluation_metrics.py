"""classification_metrics agrees with scikit-learn and with a case worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from fer_engine.classes import FER_CLASS_NAMES
from fer_engine.scoring.metrics import TRAINING_ACCURACY_LABEL, ClassificationMetrics, classification_metrics


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_sklearn_on_random_labels(seed):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 7, size=300)
    y_pred = np.where(rng.random(300) < 0.5, y_true, rng.integers(0, 7, size=300))
    result = classification_metrics(y_true, y_pred, FER_CLASS_NAMES, split="val")
    assert result.n == 300
    assert result.accuracy == pytest.approx(skm.accuracy_score(y_true, y_pred))
    assert result.balanced_accuracy == pytest.approx(skm.balanced_accuracy_score(y_true, y_pred))
    for average in ("macro", "weighted"):
        p, r, f, _ = skm.precision_recall_fscore_support(y_true, y_pred, average=average, zero_division=0)
        assert getattr(result, f"{average}_precision") == pytest.approx(p)
        assert getattr(result, f"{average}_recall") == pytest.approx(r)
        assert getattr(result, f"{average}_f1") == pytest.approx(f)
    per_class_f1 = skm.f1_score(y_true, y_pred, average=None, labels=range(7), zero_division=0)
    assert [result.per_class[name]["f1"] for name in FER_CLASS_NAMES] == pytest.approx(per_class_f1)
    assert result.confusion_matrix == skm.confusion_matrix(y_true, y_pred, labels=range(7)).tolist()


def test_hand_made_case_with_an_absent_and_a_never_predicted_class():
    names = ("a", "b", "c")
    y_true = [0, 0, 0, 1, 1, 0]
    y_pred = [0, 0, 1, 1, 0, 0]
    result = classification_metrics(y_true, y_pred, names, split="test", head="svm")
    assert result.accuracy == pytest.approx(4 / 6)
    # class a: TP 3, FP 1, FN 1 -> P 3/4, R 3/4; class b: TP 1, FP 1, FN 1 -> P 1/2, R 1/2; class c absent.
    assert result.per_class["a"] == {"precision": 0.75, "recall": 0.75, "f1": 0.75, "support": 4}
    assert result.per_class["b"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert result.per_class["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert result.macro_f1 == pytest.approx((0.75 + 0.5 + 0.0) / 3)
    assert result.weighted_f1 == pytest.approx((0.75 * 4 + 0.5 * 2) / 6)
    assert result.balanced_accuracy == pytest.approx((0.75 + 0.5) / 2)  # over the classes present
    assert result.confusion_matrix == [[3, 1, 0], [1, 1, 0], [0, 0, 0]]
    assert result.confusion_matrix_normalized == [[0.75, 0.25, 0.0], [0.5, 0.5, 0.0], [0.0, 0.0, 0.0]]


def test_protocol_labels_and_dict_round_trip():
    result = classification_metrics(
        [0, 1],
        [0, 1],
        ("x", "y"),
        split="train",
        head="xgboost",
        fitted_on_split=True,
        protocol={"tta": "flip", "checkpoint": "run-1"},
    )
    data = result.to_dict()
    for key in ("accuracy", "macro_f1", "weighted_f1", "per_class", "confusion_matrix", "n"):
        assert key in data
    assert data["protocol"] == {
        "selected_on": "val",
        "tta": "flip",
        "pretrained": None,
        "ensemble": False,
        "checkpoint": "run-1",
    }
    assert data["score_kind"] == TRAINING_ACCURACY_LABEL
    assert ClassificationMetrics.from_dict(data) == result


def test_score_kind_names_validation_and_test():
    assert classification_metrics([0, 1], [0, 1], ("x", "y"), split="val").score_kind == "validation (PublicTest)"
    assert classification_metrics([0, 1], [0, 1], ("x", "y"), split="test").score_kind == "test (PrivateTest)"


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match="y_true has 2 labels but y_pred has 1"):
        classification_metrics([0, 1], [0], ("x", "y"))
