"""The Embeddings page's 2-D projections: shape, determinism, and small inputs."""

from __future__ import annotations

import _fixtures_dashboard  # noqa: F401  (puts the repository root on sys.path for `dashboard`)
import numpy as np
import pytest

from dashboard.components.projection import project


def _clusters() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 15)
    return rng.normal(size=(45, 32)) + 8 * labels[:, None], labels


@pytest.mark.parametrize("method", ["PCA", "t-SNE"])
def test_dashboard_projection_keeps_clusters_apart(method: str) -> None:
    embeddings, labels = _clusters()
    points = project(embeddings, method)
    assert points.shape == (45, 2)
    centres = np.stack([points[labels == k].mean(axis=0) for k in range(3)])
    spread = max(np.linalg.norm(points[labels == k] - centres[k], axis=1).mean() for k in range(3))
    assert min(np.linalg.norm(centres[i] - centres[j]) for i in range(3) for j in range(i + 1, 3)) > spread
    assert np.allclose(points, project(embeddings, method))  # seeded: the same map every time


@pytest.mark.slow
def test_dashboard_projection_umap() -> None:
    embeddings, _ = _clusters()
    assert project(embeddings, "UMAP").shape == (45, 2)


def test_dashboard_projection_of_tiny_and_unknown_inputs() -> None:
    assert project(np.zeros((2, 8)), "UMAP").shape == (2, 2)
    with pytest.raises(ValueError, match="unknown projection"):
        project(np.zeros((5, 8)), "LDA")
