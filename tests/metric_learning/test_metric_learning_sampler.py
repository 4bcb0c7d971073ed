"""P x K batches: shape, distinct classes, rare-class rate, determinism per seed and epoch."""

from __future__ import annotations

import numpy as np
import pytest

from fer_engine.errors import ConfigError
from fer_engine.metric_learning.sampler import PKBatchSampler

# FER2013-like imbalance: class 1 ("disgust") holds ~1.5% of the images, fewer than K in a small sample.
COUNTS = [495, 12, 512, 899, 608, 400, 620]


def _labels() -> np.ndarray:
    return np.repeat(np.arange(len(COUNTS)), COUNTS)


def _class_rate(sampler: PKBatchSampler, labels: np.ndarray, epochs: int = 4) -> np.ndarray:
    """Fraction of batches that contain each class."""
    hits, total = np.zeros(len(COUNTS)), 0
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        for batch in sampler:
            hits[np.unique(labels[batch])] += 1
            total += 1
    return hits / total


def test_batches_hold_p_distinct_classes_with_k_images_each():
    labels = _labels()
    sampler = PKBatchSampler(labels, classes_per_batch=4, samples_per_class=16, oversample_rare=True, seed=0)
    assert len(sampler) == len(labels) // 64
    batches = list(sampler)
    assert len(batches) == len(sampler)
    for batch in batches:
        assert batch.shape == (64,)
        classes, per_class = np.unique(labels[batch], return_counts=True)
        assert len(classes) == 4 and set(per_class) == {16}


def test_a_class_smaller_than_k_is_sampled_with_replacement():
    labels = _labels()
    sampler = PKBatchSampler(labels, classes_per_batch=7, samples_per_class=16, oversample_rare=True, seed=0,
                             batches_per_epoch=3)
    assert len(sampler) == 3
    for batch in sampler:
        rare = batch[labels[batch] == 1]
        assert len(rare) == 16 and len(np.unique(rare)) <= 12
        large = batch[labels[batch] == 3]
        assert len(np.unique(large)) == 16  # enough images: no repeats


def test_oversampling_draws_the_rare_class_as_often_as_the_others():
    labels = _labels()
    uniform = _class_rate(PKBatchSampler(labels, 3, 8, oversample_rare=True, seed=1, batches_per_epoch=200), labels)
    assert np.all(np.abs(uniform - 3 / 7) < 0.06)  # each class in 3 of 7 batches
    proportional = _class_rate(PKBatchSampler(labels, 3, 8, oversample_rare=False, seed=1, batches_per_epoch=200), labels)
    assert proportional[1] < 0.1 < uniform[1] - 0.25
    assert proportional[3] > uniform[3]  # the largest class ("happy") is drawn more often


def test_order_is_deterministic_per_seed_and_epoch():
    labels = _labels()
    make = lambda seed: PKBatchSampler(labels, 4, 8, oversample_rare=True, seed=seed)  # noqa: E731
    first, again, other_seed = make(5), make(5), make(6)
    assert all(np.array_equal(x, y) for x, y in zip(first, again))
    assert not np.array_equal(next(iter(first)), next(iter(other_seed)))
    epoch0 = list(first)
    first.set_epoch(1)
    epoch1 = list(first)
    assert not all(np.array_equal(x, y) for x, y in zip(epoch0, epoch1))
    first.set_epoch(0)
    assert all(np.array_equal(x, y) for x, y in zip(epoch0, first))


def test_works_as_a_dataloader_batch_sampler():
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    labels = _labels()
    dataset = TensorDataset(torch.as_tensor(labels))
    sampler = PKBatchSampler(labels, 2, 4, oversample_rare=True, seed=0, batches_per_epoch=5)
    batches = [batch for (batch,) in DataLoader(dataset, batch_sampler=sampler)]
    assert len(batches) == 5 and all(len(b) == 8 and len(torch.unique(b)) == 2 for b in batches)


def test_bad_sizes_raise_config_errors():
    with pytest.raises(ConfigError, match="only 7 classes"):
        PKBatchSampler(_labels(), classes_per_batch=8, samples_per_class=4, oversample_rare=True, seed=0)
    with pytest.raises(ConfigError, match=">= 1"):
        PKBatchSampler(_labels(), classes_per_batch=2, samples_per_class=0, oversample_rare=True, seed=0)
