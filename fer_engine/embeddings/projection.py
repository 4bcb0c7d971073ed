"""2-D projections of embeddings: UMAP (umap-learn), PCA and t-SNE (scikit-learn), for maps of a run's space.

The Embeddings page and `fer project` both call `project`; parameters are clipped to what N allows so a
small run or a filtered subset still gets a map.
"""

from __future__ import annotations

import numpy as np

from fer_engine.errors import ConfigError

PROJECTION_METHODS = ("UMAP", "PCA", "t-SNE")


def project(embeddings: np.ndarray, method: str, *, neighbors: int = 15, min_dist: float = 0.1,
            perplexity: float = 30.0, seed: int = 0) -> np.ndarray:
    """(N, D) -> (N, 2) float32 with the named method (case-insensitive), seeded so a map is reproducible."""
    canonical = {name.lower(): name for name in PROJECTION_METHODS}.get(str(method).lower())
    if canonical is None:
        raise ConfigError(f"unknown projection '{method}' (choose from {', '.join(PROJECTION_METHODS)})")
    data = np.asarray(embeddings, dtype=np.float32)
    count = len(data)
    if count < 3:
        return np.zeros((count, 2), np.float32)
    if canonical == "PCA":
        from sklearn.decomposition import PCA

        points = PCA(n_components=2, random_state=seed).fit_transform(data)
    elif canonical == "t-SNE":
        from sklearn.manifold import TSNE

        points = TSNE(n_components=2, perplexity=min(perplexity, (count - 1) / 3), init="pca",
                      random_state=seed).fit_transform(data)
    else:
        import umap

        reducer = umap.UMAP(n_components=2, n_neighbors=max(2, min(neighbors, count - 1)), min_dist=min_dist,
                            random_state=seed)
        points = reducer.fit_transform(data)
    return np.asarray(points, dtype=np.float32)


def sample_rows(count: int, max_points: int, seed: int = 0) -> np.ndarray:
    """Sorted row indices of a seeded uniform sample of at most `max_points` of `count` (all when it fits)."""
    if count <= max_points:
        return np.arange(count)
    return np.sort(np.random.default_rng(seed).choice(count, size=int(max_points), replace=False))
