"""Stored 2-D maps: `fer project` writes one with its settings; it is found only for the same settings and points."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fer_engine.cli.main import main
from fer_engine.embeddings import load_embeddings
from fer_engine.embeddings.projection import (
    estimate_seconds,
    load_stored_map,
    map_file,
    map_settings,
    sample_rows,
)
from fer_engine.errors import ConfigError
from support.builders import run_with_separable_embeddings


def test_fer_project_stores_a_map_found_only_with_its_settings_and_points(tmp_path: Path) -> None:
    run = run_with_separable_embeddings(tmp_path / "run")
    assert main(["project", str(run.root), "--method", "pca", "--max-points", "50", "--seed", "3"]) == 0
    keys = load_embeddings(run, "val").keys[sample_rows(84, 50, 3)]
    settings = map_settings("PCA", max_points=50, seed=3)
    stored = load_stored_map(run, "val", "pca", settings, keys)
    assert stored is not None and stored.points.shape == (50, 2) and np.array_equal(stored.keys, keys)
    assert json.loads(map_file(run, "val", "PCA").with_suffix(".json").read_text())["n_points"] == 50
    assert load_stored_map(run, "val", "PCA", map_settings("PCA", max_points=50, seed=4), keys) is None
    assert load_stored_map(run, "val", "PCA", settings, keys[::-1]) is None  # other points (re-embedded split)
    assert load_stored_map(run, "val", "UMAP", map_settings("UMAP", max_points=50, seed=3), keys) is None
    map_file(run, "val", "PCA").write_text("x,y\n1,2\n")  # damaged: ignored, the page computes instead
    assert load_stored_map(run, "val", "PCA", settings, keys) is None


def test_estimate_grows_with_points_and_names_bad_methods() -> None:
    assert estimate_seconds("UMAP", 4000) > estimate_seconds("UMAP", 400) > estimate_seconds("PCA", 4000)
    assert estimate_seconds("umap", 100, first_use=False) < estimate_seconds("UMAP", 100)
    with pytest.raises(ConfigError, match="unknown projection 'LDA'"):
        estimate_seconds("LDA", 10)
