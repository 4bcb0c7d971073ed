"""The example runs kept in the repository (checkpoints/examples) and the shipped model's stored map:
what a fresh clone's Experiments and Embeddings pages read."""

from __future__ import annotations

import numpy as np

from fer_engine.embeddings import read_embeddings
from fer_engine.embeddings.projection import DEFAULT_MAP_SETTINGS, load_stored_map, map_settings, sample_rows
from fer_engine.evaluation.stored import headline_metrics, run_evaluations
from fer_engine.paths import DEFAULT_CHECKPOINT_DIR
from fer_engine.runs.examples import EXAMPLES_DIR, MAX_EXAMPLES_BYTES, folder_bytes, list_examples
from fer_engine.runs.layout import RunPaths

PAGE_DEFAULT_MAP = map_settings("UMAP", **DEFAULT_MAP_SETTINGS)


def _has_default_map(run: RunPaths) -> bool:
    embedding_set = read_embeddings(run.embeddings_file("val"))
    rows = sample_rows(len(embedding_set), int(DEFAULT_MAP_SETTINGS["max_points"]), int(DEFAULT_MAP_SETTINGS["seed"]))
    return load_stored_map(run, "val", "UMAP", PAGE_DEFAULT_MAP, embedding_set.keys[rows]) is not None


def test_repository_examples_are_real_runs_without_weights_under_the_size_cap() -> None:
    examples = list_examples(EXAMPLES_DIR)
    assert len(examples) >= 3, "checkpoints/examples should hold the example runs (see its README.md)"
    assert sum(folder_bytes(example.root) for example in examples) < MAX_EXAMPLES_BYTES
    for example in examples:
        assert not any(example.root.rglob("*.safetensors")) and not any(example.root.rglob("*.pt"))
        summary, config = example.read_summary(), example.read_config()
        assert summary["example"] is True and summary["example_of_run"]
        assert config["data_path"].endswith("fer2013-dev.zip") and isinstance(config["seed"], int)
        assert len(example.read_metrics()) == summary["epochs_completed"] >= 1
        evaluations = run_evaluations(example, "val")
        assert "softmax" in evaluations and evaluations["softmax"].n == 3589  # all of PublicTest
        assert headline_metrics(example).accuracy == evaluations["softmax"].accuracy
        with np.load(example.embeddings_file("val"), allow_pickle=False) as data:
            assert data["embeddings"].dtype == np.float16 and len(data["labels"]) == 3589
        assert _has_default_map(example), f"{example.root.name}: no stored UMAP map for the page's defaults"


def test_shipped_model_has_a_stored_map_for_the_embeddings_page() -> None:
    assert _has_default_map(RunPaths(DEFAULT_CHECKPOINT_DIR))
