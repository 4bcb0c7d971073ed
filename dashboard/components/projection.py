"""The Embeddings page's 2-D map: the run's stored map when its settings match, else a cached projection."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import streamlit as st

from fer_engine.embeddings.projection import PROJECTION_METHODS, load_stored_map, map_file, project
from fer_engine.runs.layout import RunPaths

__all__ = ["PROJECTION_METHODS", "cached_projection", "stored_map_points"]


@st.cache_data(max_entries=16, show_spinner=False)
def cached_projection(
    run_key: str, split: str, method: str, params: tuple, sample_size: int, _embeddings: np.ndarray
) -> np.ndarray:
    """`project` cached by (run folder + mtime, split, method, params, sample size); the array is not hashed."""
    return project(_embeddings, method, **dict(params))


@st.cache_data(max_entries=16, show_spinner=False)
def _stored_points(
    run_dir: str, split: str, method: str, settings: tuple, stamps: tuple[float, float], _keys: np.ndarray
) -> np.ndarray | None:
    stored = load_stored_map(RunPaths(Path(run_dir)), split, method, dict(settings), _keys)
    return None if stored is None else stored.points


def stored_map_points(
    run: RunPaths, split: str, method: str, settings: Mapping[str, object], keys: np.ndarray, embeddings_mtime: float
) -> np.ndarray | None:
    """Points of the run's stored map for exactly these settings and point keys, else None (cached per file)."""
    path = map_file(run, split, method)
    try:
        stamps = (path.stat().st_mtime, embeddings_mtime)
    except OSError:
        return None
    return _stored_points(str(run.root), split, method, tuple(sorted(settings.items())), stamps, keys)
