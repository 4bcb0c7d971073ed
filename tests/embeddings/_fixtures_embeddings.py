"""Tiny datasets, checkpoints and embedded runs shared by the embeddings/heads/evaluation/pipeline tests.

Imported by file path from the sibling test folders (no tests/__init__.py exists).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from fer_engine.classes import FER_CLASS_NAMES
from fer_engine.data.dataset import FerDataset, Split
from fer_engine.data.synthetic import synthetic_images
from fer_engine.embeddings.extract import EmbeddingSet, embed_run, save_embeddings
from fer_engine.io_utils import atomic_write_json
from fer_engine.models import create_model
from fer_engine.models.checkpoint import ModelCard, save_checkpoint
from fer_engine.runs.layout import RunPaths

TINY_ARCH = "vgg19_bn_quarter"


def tiny_dataset(n_per_class: dict[str, int] | None = None, seed: int = 0) -> FerDataset:
    """A FerDataset of generated images: train 6, val 3, test 3 per class by default."""
    counts = n_per_class or {"train": 6, "val": 3, "test": 3}
    splits = {}
    for offset, (name, count) in enumerate(counts.items()):
        images, labels = synthetic_images(count, seed=seed + offset)
        keys = np.array([f"{name}/{FER_CLASS_NAMES[label]}/{i}.png" for i, label in enumerate(labels)])
        splits[name] = Split(images, labels, keys)
    return FerDataset(splits=splits, source="synthetic", source_format="generated", fingerprint=f"synthetic-{seed}")


def run_with_checkpoint(root: Path, *, loss: str = "ce", pretrained: str | None = None) -> RunPaths:
    """A run folder holding a randomly initialised tiny checkpoint and a minimal config.json."""
    torch.manual_seed(0)
    run = RunPaths(root)
    model = create_model(TINY_ARCH)
    card = ModelCard(
        arch=TINY_ARCH,
        embedding_dim=model.embedding_dim,
        extra={"selected_on": "val", "pretrained": pretrained, "ensemble": False},
    )
    save_checkpoint(model, card, run.checkpoint_dir)
    atomic_write_json(
        run.config,
        {"arch": TINY_ARCH, "loss": loss, "preset": "test", "pretrained": pretrained, "data_source": "synthetic"},
    )
    return run


def embedded_run(root: Path, dataset: FerDataset | None = None, **kwargs) -> RunPaths:
    """A tiny run with embeddings of every split of `dataset` (fp32, CPU)."""
    run = run_with_checkpoint(root, **kwargs)
    embed_run(run, dataset or tiny_dataset(), device="cpu", precision="fp32", batch_size=64)
    return run


def separable_embeddings(
    n_per_class: int = 30, dim: int = 16, seed: int = 0, split: str = "train", spread: float = 1.0
) -> EmbeddingSet:
    """Well separated Gaussian blobs, one per class, as an EmbeddingSet (logits = a noisy one-hot)."""
    rng = np.random.default_rng(seed)
    centers = np.random.default_rng(1234).normal(0, 4, size=(len(FER_CLASS_NAMES), dim))
    labels = np.repeat(np.arange(len(FER_CLASS_NAMES)), n_per_class)
    embeddings = centers[labels] + rng.normal(0, spread, size=(len(labels), dim))
    logits = np.eye(len(FER_CLASS_NAMES))[labels] + rng.normal(0, 0.6, size=(len(labels), len(FER_CLASS_NAMES)))
    keys = np.array([f"{split}/{i}" for i in range(len(labels))])
    return EmbeddingSet(split=split, embeddings=embeddings, logits=logits, labels=labels, keys=keys)


def run_with_separable_embeddings(root: Path, splits: tuple[str, ...] = ("train", "val"), **kwargs) -> RunPaths:
    """A run (with a tiny checkpoint) whose stored embeddings are separable blobs, for fast head tests."""
    run = run_with_checkpoint(root, **kwargs)
    for offset, split in enumerate(splits):
        n = 30 if split == "train" else 12
        save_embeddings(separable_embeddings(n, seed=offset, split=split), run.embeddings_file(split))
    return run


# Small settings so every head fits in well under a second on tiny data.
FAST_HEAD_PARAMS = {
    "svm": {},
    "xgboost": {"n_estimators": 20, "max_depth": 3, "n_jobs": 1},
    "rf": {"n_estimators": 40, "n_jobs": 1},
    "mlp": {"hidden_layer_sizes": (32,), "batch_size": 32, "max_iter": 500, "early_stopping": False},
}
