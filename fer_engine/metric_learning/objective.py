"""The triplet objective L = mean over mined triplets of max(0, D(a,p) - D(a,n) + margin), built from a TripletConfig."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from pytorch_metric_learning.losses import TripletMarginLoss
from pytorch_metric_learning.reducers import AvgNonZeroReducer, BaseReducer, MeanReducer

from fer_engine.errors import ConfigError
from fer_engine.metric_learning.distances import DISTANCES, build_distance
from fer_engine.metric_learning.miners import MINERS, build_miner

# 'mean' is the paper's formula (every mined triplet counts, easy ones as 0); 'nonzero_mean' is PML's default.
REDUCERS: dict[str, Callable[[], BaseReducer]] = {"mean": MeanReducer, "nonzero_mean": AvgNonZeroReducer}

__all__ = ["DISTANCES", "MINERS", "REDUCERS", "TripletObjective", "build_triplet_loss"]


class TripletObjective(torch.nn.Module):
    """Mine triplets in a batch, then apply the triplet margin loss; call it as `loss_fn(embeddings, labels)`."""

    def __init__(self, loss: TripletMarginLoss, miner: torch.nn.Module):
        super().__init__()
        self.loss = loss
        self.miner = miner
        self.last_num_triplets = 0

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Scalar loss of the batch (0 with a live graph when no triplet is mined)."""
        embeddings = embeddings.float()
        labels = labels.to(embeddings.device)
        triplets = self.miner(embeddings, labels)
        self.last_num_triplets = int(len(triplets[0]))
        return self.loss(embeddings, labels, triplets)


def build_triplet_loss(cfg: Any) -> TripletObjective:
    """Loss function for any object with TripletConfig's fields (margin, miner, distance, normalize_embeddings).

    The result is the unweighted triplet loss: the caller multiplies it by `cfg.weight` when it adds it to
    cross-entropy. Optional fields: `reducer` ('mean' default, or 'nonzero_mean') and `seed` (random miner).
    """
    margin = float(cfg.margin)
    if margin < 0:
        raise ConfigError(f"triplet margin must be >= 0, got {margin}")
    reducer_name = getattr(cfg, "reducer", "mean")
    if reducer_name not in REDUCERS:
        raise ConfigError(f"unknown triplet reducer '{reducer_name}'; choose one of: {', '.join(REDUCERS)}")
    distance = build_distance(cfg.distance, cfg.normalize_embeddings)
    miner = build_miner(cfg.miner, margin=margin, distance=distance, seed=int(getattr(cfg, "seed", 0) or 0))
    loss = TripletMarginLoss(margin=margin, distance=distance, reducer=REDUCERS[reducer_name]())
    return TripletObjective(loss, miner)
