"""2-D projections of embeddings: UMAP (umap-learn), PCA and t-SNE (scikit-learn), for maps of a run's space.

The Embeddings page and `fer project` both call `project`; a map can be stored with the run (`store_map`) so
the page shows it without computing. Parameters are clipped to what N allows so a
small run or a filtered subset still gets a map.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

import numpy as np
import pandas as pd

from fer_engine.embeddings.embedding_set import EmbeddingSet
from fer_engine.errors import ConfigError
from fer_engine.io_utils import atomic_write, atomic_write_json
from fer_engine.runs.layout import PROJECTIONS_DIR, RunPaths

PROJECTION_METHODS = ("UMAP", "PCA", "t-SNE")


def project(
    embeddings: np.ndarray,
    method: str,
    *,
    neighbors: int = 15,
    min_dist: float = 0.1,
    perplexity: float = 30.0,
    seed: int = 0,
) -> np.ndarray:
    """(N, D) -> (N, 2) float32 with the named method (case-insensitive), seeded so a map is reproducible."""
    canonical = canonical_method(method)
    data = np.asarray(embeddings, dtype=np.float32)
    count = len(data)
    if count < 3:
        return np.zeros((count, 2), np.float32)
    if canonical == "PCA":
        from sklearn.decomposition import PCA

        points = PCA(n_components=2, random_state=seed).fit_transform(data)
    elif canonical == "t-SNE":
        from sklearn.manifold import TSNE

        points = TSNE(
            n_components=2, perplexity=min(perplexity, (count - 1) / 3), init="pca", random_state=seed
        ).fit_transform(data)
    else:
        import umap

        reducer = umap.UMAP(
            n_components=2,
            n_neighbors=max(2, min(neighbors, count - 1)),
            min_dist=min_dist,
            random_state=seed,
            n_jobs=1,
        )  # seeded UMAP runs on one thread anyway
        points = reducer.fit_transform(data)
    return np.asarray(points, dtype=np.float32)


def sample_rows(count: int, max_points: int, seed: int = 0) -> np.ndarray:
    """Sorted row indices of a seeded uniform sample of at most `max_points` of `count` (all when it fits)."""
    if count <= max_points:
        return np.arange(count)
    return np.sort(np.random.default_rng(seed).choice(count, size=int(max_points), replace=False))


# ---------------------------------------------------------------------------------------------------------------
# Stored 2-D maps: `RUN/projections/<split>-<method>.csv` (x, y, key, true and predicted class) with a JSON
# sidecar of the settings, written by `fer project` and by example export, read by the Embeddings page so a
# first visit needs no UMAP run.

MAPS_DIR = PROJECTIONS_DIR


class MapDefaults(TypedDict):
    """A value for every map setting, whichever method uses it."""

    neighbors: int
    min_dist: float
    perplexity: float
    seed: int
    max_points: int


DEFAULT_MAP_SETTINGS: MapDefaults = {
    "neighbors": 15,
    "min_dist": 0.1,
    "perplexity": 30.0,
    "seed": 0,
    "max_points": 4000,
}
"""The Embeddings page's default settings; a stored map made with them is what its first visit shows."""
_METHOD_PARAMS = {"UMAP": ("neighbors", "min_dist", "seed"), "PCA": ("seed",), "t-SNE": ("perplexity", "seed")}

# Seconds per point and one-off start-up cost (imports; numba compiling umap-learn) on one thread of this project's
# shared 2-core CPU, measured by benchmarks/projection_timing.py on the shipped model's 3,589 val embeddings
# (PCA 0.14 s, UMAP 81 s + 33 s on first use, t-SNE 77 s + 16 s): rough, for a notice before a slow map starts.
_SECONDS_PER_POINT = {"UMAP": 0.022, "PCA": 0.00004, "t-SNE": 0.021}
_FIRST_USE_SECONDS = {"UMAP": 33.0, "PCA": 4.0, "t-SNE": 16.0}


def canonical_method(method: str) -> str:
    """'umap' -> 'UMAP'; ConfigError naming the choices for anything else."""
    canonical = {name.lower(): name for name in PROJECTION_METHODS}.get(str(method).lower())
    if canonical is None:
        raise ConfigError(f"unknown projection '{method}' (choose from {', '.join(PROJECTION_METHODS)})")
    return canonical


def estimate_seconds(method: str, n_points: int, *, first_use: bool = True) -> float:
    """Rough wall time of `project` for n points (for a notice before a slow map starts), numba compile included."""
    canonical = canonical_method(method)
    return _SECONDS_PER_POINT[canonical] * n_points + (_FIRST_USE_SECONDS[canonical] if first_use else 0.0)


class ProjectionParams(TypedDict, total=False):
    """Keyword parameters of `project`; a method's map records only those it uses."""

    neighbors: int
    min_dist: float
    perplexity: float
    seed: int


