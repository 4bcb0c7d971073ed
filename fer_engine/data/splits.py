"""Split bookkeeping: group images by split (sorted by key) and draw a seeded, stratified val split from train."""

from __future__ import annotations

import math

import numpy as np

from fer_engine.classes import SPLIT_NAMES
from fer_engine.data.dataset import Split
from fer_engine.errors import ConfigError


def group_splits(images: np.ndarray, labels: np.ndarray, keys: np.ndarray, split_names: np.ndarray) -> dict[str, Split]:
    """One Split per split name present, in SPLIT_NAMES order, each sorted by key (deterministic)."""
    splits = {}
    for name in SPLIT_NAMES:
        rows = np.flatnonzero(split_names == name)
        if rows.size:
            rows = rows[np.argsort(keys[rows], kind="stable")]
            splits[name] = Split(images[rows], labels[rows], keys[rows])
    return splits


def draw_validation_split(train: Split, fraction: float, seed: int) -> tuple[Split, Split, str]:
    """(train rest, val, description): `fraction` of train drawn stratified by class with `seed`.

    Falls back to an unstratified draw (and says so) when a class has a single image or the val split would
    be smaller than the number of classes, where stratification is impossible.
    """
    if not 0.0 < fraction < 1.0:
        raise ConfigError(f"val_fraction must be between 0 and 1 (exclusive), got {fraction}")
    from sklearn.model_selection import train_test_split

    indices = np.arange(len(train))
    counts = np.bincount(train.labels)
    n_val = math.ceil(len(train) * fraction)
    if n_val < 1 or len(train) - n_val < 1:
        raise ConfigError(f"cannot draw a {fraction:g} val split from {len(train)} train images")
    stratify = counts[counts > 0].min() >= 2 and n_val >= np.count_nonzero(counts) and len(train) - n_val >= np.count_nonzero(counts)
    rest, val = train_test_split(
        indices, test_size=fraction, random_state=seed, stratify=train.labels if stratify else None
    )
    description = f"{'stratified' if stratify else 'random (too few images to stratify)'} {fraction * 100:g}% of train, seed {seed}"
    return train.subset(np.sort(rest)), train.subset(np.sort(val)), description
