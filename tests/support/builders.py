"""Tiny datasets and run folders for the tests: generated images, randomly initialised quarter-width checkpoints,
stored embeddings and evaluations written with fer_engine's own writers (numbers are random or made separable;
only their shape and labels matter)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from fer_engine.classes import FER_CLASS_NAMES
from fer_engine.data.dataset import FerDataset, Split
from fer_engine.data.synthetic import synthetic_images, write_image_folder
from fer_engine.embeddings.extract import EmbeddingSet, embed_run, save_embeddings
from fer_engine.io_utils import append_jsonl, atomic_write_json
from fer_engine.models import create_model
from fer_engine.models.checkpoint import ModelCard, save_checkpoint
from fer_engine.runs.layout import RunPaths
from fer_engine.runs.store import RunStore

TINY_ARCH = "vgg19_bn_quarter"

FAST_HEAD_PARAMS = {
    "svm": {},
    "xgboost": {"n_estimators": 20, "max_depth": 3, "n_jobs": 1},
    "rf": {"n_estimators": 40, "n_jobs": 1},
    "mlp": {"hidden_layer_sizes": (32,), "batch_size": 32, "max_iter": 500, "early_stopping": False},
}
"""Small settings so every head fits in well under a second on tiny data."""


def tiny_dataset(n_per_class: dict[str, int] | None = None, seed: int = 0) -> FerDataset:
    """A FerDataset of generated images: train 6, val 3, test 3 per class by default."""
    counts = n_per_class or {"train": 6, "val": 3, "test": 3}
    splits = {}
    for offset, (name, count) in enumerate(counts.items()):
        images, labels = synthetic_images(count, seed=seed + offset)
        keys = np.array([f"{name}/{FER_CLASS_NAMES[label]}/{i}.png" for i, label in enumerate(labels)])
        splits[name] = Split(images, labels, keys)
    return FerDataset(splits=splits, source="synthetic", source_format="generated", fingerprint=f"synthetic-{seed}")


def image_folder_dataset(root: Path) -> Path:
    """train 4 + val 3 images per class in the msambare image-folder layout, as a user's dataset on disk."""
    return write_image_folder(root / "fer-tiny", {"train": 4, "val": 3})


def dataset_val_keys(dataset_path: Path) -> list[str]:
    """The val keys of a dataset on disk, so embedding points can be looked up as faces."""
    from fer_engine.data import load_dataset

    return [str(key) for key in load_dataset(dataset_path).split("val").keys]


def save_untrained_checkpoint(run: RunPaths, *, config: dict[str, Any] | None = None,
                              metrics: dict[str, float] | None = None, extra: dict[str, Any] | None = None) -> int:
    """A randomly initialised TINY_ARCH checkpoint in `run`; returns its embedding size."""
    model = create_model(TINY_ARCH)
    card = ModelCard(arch=TINY_ARCH, embedding_dim=model.embedding_dim, config=config or {}, metrics=metrics or {},
                     extra=extra or {})
    save_checkpoint(model, card, run.checkpoint_dir)
    return model.embedding_dim


def run_with_checkpoint(root: Path, *, loss: str = "ce", pretrained: str | None = None) -> RunPaths:
    """A run folder holding a randomly initialised tiny checkpoint and a minimal config.json."""
    torch.manual_seed(0)
    run = RunPaths(root)
    save_untrained_checkpoint(run, extra={"selected_on": "val", "pretrained": pretrained, "ensemble": False})
    atomic_write_json(
        run.config,
        {"arch": TINY_ARCH, "loss": loss, "preset": "test", "pretrained": pretrained, "data_source": "synthetic"},
    )
    return run


def embedded_run(root: Path, dataset: FerDataset | None = None, **kwargs: Any) -> RunPaths:
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


def run_with_separable_embeddings(root: Path, splits: tuple[str, ...] = ("train", "val"), **kwargs: Any) -> RunPaths:
    """A run (with a tiny checkpoint) whose stored embeddings are separable blobs, for fast head tests."""
    run = run_with_checkpoint(root, **kwargs)
    for offset, split in enumerate(splits):
        n = 30 if split == "train" else 12
        save_embeddings(separable_embeddings(n, seed=offset, split=split), run.embeddings_file(split))
    return run


def finished_run(runs_root: Path, run_id: str, *, loss: str = "ce", seed: int = 0, keys: list[str] | None = None,
                 heads: tuple[str, ...] = ("softmax", "svm")) -> RunPaths:
    """A finished-looking run in the runs index: an untrained tiny checkpoint, 3 epochs of metrics, val embeddings
    and one val evaluation per head, as the dashboard pages read them."""
    rng = np.random.default_rng(seed)
    config = {"arch": TINY_ARCH, "preset": "fast_cpu", "loss": loss, "epochs": 3, "lr": 0.01 * (seed + 1)}
    store = RunStore(runs_root)
    run = store.create_run(name=run_id, kind="train", config=config, run_id=run_id)
    embedding_dim = save_untrained_checkpoint(run, config=config, metrics={"val_accuracy": 0.3})
    for epoch in range(1, 4):
        append_jsonl(run.metrics_log, {"epoch": epoch, "train_loss": 2.0 / epoch + seed, "val_loss": 2.1 / epoch,
                                       "train_accuracy": 0.2 * epoch, "val_accuracy": 0.15 * epoch, "lr": 0.01})
    atomic_write_json(run.summary, {"best_epoch": 3, "best_val_accuracy": 0.45, "device": "cpu", "total_seconds": 5})

    from fer_engine.scoring.metrics import classification_metrics

    keys = keys or [f"val/{FER_CLASS_NAMES[i % 7]}/PublicTest_{i}.jpg" for i in range(21)]
    labels = np.arange(len(keys)) % 7
    logits = rng.normal(size=(len(keys), 7)).astype(np.float32)
    embeddings = rng.normal(size=(len(keys), embedding_dim)).astype(np.float32) + labels[:, None]
    embedded = EmbeddingSet(split="val", embeddings=embeddings, logits=logits, labels=labels, keys=np.asarray(keys))
    save_embeddings(embedded, run.embeddings_file("val"))
    for head in heads:
        predictions = np.where(rng.random(len(labels)) < 0.5, labels, rng.integers(0, 7, len(labels)))
        result = classification_metrics(labels, predictions, FER_CLASS_NAMES, split="val", head=head)
        atomic_write_json(run.evaluation_file("val", head), result.to_dict())
    store.update(run_id, status="succeeded", metrics={"best_val_accuracy": 0.45})
    return run
