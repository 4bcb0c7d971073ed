"""Embedding-quality metrics on toy clustered sets, hand-checked MAP@R, and k-NN agreement with scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.neighbors import KNeighborsClassifier

from fer_engine.errors import DataError
from fer_engine.metric_learning.quality import embedding_quality, knn_accuracy


def _clusters(n_per_class: int, seed: int, spread: float = 0.05, dim: int = 16) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = np.eye(7, dim) * 10.0
    labels = np.repeat(np.arange(7), n_per_class)
    return (centres[labels] + rng.normal(0, spread, (len(labels), dim))).astype(np.float32), labels


@pytest.mark.parametrize("distance", ["euclidean", "cosine", "manhattan", "squared_euclidean"])
def test_perfect_clusters_score_perfectly(distance):
    reference, reference_labels = _clusters(30, seed=0)
    query, query_labels = _clusters(10, seed=1)
    quality = embedding_quality(reference, reference_labels, query, query_labels, distance=distance)
    assert quality.knn_accuracy_k1 == 1.0 and quality.knn_accuracy_k5 == 1.0
    assert quality.precision_at_1 == pytest.approx(1.0)
    assert quality.mean_average_precision_at_r == pytest.approx(1.0)
    assert quality.silhouette > 0.9
    assert quality.intra_inter_distance_ratio < 0.1
    assert (quality.n_reference, quality.n_query) == (210, 70)


def test_shuffled_labels_score_near_chance():
    rng = np.random.default_rng(2)
    reference = rng.normal(size=(2100, 32)).astype(np.float32)
    query = rng.normal(size=(700, 32)).astype(np.float32)
    quality = embedding_quality(reference, rng.integers(0, 7, 2100), query, rng.integers(0, 7, 700))
    for value in (quality.knn_accuracy_k1, quality.knn_accuracy_k5, quality.precision_at_1):
        assert 1 / 7 - 0.06 < value < 1 / 7 + 0.06
    assert quality.mean_average_precision_at_r < 0.25
    assert abs(quality.silhouette) < 0.05
    assert quality.intra_inter_distance_ratio == pytest.approx(1.0, abs=0.03)


def test_map_at_r_on_a_hand_ranking():
    # Query of class 0 ranks the references: class 0 (d=0.1), class 1 (d=1.1), class 0 (d=2.1).
    # R = 2 relevant references; AP@R = (1/1 + 0) / 2 = 0.5.
    reference = np.array([[0.0], [1.0], [2.0]], dtype=np.float32)
    quality = embedding_quality(reference, np.array([0, 1, 0]), np.array([[-0.1]], dtype=np.float32), np.array([0]))
    assert quality.mean_average_precision_at_r == pytest.approx(0.5)
    assert quality.precision_at_1 == 1.0


@pytest.mark.parametrize("k, distance, metric", [(1, "euclidean", "euclidean"), (5, "euclidean", "euclidean"),
                                                  (5, "manhattan", "manhattan"), (3, "cosine", "cosine")])
def test_knn_accuracy_agrees_with_scikit_learn(k, distance, metric):
    rng = np.random.default_rng(3)
    centres = rng.normal(0, 1.0, (7, 8))
    reference_labels, query_labels = rng.integers(0, 7, 400), rng.integers(0, 7, 150)
    reference = (centres[reference_labels] + rng.normal(0, 1.0, (400, 8))).astype(np.float32)
    query = (centres[query_labels] + rng.normal(0, 1.0, (150, 8))).astype(np.float32)
    ours = knn_accuracy(reference, reference_labels, query, query_labels, k=k, distance=distance)
    sklearn_accuracy = KNeighborsClassifier(n_neighbors=k, metric=metric, algorithm="brute").fit(
        reference, reference_labels).score(query, query_labels)
    assert ours == pytest.approx(sklearn_accuracy, abs=1 / 150)  # at most one float tie ordered differently
    assert 0.3 < ours < 1.0


def test_bad_inputs_raise_data_errors():
    reference, labels = _clusters(3, seed=0)
    with pytest.raises(DataError, match="labels"):
        embedding_quality(reference, labels[:-1], reference, labels)
    with pytest.raises(DataError, match="-d"):
        embedding_quality(reference, labels, reference[:, :4], labels)


def test_metrics_are_json_ready_and_undefined_values_are_none():
    reference, labels = _clusters(5, seed=0)
    single_class = embedding_quality(reference, labels, reference[:5], labels[:5]).to_dict()
    assert single_class["silhouette"] is None and single_class["mean_inter_class_distance"] is None
    assert single_class["knn_accuracy_k1"] == 1.0


def test_retrieval_metrics_are_none_when_no_query_class_is_in_the_reference() -> None:
    rng = np.random.default_rng(0)
    quality = embedding_quality(rng.normal(size=(20, 4)).astype("float32"), np.array([0, 1] * 10),
                                rng.normal(size=(6, 4)).astype("float32"), np.array([2] * 6),
                                distance="euclidean", normalize=False)
    assert quality.precision_at_1 is None and quality.mean_average_precision_at_r is None
    assert quality.knn_accuracy_k1 == 0.0
