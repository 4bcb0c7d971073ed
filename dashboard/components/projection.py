"""2-D projections of embeddings for the Embeddings page: UMAP (umap-learn), PCA and t-SNE (scikit-learn).

A thin call into those libraries, cached by run, split, method and parameters. It belongs in
fer_engine (embeddings/projection.py) once the library offers it; the page would then call that.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

PROJECTION_METHODS = ("UMAP", "PCA", "t-SNE")


def project(embeddings: np.ndarray, method: str, *, neighbors: int = 15, min_dist: float = 0.1,
            perplexity: float = 30.0, seed: int = 0) -> np.ndarray:
    """(N, D) -> (N, 2) with the named method; parameters are clipped to what N allows."""
    data = np.asarray(embeddings, dtype=np.float32)
    count = len(data)
    if count < 3:
        return np.zeros((count, 2), np.float32)
    if method == "PCA":
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=seed).fit_transform(data)
    if method == "t-SNE":
        from sklearn.manifold import TSNE

        return TSNE(n_components=2, perplexity=min(perplexity, (count - 1) / 3), init="pca",
                    random_state=seed).fit_transform(data)
    if method == "UMAP":
        import umap

        reducer = umap.UMAP(n_components=2, n_neighbors=max(2, min(neighbors, count - 1)), min_dist=min_dist,
                            random_state=seed)
        return reducer.fit_transform(data)
    raise ValueError(f"unknown projection '{method}' (choose from {', '.join(PROJECTION_METHODS)})")


@st.cache_data(max_entries=16, show_spinner=False)
def cached_projection(run_key: str, split: str, method: str, params: tuple, sample_size: int,
                      _embeddings: np.ndarray) -> np.ndarray:
    """`project` cached by (run folder + mtime, split, method, params, sample size); the array is not hashed."""
    return project(_embeddings, method, **dict(params))
