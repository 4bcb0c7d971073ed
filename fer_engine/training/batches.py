"""Which images each step sees: seeded per-epoch permutations (or P x K triplet batches) and stratified limits."""

from __future__ import annotations

import numpy as np
import torch

from fer_engine.data.dataset import FerDataset, Split
from fer_engine.errors import ConfigError
from fer_engine.training.config import TrainConfig

# Separate random streams derived from (seed, epoch), so resuming at any epoch replays the same batches.
STREAM_PERMUTATION = 1
STREAM_AUGMENT = 2
STREAM_KNN_REFERENCE = 3
STREAM_LIMIT = 4


def derived_seed(seed: int, epoch: int, stream: int, rank: int = 0) -> int:
    """A 63-bit seed for one (seed, epoch, stream, rank) combination."""
    return int(np.random.SeedSequence([seed, epoch, stream, rank]).generate_state(1, dtype=np.uint64)[0]) & (
        (1 << 63) - 1
    )


def stratified_subset(split: Split, limit: int | None, seed: int) -> Split:
    """At most `limit` images, keeping class proportions (every present class keeps at least one image)."""
    if limit is None or len(split) <= limit:
        return split
    rng = np.random.default_rng(derived_seed(seed, 0, STREAM_LIMIT))
    classes, counts = np.unique(split.labels, return_counts=True)
    quota = np.maximum(1, np.floor(counts * limit / len(split)).astype(int))
    chosen = []
    for label, take in zip(classes, quota):
        members = np.flatnonzero(split.labels == label)
        chosen.append(rng.choice(members, size=min(take, len(members)), replace=False))
    return split.subset(np.sort(np.concatenate(chosen)))


def training_splits(dataset: FerDataset, config: TrainConfig) -> tuple[Split, Split]:
    """(train, val) after `config.limit`; a missing or empty split is a ConfigError before anything runs."""
    for name in ("train", "val"):
        if name not in dataset.splits or len(dataset.splits[name]) == 0:
            raise ConfigError(
                f"training needs a non-empty '{name}' split; {dataset.source or 'the dataset'} has "
                f"{', '.join(f'{k} ({len(v)})' for k, v in dataset.splits.items()) or 'no splits'}"
            )
    return (
        stratified_subset(dataset.splits["train"], config.limit, config.seed),
        stratified_subset(dataset.splits["val"], config.limit, config.seed + 1),
    )


def steps_per_epoch(config: TrainConfig, num_train: int) -> int:
    """Optimizer steps per epoch: full global batches (the last partial batch is dropped), at least one."""
    batch = global_batch_size(config)
    return max(1, num_train // batch)


def global_batch_size(config: TrainConfig) -> int:
    """Images per optimizer step over all ranks: `batch_size`, or P x K for losses with a triplet term."""
    if config.loss in ("triplet", "ce+triplet"):
        return config.triplet.classes_per_batch * config.triplet.samples_per_class
    return config.batch_size


def epoch_batches(config: TrainConfig, labels: np.ndarray, epoch: int) -> list[np.ndarray]:
    """The global index batches of one epoch (identical on every rank; each rank then takes its share)."""
    count = steps_per_epoch(config, len(labels))
    if config.loss in ("triplet", "ce+triplet"):
        return _pk_batches(config, labels, epoch, count)
    generator = torch.Generator().manual_seed(derived_seed(config.seed, epoch, STREAM_PERMUTATION))
    order = torch.randperm(len(labels), generator=generator).numpy()
    batch = min(config.batch_size, len(labels))
    return [order[step * batch : (step + 1) * batch] for step in range(count)]


def _pk_batches(config: TrainConfig, labels: np.ndarray, epoch: int, count: int) -> list[np.ndarray]:
    """P classes x K images per batch from the metric-learning sampler (oversampling rare classes if asked)."""
    from fer_engine.metric_learning.sampler import PKBatchSampler

    triplet = config.triplet
    sampler = PKBatchSampler(
        labels,
        classes_per_batch=triplet.classes_per_batch,
        samples_per_class=triplet.samples_per_class,
        oversample_rare=triplet.oversample_rare,
        seed=config.seed,
        batches_per_epoch=count,
    )
    sampler.set_epoch(epoch)
    return [np.asarray(batch, dtype=np.int64) for batch in sampler]
