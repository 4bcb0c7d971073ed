"""How well embeddings separate the classes, measured without any trained head.

k-NN accuracy and retrieval metrics look up each query (val/test image) among the reference embeddings
(the train split); silhouette and the intra/inter distance ratio describe the query set's own geometry.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from pytorch_metric_learning.utils.accuracy_calculator import AccuracyCalculator
from pytorch_metric_learning.utils.inference import CustomKNN
from sklearn.metrics import silhouette_score

from fer_engine.errors import DataError
from fer_engine.metric_learning.distances import build_distance, distance_matrix

SILHOUETTE_MAX_SAMPLES = 5_000
QUERY_CHUNK = 512  # queries per distance block: bounds memory at QUERY_CHUNK x len(reference) floats
RETRIEVAL_QUERY_BLOCK = 1024


@dataclass
class EmbeddingQuality:
    """Embedding metrics of one query split against a reference split (normally train), under one distance."""

    distance: str
    normalized: bool
    n_reference: int
    n_query: int
    knn_accuracy_k1: float
    knn_accuracy_k5: float
    precision_at_1: float | None  # None when no query class is in the reference
    mean_average_precision_at_r: float | None
    silhouette: float | None
    mean_intra_class_distance: float | None
    mean_inter_class_distance: float | None
    intra_inter_distance_ratio: float | None
    silhouette_samples: int

    def to_dict(self) -> dict:
        """Plain JSON-ready dict (None where a metric is undefined, e.g. one class only)."""
        return asdict(self)


class _RecordingKNN:
    """PML CustomKNN that keeps the neighbour indices, so k-NN votes reuse AccuracyCalculator's search."""

    def __init__(self, knn: CustomKNN):
        self.knn = knn
        self.indices: torch.Tensor | None = None

    def __call__(self, query, k, reference, ref_includes_query=False):
        distances, indices = self.knn(query, k, reference, ref_includes_query)
        self.indices = indices
        return distances, indices


def _tensor(array: np.ndarray | torch.Tensor, name: str) -> torch.Tensor:
    tensor = torch.as_tensor(np.asarray(array), dtype=torch.float32)
    if tensor.ndim != 2 or len(tensor) == 0:
        raise DataError(f"{name} must be a non-empty (N, D) array, got shape {tuple(tensor.shape)}")
    return tensor


def _labels(array: np.ndarray, n: int, name: str) -> np.ndarray:
    labels = np.asarray(array).reshape(-1).astype(np.int64)
    if len(labels) != n:
        raise DataError(f"{name} has {len(labels)} labels for {n} embeddings")
    return labels


def _knn(distance: str, normalize: bool) -> CustomKNN:
    return CustomKNN(build_distance(distance, normalize), batch_size=QUERY_CHUNK)


def _vote_accuracy(
    neighbour_indices: torch.Tensor, reference_labels: np.ndarray, query_labels: np.ndarray, k: int
) -> float:
    """Majority vote of the k nearest reference labels (ties go to the smaller class id, as in scikit-learn)."""
    neighbour_labels = reference_labels[neighbour_indices[:, :k].cpu().numpy()]
    num_classes = int(max(reference_labels.max(), query_labels.max())) + 1
    votes = np.zeros((len(neighbour_labels), num_classes), dtype=np.int64)
    np.add.at(votes, (np.arange(len(neighbour_labels))[:, None], neighbour_labels), 1)
    return float(np.mean(votes.argmax(axis=1) == query_labels))


def knn_accuracy(
    reference_embeddings: np.ndarray,
    reference_labels: np.ndarray,
    query_embeddings: np.ndarray,
    query_labels: np.ndarray,
    k: int = 1,
    distance: str = "euclidean",
    normalize: bool = False,
) -> float:
    """Accuracy of a k-nearest-neighbour vote over the reference set: how usable the embedding is without a head."""
    reference = _tensor(reference_embeddings, "reference_embeddings")
    query = _tensor(query_embeddings, "query_embeddings")
    reference_y = _labels(reference_labels, len(reference), "reference_labels")
    query_y = _labels(query_labels, len(query), "query_labels")
    k = max(1, min(int(k), len(reference)))
    _, indices = _knn(distance, normalize)(query, k, reference, False)
    return _vote_accuracy(indices, reference_y, query_y, k)


def _subsample(n: int, max_samples: int, seed: int) -> np.ndarray:
    if n <= max_samples:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=max_samples, replace=False))


