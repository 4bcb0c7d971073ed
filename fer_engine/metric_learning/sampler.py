"""P x K batches for triplet training: every batch holds P distinct classes with K images each.

Why not PML's `MPerClassSampler`: it is a torch Sampler yielding one flat index list over the whole dataset
(length_before_new_iter items) that the DataLoader cuts into batches; its classes are always drawn uniformly
from PML's global numpy RNG, so it cannot draw classes in proportion to their frequency, is not seeded per
epoch, and a batch boundary can only be trusted when batch_size is a multiple of m. This sampler yields the
batches themselves (use it as a DataLoader `batch_sampler` or index arrays with each batch directly).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from torch.utils.data import Sampler

from fer_engine.errors import ConfigError


class PKBatchSampler(Sampler[np.ndarray]):
    """Seeded P-classes x K-images index batches; rare classes drawn as often as others when `oversample_rare`."""

    def __init__(
        self,
        labels: np.ndarray,
        classes_per_batch: int,
        samples_per_class: int,
        oversample_rare: bool,
        seed: int,
        batches_per_epoch: int | None = None,
    ):
        super().__init__()
        labels = np.asarray(labels).reshape(-1)
        if len(labels) == 0:
            raise ConfigError("PKBatchSampler needs at least one labelled image")
        self.classes, counts = np.unique(labels, return_counts=True)
        self.classes_per_batch = int(classes_per_batch)
        self.samples_per_class = int(samples_per_class)
        if self.classes_per_batch < 1 or self.samples_per_class < 1:
            raise ConfigError(
                f"classes_per_batch and samples_per_class must be >= 1 (got {classes_per_batch}, {samples_per_class})"
            )
        if self.classes_per_batch > len(self.classes):
            raise ConfigError(
                f"classes_per_batch={classes_per_batch} but the labels hold only {len(self.classes)} classes; "
                f"lower triplet.classes_per_batch to at most {len(self.classes)}"
            )
        self.oversample_rare = bool(oversample_rare)
        self.seed = int(seed)
        self.epoch = 0
        self.class_probabilities = None if self.oversample_rare else counts / counts.sum()
        self.indices_by_class = [np.flatnonzero(labels == label) for label in self.classes]
        self.batch_size = self.classes_per_batch * self.samples_per_class
        # At least one batch, so a tiny dataset still trains.
        self.num_batches = int(batches_per_epoch) if batches_per_epoch else max(1, len(labels) // self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        """Select the seeded order of epoch `epoch` (call before iterating, as with DistributedSampler)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.num_batches

    def __iter__(self) -> Iterator[np.ndarray]:
        rng = np.random.default_rng([self.seed, self.epoch])
        # Walk each class through a shuffled queue so an epoch covers a class's images before repeating them.
        queues = [rng.permutation(indices) for indices in self.indices_by_class]
        cursors = [0] * len(queues)
        for _ in range(self.num_batches):
            chosen = rng.choice(
                len(self.classes), size=self.classes_per_batch, replace=False, p=self.class_probabilities
            )
            batch = []
            for class_position in chosen:
                batch.append(self._take(class_position, queues, cursors, rng))
            yield np.concatenate(batch)

    def _take(
        self, class_position: int, queues: list[np.ndarray], cursors: list[int], rng: np.random.Generator
    ) -> np.ndarray:
        """K images of one class: the next K of its queue, or K drawn with replacement when it has fewer than K."""
        pool = self.indices_by_class[class_position]
        if len(pool) < self.samples_per_class:
            return rng.choice(pool, size=self.samples_per_class, replace=True)
        start = cursors[class_position]
        if start + self.samples_per_class > len(pool):
            queues[class_position] = rng.permutation(pool)
            start = 0
        cursors[class_position] = start + self.samples_per_class
        return queues[class_position][start : start + self.samples_per_class]
