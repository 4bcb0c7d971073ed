"""Batched inference over uint8 image arrays: logits and GAP embeddings, optional test-time augmentation.

One function serves validation during training, `fer embed`, `fer evaluate` and prediction, so
preprocessing and TTA are identical everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from fer_engine.device import autocast
from fer_engine.errors import ConfigError


@dataclass
class InferenceOutput:
    """Per-image logits (N, C) and embeddings (N, D), float32 numpy."""

    logits: np.ndarray
    embeddings: np.ndarray

    @property
    def probabilities(self) -> np.ndarray:
        shifted = self.logits - self.logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        return exp / exp.sum(axis=1, keepdims=True)

    @property
    def predictions(self) -> np.ndarray:
        return self.logits.argmax(axis=1)


def to_model_tensor(images: np.ndarray | torch.Tensor, device: torch.device | str = "cpu") -> torch.Tensor:
    """uint8 (N, H, W) -> float (N, 1, H, W) in [0, 1] on `device`."""
    tensor = torch.as_tensor(images)
    if tensor.ndim == 3:
        tensor = tensor.unsqueeze(1)
    return tensor.to(device, non_blocking=True).float().div_(255.0)


def _identity_view(batch: torch.Tensor) -> list[torch.Tensor]:
    return [batch]


def _flip_views(batch: torch.Tensor) -> list[torch.Tensor]:
    return [batch, torch.flip(batch, dims=[-1])]


def _tencrop_views(batch: torch.Tensor) -> list[torch.Tensor]:
    """Four corner crops and the centre crop at 90% of the side, each resized back and mirrored."""
    size = batch.shape[-1]
    crop = max(1, int(round(size * 0.9)))
    offsets = [
        (0, 0),
        (0, size - crop),
        (size - crop, 0),
        (size - crop, size - crop),
        ((size - crop) // 2, (size - crop) // 2),
    ]
    views = []
    for top, left in offsets:
        view = batch[..., top : top + crop, left : left + crop]
        view = F.interpolate(view, size=(size, size), mode="bilinear", align_corners=False)
        views += [view, torch.flip(view, dims=[-1])]
    return views


# The TTA registry: mode name -> the views averaged under it. Every list of TTA modes reads this.
TTA_VIEWS: dict[str, Callable[[torch.Tensor], list[torch.Tensor]]] = {
    "none": _identity_view,
    "flip": _flip_views,
    "tencrop": _tencrop_views,
}
TTA_MODES: tuple[str, ...] = tuple(TTA_VIEWS)


def check_tta_mode(mode: str) -> str:
    """`mode` if it is a registered TTA mode, else the one ConfigError every caller raises."""
    if mode not in TTA_VIEWS:
        raise ConfigError(f"unknown TTA mode '{mode}'; choose from {', '.join(TTA_MODES)}")
    return mode


def tta_views(batch: torch.Tensor, mode: str) -> list[torch.Tensor]:
    """The views averaged under TTA: the image itself; + its mirror ('flip'); or ten crops at 90% ('tencrop')."""
    return TTA_VIEWS[check_tta_mode(mode)](batch)


@torch.inference_mode()
def run_inference(
    model: nn.Module,
    images: np.ndarray | torch.Tensor,
    *,
    batch_size: int = 256,
    device: torch.device | str = "cpu",
    precision: str = "fp32",
    tta: str = "none",
    channels_last: bool = False,
) -> InferenceOutput:
    """Logits and embeddings of every image; with TTA both are averaged over the views."""
    check_tta_mode(tta)
    device = torch.device(device)
    was_training = model.training
    model.eval()
    logits_out, embeddings_out = [], []
    captured: list[torch.Tensor] = []
    # The paper reads embeddings with a forward hook on the global-average-pool layer; so do we.
    hook = model.get_submodule("global_pool").register_forward_hook(
        lambda _m, _i, output: captured.append(torch.flatten(output, 1))
    )
    try:
        for start in range(0, len(images), batch_size):
            batch = to_model_tensor(images[start : start + batch_size], device)
            logit_sum: torch.Tensor | None = None
            embedding_sum: torch.Tensor | None = None
            views = tta_views(batch, tta)
            for view in views:
                if channels_last:
                    view = view.contiguous(memory_format=torch.channels_last)
                captured.clear()
                with autocast(device, precision):
                    output: torch.Tensor = model(view)
                logits, embedding = output.float(), captured[-1].float()
                logit_sum = logits if logit_sum is None else logit_sum + logits
                embedding_sum = embedding if embedding_sum is None else embedding_sum + embedding
            assert logit_sum is not None and embedding_sum is not None  # tta_views gives at least one view
            logits_out.append((logit_sum / len(views)).cpu().numpy())
            embeddings_out.append((embedding_sum / len(views)).cpu().numpy())
    finally:
        hook.remove()
        model.train(was_training)
    if not logits_out:
        dim = getattr(model, "embedding_dim", 0)
        classifier = model.get_submodule("classifier")
        num_classes = classifier.out_features if isinstance(classifier, nn.Linear) else 0
        return InferenceOutput(np.zeros((0, num_classes), np.float32), np.zeros((0, dim), np.float32))
    return InferenceOutput(np.concatenate(logits_out), np.concatenate(embeddings_out))