def _geometry(
    query: torch.Tensor, labels: np.ndarray, distance: str, normalize: bool
) -> tuple[float | None, float | None, float | None]:
    """Silhouette, mean intra-class and mean inter-class distance of (a subsample of) the query set."""
    matrix = distance_matrix(build_distance(distance, normalize), query).clamp_min_(0.0)
    matrix.fill_diagonal_(0.0)
    same = torch.as_tensor(labels[:, None] == labels[None, :])
    off_diagonal = ~torch.eye(len(labels), dtype=torch.bool)
    intra_mask, inter_mask = same & off_diagonal, ~same
    intra = float(matrix[intra_mask].double().mean()) if intra_mask.any() else None
    inter = float(matrix[inter_mask].double().mean()) if inter_mask.any() else None
    n_classes = len(np.unique(labels))
    silhouette = None
    if 2 <= n_classes <= len(labels) - 1:
        silhouette = float(silhouette_score(matrix.numpy(), labels, metric="precomputed"))
    return silhouette, intra, inter


def embedding_quality(
    reference_embeddings: np.ndarray,
    reference_labels: np.ndarray,
    query_embeddings: np.ndarray,
    query_labels: np.ndarray,
    distance: str = "euclidean",
    normalize: bool = False,
    seed: int = 0,
    device: str | torch.device = "cpu",
) -> EmbeddingQuality:
    """k-NN accuracy (k=1, 5), precision@1 and MAP@R of queries against the reference set, plus the queries'
    silhouette and intra/inter-class distance ratio (on a seeded subsample of at most 5,000)."""
    reference = _tensor(reference_embeddings, "reference_embeddings")
    query = _tensor(query_embeddings, "query_embeddings")
    reference_y = _labels(reference_labels, len(reference), "reference_labels")
    query_y = _labels(query_labels, len(query), "query_labels")
    if reference.shape[1] != query.shape[1]:
        raise DataError(f"reference embeddings are {reference.shape[1]}-d but queries are {query.shape[1]}-d")

    precision_at_1, map_at_r, indices = _retrieval(reference, reference_y, query, query_y, distance, normalize, device)
    k5 = min(5, len(reference))

    subsample = _subsample(len(query), SILHOUETTE_MAX_SAMPLES, seed)
    silhouette, intra, inter = _geometry(query[subsample], query_y[subsample], distance, normalize)
    ratio = intra / inter if intra is not None and inter not in (None, 0.0) else None
    return EmbeddingQuality(
        distance=distance,
        normalized=bool(build_distance(distance, normalize).normalize_embeddings),
        n_reference=len(reference),
        n_query=len(query),
        knn_accuracy_k1=_vote_accuracy(indices, reference_y, query_y, 1),
        knn_accuracy_k5=_vote_accuracy(indices, reference_y, query_y, k5),
        precision_at_1=precision_at_1,
        mean_average_precision_at_r=map_at_r,
        silhouette=silhouette,
        mean_intra_class_distance=intra,
        mean_inter_class_distance=inter,
        intra_inter_distance_ratio=ratio,
        silhouette_samples=len(subsample),
    )


def _retrieval(
    reference: torch.Tensor,
    reference_y: np.ndarray,
    query: torch.Tensor,
    query_y: np.ndarray,
    distance: str,
    normalize: bool,
    device: str | torch.device,
) -> tuple[float | None, float | None, torch.Tensor]:
    """Precision@1 and MAP@R by PML's AccuracyCalculator, one block of queries at a time (MAP@R ranks R =
    up to ~7,000 references per query, so whole-split tensors would take gigabytes), and each query's 5
    nearest references. Block means are weighted by their queries whose class exists in the reference set."""
    recorder = _RecordingKNN(_knn(distance, normalize))
    calculator = AccuracyCalculator(
        include=("precision_at_1", "mean_average_precision_at_r"),
        k="max_bin_count",  # MAP@R needs R = the number of references of the query's class
        knn_func=recorder,
        device=torch.device(device),
    )
    reference_labels = torch.as_tensor(reference_y)
    known = np.isin(query_y, reference_y)
    k5 = min(5, len(reference))
    sums = {"precision_at_1": 0.0, "mean_average_precision_at_r": 0.0}
    weight = 0
    neighbours = []
    for start in range(0, len(query), RETRIEVAL_QUERY_BLOCK):
        block = slice(start, start + RETRIEVAL_QUERY_BLOCK)
        result = calculator.get_accuracy(
            query[block], torch.as_tensor(query_y[block]), reference, reference_labels, False
        )
        if recorder.indices is None or recorder.indices.shape[1] < k5:
            _, recorder.indices = _knn(distance, normalize)(query[block], k5, reference, False)
        neighbours.append(recorder.indices[:, :k5].cpu())
        block_weight = int(known[block].sum())
        if block_weight:
            weight += block_weight
            for name in sums:
                sums[name] += float(result[name]) * block_weight
    means = {name: (total / weight if weight else None) for name, total in sums.items()}
    return means["precision_at_1"], means["mean_average_precision_at_r"], torch.cat(neighbours)
