"""The Embeddings page's projection, cached per run, split, method and parameters (fer_engine computes it)."""

from __future__ import annotations

import numpy as np
import streamlit as st

from fer_engine.embeddings.projection import PROJECTION_METHODS, project

__all__ = ["PROJECTION_METHODS", "cached_projection"]


@st.cache_data(max_entries=16, show_spinner=False)
def cached_projection(run_key: str, split: str, method: str, params: tuple, sample_size: int,
                      _embeddings: np.ndarray) -> np.ndarray:
    """`project` cached by (run folder + mtime, split, method, params, sample size); the array is not hashed."""
    return project(_embeddings, method, **dict(params))
