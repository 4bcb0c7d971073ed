"""Builders for the dashboard tests: a tiny image-folder dataset and tiny run folders (random weights, fake history)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from fer_engine.classes import FER_CLASS_NAMES
from fer_engine.data.synthetic import write_image_folder
from fer_engine.io_utils import append_jsonl, atomic_write_json
from fer_engine.models import create_model
from fer_engine.models.checkpoint import ModelCard, save_checkpoint
from fer_engine.runs.layout import RunPaths
from fer_engine.runs.store import RunStore

TINY_ARCH = "vgg19_bn_quarter"
REPO_ROOT = Path(__file__).resolve().parents[2]
APP_FILE = REPO_ROOT / "dashboard" / "app.py"
if str(REPO_ROOT) not in sys.path:  # the dashboard is not an installed package: import it from the checkout
    sys.path.insert(0, str(REPO_ROOT))


def make_dataset(root: Path) -> Path:
    """train 4 + val 3 images per class in the msambare image-folder layout."""
    return write_image_folder(root / "fer-tiny", {"train": 4, "val": 3})


def make_run(runs_root: Path, run_id: str, *, loss: str = "ce", seed: int = 0, keys: list[str] | None = None,
             heads: tuple[str, ...] = ("softmax", "svm")) -> RunPaths:
    """A finished-looking run: checkpoint of an untrained tiny model, 3 epochs of metrics, val embeddings and
    evaluation files built with fer_engine's own writers (numbers are random, only their shape matters)."""
    rng = np.random.default_rng(seed)
    config = {"arch": TINY_ARCH, "preset": "fast_cpu", "loss": loss, "epochs": 3, "lr": 0.01 * (seed + 1)}
    store = RunStore(runs_root)
    run = store.create_run(name=run_id, kind="train", config=config, run_id=run_id)
    model = create_model(TINY_ARCH)
    card = ModelCard(arch=TINY_ARCH, embedding_dim=model.embedding_dim, config=config, metrics={"val_accuracy": 0.3})
    save_checkpoint(model, card, run.checkpoint_dir)
    for epoch in range(1, 4):
        append_jsonl(run.metrics_log, {"epoch": epoch, "train_loss": 2.0 / epoch + seed, "val_loss": 2.1 / epoch,
                                       "train_accuracy": 0.2 * epoch, "val_accuracy": 0.15 * epoch, "lr": 0.01})
    atomic_write_json(run.summary, {"best_epoch": 3, "best_val_accuracy": 0.45, "device": "cpu", "total_seconds": 5})

    from fer_engine.embeddings import EmbeddingSet, save_embeddings
    from fer_engine.evaluation import classification_metrics

    keys = keys or [f"val/{FER_CLASS_NAMES[i % 7]}/PublicTest_{i}.jpg" for i in range(21)]
    labels = np.arange(len(keys)) % 7
    logits = rng.normal(size=(len(keys), 7)).astype(np.float32)
    embeddings = rng.normal(size=(len(keys), model.embedding_dim)).astype(np.float32) + labels[:, None]
    save_embeddings(EmbeddingSet(split="val", embeddings=embeddings, logits=logits, labels=labels, keys=np.asarray(keys)),
                    run.embeddings_file("val"))
    for head in heads:
        predictions = np.where(rng.random(len(labels)) < 0.5, labels, rng.integers(0, 7, len(labels)))
        result = classification_metrics(labels, predictions, FER_CLASS_NAMES, split="val", head=head)
        atomic_write_json(run.evaluation_file("val", head), result.to_dict())
    store.update(run_id, status="succeeded", metrics={"best_val_accuracy": 0.45})
    return run


def dataset_val_keys(dataset_path: Path) -> list[str]:
    """The val keys of the tiny dataset, so embedding points can be looked up as faces."""
    from fer_engine.data import load_dataset

    return [str(key) for key in load_dataset(dataset_path).split("val").keys]
