"""GAP embeddings and logits of every image of a split, computed once and stored per run as `<split>.npz`.

The embedding is read by `fer_engine.inference.run_inference` with a forward hook on `model.global_pool`
(as in the paper), so heads are fitted on exactly the features the network's own classifier sees.
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from fer_engine.classes import SPLIT_NAMES
from fer_engine.data.dataset import FerDataset
from fer_engine.device import resolve_device, resolve_precision
from fer_engine.embeddings.embedding_set import EmbeddingSet, checkpoint_sha256, save_embeddings
from fer_engine.inference import check_tta_mode, run_inference
from fer_engine.runs.layout import RunPaths

__all__ = ["EmbeddingSet", "embed_run", "embed_splits"]


def embed_splits(
    model: nn.Module,
    dataset: FerDataset,
    splits: list[str] | tuple[str, ...] | None = None,
    *,
    device: str = "auto",
    batch_size: int = 512,
    tta: str = "none",
    precision: str = "auto",
) -> dict[str, EmbeddingSet]:
    """Embeddings and logits of each requested split (default: every split the dataset has)."""
    check_tta_mode(tta)
    torch_device = resolve_device(device)
    resolved_precision = resolve_precision(precision, torch_device)
    model = model.to(torch_device)
    names = list(splits) if splits else [name for name in SPLIT_NAMES if name in dataset.splits]
    results: dict[str, EmbeddingSet] = {}
    for name in names:
        split = dataset.split(name)  # DataError naming the absent split
        output = run_inference(
            model,
            split.images,
            batch_size=batch_size,
            device=torch_device,
            precision=resolved_precision,
            tta=tta,
            channels_last=torch_device.type == "cuda",
        )
        results[name] = EmbeddingSet(
            split=name,
            embeddings=output.embeddings,
            logits=output.logits,
            labels=split.labels,
            keys=split.keys,
            tta=tta,
            class_names=tuple(dataset.class_names),
        )
    return results


def embed_run(
    run: RunPaths,
    dataset: FerDataset,
    splits: list[str] | tuple[str, ...] | None = None,
    *,
    device: str = "auto",
    batch_size: int = 512,
    tta: str = "none",
    precision: str = "auto",
    compact: bool = False,
) -> dict[str, Path]:
    """Embed `dataset` with the run's best checkpoint and write `embeddings/<split>.npz`; returns split -> path.
    `compact`: float16, compressed files (see `save_embeddings`)."""
    from fer_engine.models.checkpoint import load_checkpoint

    model, _card = load_checkpoint(run.checkpoint_dir)
    fingerprint = checkpoint_sha256(run.checkpoint_dir)
    sets = embed_splits(model, dataset, splits, device=device, batch_size=batch_size, tta=tta, precision=precision)
    written = {}
    for name, embedding_set in sets.items():
        embedding_set.checkpoint_sha256 = fingerprint
        written[name] = save_embeddings(embedding_set, run.embeddings_file(name), compact=compact)
    return written