class MapSettings(ProjectionParams):
    """What identifies a stored map (its JSON sidecar): method, sample size and the method's parameters."""

    method: str
    max_points: int


def projection_params(method: str, **params: float | int) -> ProjectionParams:
    """The parameters `method` uses, typed as `project` takes them, defaults filled in from DEFAULT_MAP_SETTINGS."""
    uses = _METHOD_PARAMS[canonical_method(method)]
    defaults = DEFAULT_MAP_SETTINGS
    chosen = ProjectionParams()
    if "neighbors" in uses:
        chosen["neighbors"] = int(params.get("neighbors", defaults["neighbors"]))
    if "min_dist" in uses:
        chosen["min_dist"] = float(params.get("min_dist", defaults["min_dist"]))
    if "perplexity" in uses:
        chosen["perplexity"] = float(params.get("perplexity", defaults["perplexity"]))
    chosen["seed"] = int(params.get("seed", defaults["seed"]))  # every method is seeded
    return chosen


def map_settings(method: str, *, max_points: int, **params: float | int) -> MapSettings:
    """The settings that identify a map: method, max_points and the parameters that method uses."""
    return MapSettings(
        method=canonical_method(method), max_points=int(max_points), **projection_params(method, **params)
    )


def map_file(run: RunPaths, split: str, method: str) -> Path:
    """Where the stored map of (split, method) lives: RUN/projections/<split>-<umap|pca|tsne>.csv."""
    return run.root / MAPS_DIR / f"{split}-{canonical_method(method).lower().replace('-', '')}.csv"


@dataclass(frozen=True)
class StoredMap:
    """A stored 2-D map: per-point coordinates and keys, with the settings it was computed with."""

    points: np.ndarray
    keys: np.ndarray
    settings: dict[str, object]


def compute_map(
    embedding_set: EmbeddingSet,
    method: str,
    *,
    max_points: int = DEFAULT_MAP_SETTINGS["max_points"],
    **params: float | int,
) -> tuple[pd.DataFrame, dict[str, object]]:
    """Project a seeded sample of `embedding_set` -> (frame of x, y, key, true/predicted class; its settings)."""
    method_params = projection_params(method, **params)
    settings = MapSettings(method=canonical_method(method), max_points=int(max_points), **method_params)
    rows = sample_rows(len(embedding_set), settings["max_points"], method_params["seed"])
    points = project(embedding_set.embeddings[rows], settings["method"], **method_params)
    names = list(embedding_set.class_names)
    frame = pd.DataFrame(
        {
            "x": points[:, 0],
            "y": points[:, 1],
            "key": embedding_set.keys[rows],
            "true_class": [names[i] for i in embedding_set.labels[rows]],
            "predicted_class": [names[i] for i in embedding_set.softmax_predictions[rows]],
        }
    )
    return frame, {**settings, "n_points": len(rows), "split": embedding_set.split}


def write_map(frame: pd.DataFrame, settings: dict[str, object], path: Path) -> Path:
    """Write the CSV and its `.json` settings sidecar atomically (sidecar last: a map without one is ignored)."""
    atomic_write(path, lambda temp: frame.to_csv(temp, index=False, float_format="%.4f"))
    atomic_write_json(path.with_suffix(".json"), settings)
    return path


def store_map(
    run: RunPaths,
    embedding_set: EmbeddingSet,
    method: str = "UMAP",
    *,
    max_points: int = DEFAULT_MAP_SETTINGS["max_points"],
    **params: float | int,
) -> Path:
    """Compute and store the map of a run's split, where the Embeddings page looks for it first."""
    frame, recorded = compute_map(embedding_set, method, max_points=max_points, **params)
    return write_map(frame, recorded, map_file(run, embedding_set.split, method))


def load_stored_map(
    run: RunPaths, split: str, method: str, settings: Mapping[str, object], keys: np.ndarray
) -> StoredMap | None:
    """The stored map of (split, method) when it was made with `settings` over exactly these point `keys`.

    Anything else (no map, other settings, a re-embedded split with other points, a damaged file) gives None,
    and the caller computes the map instead.
    """
    path = map_file(run, split, method)
    try:
        recorded = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        if not isinstance(recorded, dict) or any(recorded.get(k) != v for k, v in settings.items()):
            return None
        frame = pd.read_csv(path, usecols=["x", "y", "key"], dtype={"key": str})
    except (OSError, ValueError, KeyError):
        return None
    stored_keys = frame["key"].to_numpy(dtype=str)
    if len(stored_keys) != len(keys) or not np.array_equal(stored_keys, np.asarray(keys, dtype=str)):
        return None
    return StoredMap(frame[["x", "y"]].to_numpy(np.float32), stored_keys, recorded)
