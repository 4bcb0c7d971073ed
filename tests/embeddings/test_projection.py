"""2-D projections of embeddings (library and `fer project`): shape, determinism, small inputs, the CSV."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fer_engine.cli.main import main
from fer_engine.embeddings.projection import project, sample_rows
from fer_engine.errors import ConfigError
from support.builders import run_with_separable_embeddings


def _clusters() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 15)
    return rng.normal(size=(45, 32)) + 8 * labels[:, None], labels


def _clusters_apart(points: np.ndarray, labels: np.ndarray) -> bool:
    centres = np.stack([points[labels == k].mean(axis=0) for k in np.unique(labels)])
    spread = max(np.linalg.norm(points[labels == k] - centres[k], axis=1).mean() for k in np.unique(labels))
    return min(np.linalg.norm(centres[i] - centres[j]) for i in range(len(centres)) for j in range(i + 1, len(centres))) > spread


@pytest.mark.parametrize("method", ["PCA", "t-SNE"])
def test_projection_keeps_clusters_apart(method: str) -> None:
    embeddings, labels = _clusters()
    points = project(embeddings, method)
    assert points.shape == (45, 2) and points.dtype == np.float32
    assert _clusters_apart(points, labels)
    assert np.allclose(points, project(embeddings, method.lower()))  # seeded, and case-insensitive


@pytest.mark.slow
def test_projection_umap() -> None:
    embeddings, labels = _clusters()
    points = project(embeddings, "UMAP")
    assert points.shape == (45, 2) and _clusters_apart(points, labels)


def test_projection_of_tiny_and_unknown_inputs() -> None:
    assert project(np.zeros((2, 8)), "UMAP").shape == (2, 2)
    with pytest.raises(ConfigError, match="unknown projection 'LDA'"):
        project(np.zeros((5, 8)), "LDA")


def test_sample_rows_is_seeded_sorted_and_complete_when_small() -> None:
    assert sample_rows(5, 10).tolist() == [0, 1, 2, 3, 4]
    rows = sample_rows(1000, 100, seed=3)
    assert len(rows) == 100 and len(set(rows.tolist())) == 100 and np.all(np.diff(rows) > 0)
    assert np.array_equal(rows, sample_rows(1000, 100, seed=3)) and not np.array_equal(rows, sample_rows(1000, 100, seed=4))


def test_fer_project_writes_a_csv_of_the_run(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    run = run_with_separable_embeddings(tmp_path / "run")
    assert main(["project", str(run.root), "--method", "pca", "--max-points", "50"]) == 0
    out = run.root / "projections" / "val-pca.csv"
    assert str(out) in capsys.readouterr().out
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["x", "y", "key", "true_class", "predicted_class"] and len(frame) == 50
    codes = frame["true_class"].astype("category").cat.codes.to_numpy()
    assert _clusters_apart(frame[["x", "y"]].to_numpy(), codes)  # separable blobs stay apart on the map
    assert main(["project", str(run.root), "--split", "test"]) == 2  # no stored test embeddings: a clear error
    assert "fer embed" in capsys.readouterr().err
