"""On-disk cache of decoded datasets: one uncompressed .npz per (source content, loader options, loader version)."""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path

import numpy as np

from fer_engine.data.dataset import FerDataset, SkippedItem, Split
from fer_engine.io_utils import atomic_write
from fer_engine.paths import cache_dir

LOADER_VERSION = 2
"""Bump when decoding, layout rules or the cache format change: old cache entries are then ignored."""


def cache_file(source: Path, fingerprint: str, options: dict) -> Path:
    """Where the decoded dataset of this source content + options lives."""
    key_text = json.dumps({"fingerprint": fingerprint, "options": options, "version": LOADER_VERSION}, sort_keys=True)
    key = hashlib.sha256(key_text.encode()).hexdigest()[:24]
    stem = "".join(char if char.isalnum() or char in "-_." else "_" for char in source.name)[:60] or "source"
    return dataset_cache_dir() / f"{stem}-{key}.npz"


def dataset_cache_dir() -> Path:
    """The folder of decoded dataset caches (pruned by `disk_quota.dataset_cache_quota`)."""
    return cache_dir() / "datasets"


def save_cached(path: Path, dataset: FerDataset) -> None:
    """Write the dataset atomically (arrays without pickles, metadata as a JSON string)."""
    arrays: dict[str, np.ndarray] = {}
    for name, split in dataset.splits.items():
        arrays[f"{name}_images"] = split.images
        arrays[f"{name}_labels"] = split.labels
        arrays[f"{name}_keys"] = split.keys.astype(str)
    meta = {
        "version": LOADER_VERSION,
        "splits": list(dataset.splits),
        "class_names": list(dataset.class_names),
        "source_format": dataset.source_format,
        "fingerprint": dataset.fingerprint,
        "drawn_splits": dataset.drawn_splits,
        "skipped": [[item.where, item.reason] for item in dataset.skipped],
    }
    arrays["meta"] = np.array(json.dumps(meta))

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.savez(handle, allow_pickle=False, **arrays)

    atomic_write(path, write)


def load_cached(path: Path, source: str) -> FerDataset | None:
    """The cached dataset, or None when absent, unreadable or from another loader version."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            if meta.get("version") != LOADER_VERSION:
                return None
            splits = {
                name: Split(data[f"{name}_images"], data[f"{name}_labels"], data[f"{name}_keys"])
                for name in meta["splits"]
            }
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, json.JSONDecodeError):
        return None  # a damaged entry is rebuilt, never trusted
    try:
        os.utime(path)  # expiry counts from the last use (see disk_quota)
    except OSError:
        pass
    return FerDataset(
        splits=splits,
        class_names=tuple(meta["class_names"]),
        source=source,
        source_format=meta["source_format"],
        fingerprint=meta["fingerprint"],
        drawn_splits=dict(meta["drawn_splits"]),
        skipped=[SkippedItem(where, reason) for where, reason in meta["skipped"]],
    )
