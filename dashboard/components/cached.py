"""Cached calls into fer_engine: models and datasets as shared resources, tables and projections as data.

Keys include a modification time, so a retrained checkpoint or a replaced dataset is reloaded.
Datasets are resources (tens of MB of uint8 images, read-only) so pages share one copy instead of
unpickling one per call.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from dashboard.components.runs import path_mtime

if TYPE_CHECKING:  # the real imports happen inside each function, so a page pays only for what it uses
    from fer_engine.data import AuditReport, DatasetSummary
    from fer_engine.data.dataset import FerDataset
    from fer_engine.embeddings import EmbeddingSet
    from fer_engine.predict.predictor import Predictor


def dataset_mtime(path: str) -> float:
    """Cache key part for a dataset file or folder."""
    return path_mtime(Path(path))


@st.cache_resource(max_entries=2, show_spinner=False)
def load_dataset(path: str, mtime: float) -> FerDataset:
    """fer_engine.data.load_dataset(path) -> FerDataset, shared by every session."""
    from fer_engine.data import load_dataset as engine_load_dataset

    return engine_load_dataset(path)


@st.cache_data(max_entries=4, show_spinner=False)
def dataset_summary(path: str, mtime: float) -> DatasetSummary:
    """fer_engine.data.summarize of the dataset at `path`."""
    from fer_engine.data import summarize

    return summarize(load_dataset(path, mtime))


@st.cache_data(max_entries=4, show_spinner=False)
def dataset_audit(path: str, mtime: float) -> AuditReport:
    """fer_engine.data.audit_dataset of the dataset at `path`."""
    from fer_engine.data import audit_dataset

    return audit_dataset(load_dataset(path, mtime))


@st.cache_resource(max_entries=4, show_spinner=False)
def key_index(path: str, mtime: float) -> dict[str, tuple[str, int]]:
    """image key -> (split, row) over every split, to find the face behind an embedding point."""
    dataset = load_dataset(path, mtime)
    return {str(key): (name, row) for name, split in dataset.splits.items() for row, key in enumerate(split.keys)}


def face_by_key(path: str, key: str) -> np.ndarray | None:
    """The 48x48 uint8 face stored under `key` in the dataset at `path`, or None."""
    mtime = dataset_mtime(path)
    found = key_index(path, mtime).get(str(key))
    if found is None:
        return None
    split, row = found
    return load_dataset(path, mtime).splits[split].images[row]


@st.cache_resource(max_entries=4, show_spinner=False)
def load_predictor(run_dir: str, head: str, detector: str, tta: str, mtime: float) -> Predictor:
    """fer_engine.predict.predictor.Predictor for a run folder / checkpoint, head, detector and TTA."""
    from fer_engine.device import resolve_device
    from fer_engine.predict.predictor import Predictor

    return Predictor.from_checkpoint(run_dir, head=head, detector=detector, tta=tta, device=str(resolve_device("auto")))


@st.cache_data(max_entries=8, show_spinner=False)
def load_embeddings(run_dir: str, split: str, mtime: float) -> EmbeddingSet:
    """fer_engine.embeddings.load_embeddings(run, split) -> EmbeddingSet (embeddings, logits, labels, keys)."""
    from fer_engine.embeddings import load_embeddings as engine_load_embeddings
    from fer_engine.runs.layout import RunPaths

    return engine_load_embeddings(RunPaths(Path(run_dir)), split)
