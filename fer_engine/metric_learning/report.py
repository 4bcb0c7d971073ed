"""Embedding quality of a run's saved embeddings (val/test queried against train), written to its reports folder."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from fer_engine.errors import DataError
from fer_engine.io_utils import atomic_write_json
from fer_engine.metric_learning.quality import EmbeddingQuality, embedding_quality
from fer_engine.runs.layout import RunPaths

REFERENCE_SPLIT = "train"
HEADLINE_FIELDS = (
    "knn_accuracy_k1",
    "knn_accuracy_k5",
    "precision_at_1",
    "mean_average_precision_at_r",
    "silhouette",
    "intra_inter_distance_ratio",
)


def run_distance(run_paths: RunPaths) -> tuple[str, bool]:
    """The geometry a run was trained for: its triplet distance and normalisation, else plain euclidean (CE runs)."""
    config = run_paths.read_config()
    triplet = config.get("triplet") or {}
    if "triplet" in str(config.get("loss", "")) and triplet.get("distance"):
        return str(triplet["distance"]), bool(triplet.get("normalize_embeddings", True))
    return "euclidean", False


def _load_split(run_paths: RunPaths, split: str) -> tuple[np.ndarray, np.ndarray]:
    path = run_paths.embeddings_file(split)
    if not path.exists():
        raise DataError(
            f"run '{run_paths.run_id}' has no {path.relative_to(run_paths.root)}; "
            f"run `fer embed {run_paths.run_id}` first"
        )
    with np.load(path, allow_pickle=False) as archive:
        return np.asarray(archive["embeddings"], dtype=np.float32), np.asarray(archive["labels"], dtype=np.int64)


def embedding_quality_for_run(
    run_paths: RunPaths,
    splits: Sequence[str] = ("val", "test"),
    *,
    distance: str | None = None,
    normalize: bool | None = None,
    update_store: bool = False,
    runs_root: str | None = None,
) -> dict[str, EmbeddingQuality]:
    """Quality of each split's embeddings with train as the reference; splits without embeddings are skipped.

    Writes reports/embedding_quality.json atomically and, with `update_store`, merges `<split>_<metric>`
    headline numbers into the run's row of the run store (`runs_root`, default: the run folder's parent).
    """
    run_distance_name, run_normalize = run_distance(run_paths)
    distance = distance or run_distance_name
    normalize = run_normalize if normalize is None else normalize
    reference, reference_labels = _load_split(run_paths, REFERENCE_SPLIT)
    results: dict[str, EmbeddingQuality] = {}
    for split in splits:
        if split == REFERENCE_SPLIT:
            raise DataError("the train split is the k-NN reference; choose query splits among val and test")
        if not run_paths.embeddings_file(split).exists():
            continue
        query, query_labels = _load_split(run_paths, split)
        results[split] = embedding_quality(
            reference, reference_labels, query, query_labels, distance=distance, normalize=normalize
        )
    if not results:
        raise DataError(
            f"run '{run_paths.run_id}' has embeddings for none of the splits {', '.join(splits)}; "
            f"run `fer embed {run_paths.run_id}` first"
        )
    atomic_write_json(
        run_paths.embedding_quality_file,
        {"reference_split": REFERENCE_SPLIT, "splits": {name: q.to_dict() for name, q in results.items()}},
    )
    if update_store:
        from fer_engine.runs.store import RunStore

        metrics = {
            f"{split}_{field}": getattr(quality, field)
            for split, quality in results.items()
            for field in HEADLINE_FIELDS
        }
        RunStore(runs_root or run_paths.root.parent).update(run_paths.run_id, metrics=metrics)
    return results


def read_embedding_quality(run_paths: RunPaths) -> dict[str, dict[str, Any]]:
    """split -> the metrics saved by `embedding_quality_for_run` (EmbeddingQuality's fields, JSON values);
    {} when not computed yet, a DataError naming the file when it is damaged."""
    path = run_paths.embedding_quality_file
    if not path.is_file():
        return {}
    try:
        splits = json.loads(path.read_text(encoding="utf-8")).get("splits", {})
    except (OSError, ValueError, AttributeError) as error:
        raise DataError(
            f"run '{run_paths.run_id}': {path.name} is unreadable ({type(error).__name__}); "
            "delete it to compute it again (Embeddings page)"
        ) from error
    fields = {field.name for field in dataclasses.fields(EmbeddingQuality)}
    if not isinstance(splits, dict) or not all(isinstance(metrics, dict) for metrics in splits.values()):
        raise DataError(f"run '{run_paths.run_id}': {path.name} does not hold per-split metrics")
    return {
        str(split): {name: value for name, value in metrics.items() if name in fields}
        for split, metrics in splits.items()
    }
