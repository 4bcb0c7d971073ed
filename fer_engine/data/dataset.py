"""In-memory FER data: one uint8 image array per split, decoded once and shared by every step."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fer_engine.classes import FER_CLASS_NAMES, SPLIT_NAMES


@dataclass
class Split:
    """One split: `images` (N, 48, 48) uint8 grayscale, `labels` (N,) int64 class ids, `keys` (N,) str paths/row ids."""

    images: np.ndarray
    labels: np.ndarray
    keys: np.ndarray

    def __post_init__(self) -> None:
        if not (len(self.images) == len(self.labels) == len(self.keys)):
            raise ValueError("images, labels and keys must have the same length")

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, indices: np.ndarray) -> "Split":
        """The rows at `indices`, as a new Split."""
        return Split(self.images[indices], self.labels[indices], self.keys[indices])


@dataclass
class SkippedItem:
    """An input item dropped under `skip_bad=True`: where it was and why."""

    where: str
    reason: str


@dataclass
class FerDataset:
    """All splits of one source, with its provenance (fingerprint, drawn/absent splits, skipped items)."""

    splits: dict[str, Split]
    class_names: tuple[str, ...] = FER_CLASS_NAMES
    source: str = ""
    source_format: str = ""
    fingerprint: str = ""
    drawn_splits: dict[str, str] = field(default_factory=dict)
    skipped: list[SkippedItem] = field(default_factory=list)

    @property
    def absent_splits(self) -> list[str]:
        """Product splits this source does not provide (never silently replaced by another)."""
        return [name for name in SPLIT_NAMES if name not in self.splits]

    def split(self, name: str) -> Split:
        """The named split, or a DataError saying it is absent from this source."""
        from fer_engine.errors import DataError

        if name not in self.splits:
            raise DataError(
                f"split '{name}' is absent from {self.source or 'this dataset'} "
                f"(available: {', '.join(self.splits) or 'none'})"
            )
        return self.splits[name]
