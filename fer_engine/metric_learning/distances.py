"""Distance registry: name -> pytorch-metric-learning distance, shared by the loss, the miners and the quality metrics.

Adding a distance means adding one entry to `DISTANCES`: `TrainConfig`, `fer train --distance`, sweeps and
the dashboard's option lists read its keys.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from pytorch_metric_learning.distances import BaseDistance, CosineSimilarity, LpDistance

from fer_engine.errors import ConfigError

DistanceFactory = Callable[[bool], BaseDistance]


def _cosine(normalize_embeddings: bool) -> BaseDistance:
    # Cosine similarity is defined on unit vectors: PML's CosineSimilarity always normalises,
    # so the flag cannot switch it off (the loss works on similarities, larger = closer).
    return CosineSimilarity()


DISTANCES: dict[str, DistanceFactory] = {
    "euclidean": lambda normalize_embeddings: LpDistance(p=2, power=1, normalize_embeddings=normalize_embeddings),
    "squared_euclidean": lambda normalize_embeddings: LpDistance(
        p=2, power=2, normalize_embeddings=normalize_embeddings
    ),
    "cosine": _cosine,
    # PML normalises with the distance's own p, so normalised manhattan embeddings lie on the L1 sphere.
    "manhattan": lambda normalize_embeddings: LpDistance(p=1, power=1, normalize_embeddings=normalize_embeddings),
}


def build_distance(name: str, normalize_embeddings: bool = True) -> BaseDistance:
    """The PML distance registered as `name` (a ConfigError listing the choices for an unknown name)."""
    if name not in DISTANCES:
        raise ConfigError(f"unknown triplet distance '{name}'; choose one of: {', '.join(DISTANCES)}")
    return DISTANCES[name](bool(normalize_embeddings))


def distance_matrix(distance: BaseDistance, query: torch.Tensor, reference: torch.Tensor | None = None) -> torch.Tensor:
    """Pairwise dissimilarities (smaller = closer) for any PML distance; similarities s become 1 - s."""
    matrix = distance(query, reference)
    return 1.0 - matrix if distance.is_inverted else matrix
