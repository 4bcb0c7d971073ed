"""What every source reader returns: decoded images with keys, labels and split names, before grouping."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class RawImages:
    """Decoded (N, 48, 48) uint8 images of one source, with per-image key, class id and split name."""

    images: np.ndarray
    labels: np.ndarray
    keys: np.ndarray
    split_names: np.ndarray
    class_names: tuple[str, ...]
    source_format: str
