"""embedding_quality_for_run reads a run's embeddings/<split>.npz, writes reports/embedding_quality.json, updates the store."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fer_engine.errors import DataError
from fer_engine.metric_learning.report import embedding_quality_for_run, read_embedding_quality, run_distance
from fer_engine.runs.store import RunStore


def _write_split(paths, split: str, n_per_class: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(7), n_per_class)
    embeddings = (np.eye(7, 12)[labels] * 5 + rng.normal(0, 0.1, (len(labels), 12))).astype(np.float32)
    paths.embeddings_dir.mkdir(parents=True, exist_ok=True)
    np.savez(paths.embeddings_file(split), embeddings=embeddings, labels=labels,
             keys=np.array([f"{split}/{i}" for i in range(len(labels))]), logits=np.zeros((len(labels), 7), np.float32))


def test_quality_of_a_run_is_written_and_indexed(tmp_path):
    store = RunStore(tmp_path)
    paths = store.create_run(name="triplet", config={"loss": "triplet", "triplet": {"distance": "cosine", "normalize_embeddings": True}})
    _write_split(paths, "train", 20, seed=0)
    _write_split(paths, "val", 5, seed=1)  # no test embeddings: that split is skipped
    results = embedding_quality_for_run(paths, update_store=True)
    assert list(results) == ["val"]
    assert results["val"].distance == "cosine" and results["val"].knn_accuracy_k1 == 1.0
    saved = json.loads((paths.reports_dir / "embedding_quality.json").read_text())
    assert saved["reference_split"] == "train" and saved["splits"]["val"]["n_query"] == 35
    assert read_embedding_quality(paths)["val"]["precision_at_1"] == pytest.approx(1.0)
    metrics = store.get(paths.run_id).metrics
    assert metrics["val_knn_accuracy_k1"] == 1.0 and "val_mean_average_precision_at_r" in metrics


def test_cross_entropy_runs_are_measured_with_plain_euclidean(tmp_path):
    paths = RunStore(tmp_path).create_run(name="ce", config={"loss": "ce", "triplet": {"distance": "cosine"}})
    assert run_distance(paths) == ("euclidean", False)


def test_missing_embeddings_say_which_command_to_run(tmp_path):
    paths = RunStore(tmp_path).create_run(name="bare", config={})
    with pytest.raises(DataError, match="fer embed"):
        embedding_quality_for_run(paths)
    _write_split(paths, "train", 3, seed=0)
    with pytest.raises(DataError, match="none of the splits"):
        embedding_quality_for_run(paths)
