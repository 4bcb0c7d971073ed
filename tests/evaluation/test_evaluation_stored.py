"""Stored evaluations: every page's one headline number comes from the checkpoint's stored softmax evaluation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fer_engine.classes import FER_CLASS_NAMES
from fer_engine.evaluation.stored import evaluated_splits, headline_metrics, run_evaluations
from fer_engine.io_utils import atomic_write_json, atomic_write_text
from fer_engine.runs.layout import RunPaths
from fer_engine.scoring.metrics import classification_metrics


def _write_evaluation(run: RunPaths, split: str, head: str, correct: int, tta: str = "none") -> float:
    labels = np.arange(20) % 7
    predictions = np.where(np.arange(20) < correct, labels, (labels + 1) % 7)
    metrics = classification_metrics(labels, predictions, FER_CLASS_NAMES, split=split, head=head,
                                     protocol={"tta": tta})
    atomic_write_json(run.evaluation_file(split, head), metrics.to_dict())
    return metrics.accuracy


def test_headline_is_the_stored_evaluation_not_the_training_log(tmp_path: Path) -> None:
    run = RunPaths(tmp_path / "run")
    atomic_write_json(run.summary, {"best_val_accuracy": 0.6868, "best_val_macro_f1": 0.68})
    training_log = headline_metrics(run)
    assert training_log.accuracy == 0.6868 and "training log" in training_log.source
    accuracy = _write_evaluation(run, "val", "softmax", correct=13, tta="flip")
    headline = headline_metrics(run)
    assert headline.accuracy == pytest.approx(accuracy) == pytest.approx(0.65)
    assert headline.tta == "flip" and headline.path == run.evaluation_file("val", "softmax")
    assert headline_metrics(RunPaths(tmp_path / "nothing")) is None


def test_run_evaluations_lists_heads_softmax_first_and_skips_damaged_files(tmp_path: Path) -> None:
    run = RunPaths(tmp_path / "run")
    assert evaluated_splits(run) == [] and run_evaluations(run, "val") == {}
    _write_evaluation(run, "val", "svm", correct=10)
    _write_evaluation(run, "val", "softmax", correct=12)
    _write_evaluation(run, "test", "softmax", correct=11)
    atomic_write_text(run.evaluation_file("val", "broken"), "{not json")
    atomic_write_json(run.evaluation_file("val", "partial"), {"accuracy": 0.5})
    assert evaluated_splits(run) == ["val", "test"]
    found = run_evaluations(run, "val")
    assert list(found) == ["softmax", "svm"]
    assert found["svm"].accuracy == pytest.approx(0.5)
