"""The triplet objective equals the paper's formula averaged over the mined triplets."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from fer_engine.errors import ConfigError
from fer_engine.metric_learning.objective import build_triplet_loss

# Hand case: 2-D points, classes 0 and 1, margin 0.2, raw euclidean distances.
POINTS = [(0.0, 0.0), (1.0, 0.0), (0.0, 1.1), (5.0, 5.0)]
LABELS = [0, 0, 1, 1]


def _config(**changes) -> SimpleNamespace:
    fields = dict(margin=0.2, miner="all", distance="euclidean", normalize_embeddings=False, weight=1.0,
                  classes_per_batch=2, samples_per_class=2, oversample_rare=True)
    fields.update(changes)
    return SimpleNamespace(**fields)


def _hinge(a: int, p: int, n: int, margin: float = 0.2) -> float:
    return max(0.0, math.dist(POINTS[a], POINTS[p]) - math.dist(POINTS[a], POINTS[n]) + margin)


def test_loss_is_the_mean_hinge_over_the_violating_triplets():
    # Worked out by hand: these four triplets violate the margin (0.1, 5.44, 5.05, 0.14); the other four are easy.
    violating = [(0, 1, 2), (2, 3, 0), (2, 3, 1), (3, 2, 1)]
    easy = [(0, 1, 3), (1, 0, 2), (1, 0, 3), (3, 2, 0)]
    assert all(_hinge(*t) > 0 for t in violating) and all(_hinge(*t) == 0 for t in easy)
    expected = sum(_hinge(*t) for t in violating) / len(violating)
    loss = build_triplet_loss(_config())(torch.tensor(POINTS), torch.tensor(LABELS))
    assert loss.ndim == 0
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_semihard_loss_uses_only_the_semihard_triplets():
    # d(a,p) < d(a,n) < d(a,p) + margin holds for (0, 1, 2): 1 < 1.1 < 1.2 and (3, 2, 1): 6.34 < 6.40 < 6.54.
    objective = build_triplet_loss(_config(miner="semihard"))
    loss = objective(torch.tensor(POINTS), torch.tensor(LABELS))
    assert objective.last_num_triplets == 2
    assert loss.item() == pytest.approx((_hinge(0, 1, 2) + _hinge(3, 2, 1)) / 2, rel=1e-5)


def test_cosine_loss_is_the_hinge_on_cosine_distance():
    embeddings = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.9, 0.1], [-1.0, 0.2]])
    labels = torch.tensor([0, 0, 1, 1])
    objective = build_triplet_loss(_config(distance="cosine", miner="all", margin=0.5))
    loss = objective(embeddings, labels)
    unit = torch.nn.functional.normalize(embeddings)
    cos_distance = 1 - unit @ unit.T
    hinges = [max(0.0, float(cos_distance[a, p] - cos_distance[a, n]) + 0.5)
              for a in range(4) for p in range(4) for n in range(4)
              if a != p and labels[a] == labels[p] and labels[n] != labels[a]]
    positive = [h for h in hinges if h > 0]
    assert objective.last_num_triplets == len(positive)
    assert loss.item() == pytest.approx(sum(positive) / len(positive), rel=1e-5)


def test_loss_back_propagates_and_is_zero_when_nothing_is_mined():
    embeddings = torch.tensor(POINTS, requires_grad=True)
    build_triplet_loss(_config())(embeddings, torch.tensor(LABELS)).backward()
    assert embeddings.grad is not None and embeddings.grad.abs().sum() > 0

    separated = torch.tensor([[0.0, 0.0], [0.1, 0.0], [9.0, 9.0], [9.1, 9.0]], requires_grad=True)
    loss = build_triplet_loss(_config(miner="hard"))(separated, torch.tensor(LABELS))
    assert loss.item() == 0.0
    loss.backward()  # a live (zero) graph, so a combined CE + triplet step still works


def test_random_miner_loss_averages_easy_triplets_as_zero():
    # The paper's baseline: one random triplet per anchor, all of them in the mean (easy ones count 0).
    objective = build_triplet_loss(_config(miner="random", seed=1))
    replay = build_triplet_loss(_config(miner="random", seed=1)).miner  # same seed -> the same draw
    loss = objective(torch.tensor(POINTS), torch.tensor(LABELS))
    triplets = list(zip(*(t.tolist() for t in replay(torch.tensor(POINTS), torch.tensor(LABELS)))))
    assert objective.last_num_triplets == len(triplets) == 4  # every anchor has a positive and a negative
    assert loss.item() == pytest.approx(sum(_hinge(*t) for t in triplets) / 4, rel=1e-5, abs=1e-7)


def test_build_rejects_bad_settings():
    with pytest.raises(ConfigError, match="margin"):
        build_triplet_loss(_config(margin=-1))
    with pytest.raises(ConfigError, match="unknown triplet distance"):
        build_triplet_loss(_config(distance="hamming"))
    with pytest.raises(ConfigError, match="reducer"):
        build_triplet_loss(_config(reducer="sum"))
