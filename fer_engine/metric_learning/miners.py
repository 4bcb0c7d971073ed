"""Miner registry: name -> factory of a pytorch-metric-learning miner that picks (anchor, positive, negative) triplets.

'random' is the paper's baseline (one random positive and one random negative per anchor); 'semihard', 'hard'
and 'all' are PML's TripletMarginMiner; 'batch_hard' is PML's BatchHardMiner (hardest positive and negative
per anchor, Hermans et al. 2017).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from pytorch_metric_learning.distances import BaseDistance
from pytorch_metric_learning.miners import BaseMiner, BatchHardMiner, TripletMarginMiner

from fer_engine.errors import ConfigError


class RandomTripletMiner(BaseMiner):
    """One uniformly random positive and one random negative for every anchor that has both (seeded)."""

    def __init__(self, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.generator = torch.Generator().manual_seed(int(seed))

    def mine(self, embeddings, labels, ref_emb, ref_labels):
        same_label = labels.reshape(-1, 1).cpu() == ref_labels.reshape(1, -1).cpu()
        positives = same_label.clone()
        if ref_emb is embeddings:  # an image is not its own positive
            positives.fill_diagonal_(False)
        negatives = ~same_label
        anchors = torch.nonzero(positives.any(dim=1) & negatives.any(dim=1)).flatten()
        if len(anchors) == 0:
            empty = torch.zeros(0, dtype=torch.long, device=labels.device)
            return empty, empty.clone(), empty.clone()
        positive = torch.multinomial(positives[anchors].float(), 1, generator=self.generator).flatten()
        negative = torch.multinomial(negatives[anchors].float(), 1, generator=self.generator).flatten()
        device = labels.device
        return anchors.to(device), positive.to(device), negative.to(device)


MinerFactory = Callable[..., BaseMiner]

MINERS: dict[str, MinerFactory] = {
    "random": lambda *, margin, distance, seed: RandomTripletMiner(seed=seed, distance=distance),
    "semihard": lambda *, margin, distance, seed: TripletMarginMiner(
        margin=margin, type_of_triplets="semihard", distance=distance
    ),
    "hard": lambda *, margin, distance, seed: TripletMarginMiner(
        margin=margin, type_of_triplets="hard", distance=distance
    ),
    "all": lambda *, margin, distance, seed: TripletMarginMiner(
        margin=margin, type_of_triplets="all", distance=distance
    ),
    "batch_hard": lambda *, margin, distance, seed: BatchHardMiner(distance=distance),
}


def build_miner(name: str, *, margin: float, distance: BaseDistance, seed: int = 0) -> BaseMiner:
    """The miner registered as `name`, measuring with `distance` (a ConfigError listing the choices otherwise)."""
    if name not in MINERS:
        raise ConfigError(f"unknown triplet miner '{name}'; choose one of: {', '.join(MINERS)}")
    return MINERS[name](margin=float(margin), distance=distance, seed=int(seed))
