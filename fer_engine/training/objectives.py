"""The training objective from the config: cross-entropy, triplet on GAP embeddings, or their weighted sum."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from fer_engine.errors import ConfigError
from fer_engine.training.config import TrainConfig, TripletConfig

TripletLossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class Objective(nn.Module):
    """loss(embeddings, logits, labels) -> (total loss, {part name: detached value}) for one batch."""

    def __init__(self, cross_entropy: nn.Module | None, triplet: TripletLossFn | None, triplet_weight: float = 1.0):
        super().__init__()
        if cross_entropy is None and triplet is None:
            raise ConfigError("an objective needs a cross-entropy term, a triplet term or both")
        self.cross_entropy = cross_entropy
        self.triplet = triplet
        self.triplet_weight = float(triplet_weight)

    def forward(
        self, embeddings: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        parts: dict[str, torch.Tensor] = {}
        total = None
        if self.cross_entropy is not None:
            ce = self.cross_entropy(logits.float(), labels)
            parts["ce_loss"] = ce.detach()
            total = ce
        if self.triplet is not None:
            # The triplet term is computed on float32 embeddings, even under bf16 autocast.
            with torch.autocast(device_type=embeddings.device.type, enabled=False):
                triplet = self.triplet(embeddings.float(), labels)
            parts["triplet_loss"] = triplet.detach()
            weighted = triplet if self.cross_entropy is None else self.triplet_weight * triplet
            total = weighted if total is None else total + weighted
        assert total is not None  # __init__ requires at least one term
        return total, parts


def class_weights(labels: np.ndarray, num_classes: int) -> torch.Tensor:
    """'balanced' weights N / (C * n_c) (scikit-learn's formula); classes absent from `labels` get 0."""
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    weights = np.where(counts > 0, counts.sum() / (num_classes * np.maximum(counts, 1)), 0.0)
    return torch.tensor(weights, dtype=torch.float32)


def build_objective(config: TrainConfig, train_labels: np.ndarray | None = None, num_classes: int = 7) -> Objective:
    """The objective named by `config.loss` ('ce', 'triplet', 'ce+triplet'), with smoothing and class weights."""
    cross_entropy = None
    if config.loss in ("ce", "ce+triplet"):
        weight = None
        if config.class_weighting == "balanced":
            if train_labels is None:
                raise ConfigError("class_weighting 'balanced' needs the training labels")
            weight = class_weights(train_labels, num_classes)
        cross_entropy = nn.CrossEntropyLoss(weight=weight, label_smoothing=config.label_smoothing)
    triplet = build_triplet_term(config.triplet) if config.loss in ("triplet", "ce+triplet") else None
    return Objective(cross_entropy, triplet, config.triplet.weight)


def build_triplet_term(triplet_config: TripletConfig) -> TripletLossFn:
    """The triplet loss of `fer_engine.metric_learning` (imported only when asked for)."""
    from fer_engine.metric_learning.objective import build_triplet_loss

    return build_triplet_loss(triplet_config)


def plain_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Unweighted, unsmoothed mean cross-entropy: the validation loss every recipe is compared on."""
    if len(labels) == 0:
        return float("nan")
    return float(F.cross_entropy(torch.from_numpy(logits).float(), torch.from_numpy(labels).long()).item())
