"""Each miner picks exactly the triplets its definition names, on hand-made embedding batches."""

from __future__ import annotations

import itertools

import pytest
import torch

from fer_engine.errors import ConfigError
from fer_engine.metric_learning.distances import build_distance
from fer_engine.metric_learning.miners import MINERS, RandomTripletMiner, build_miner

MARGIN = 0.2

# Points on a line (euclidean distance = |x - y|) chosen so every kind of negative exists and no
# triplet sits exactly on a boundary: anchor 0 (x=0) has positive at 1.0 and negatives at 0.5 (hard),
# 1.1 (semi-hard), 3.0 (easy).
POSITIONS = [0.0, 1.0, 0.5, 1.1, 3.0, 3.35]
LABELS = [0, 0, 1, 1, 1, 2]


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    embeddings = torch.tensor([[x, 0.0] for x in POSITIONS])
    return embeddings, torch.tensor(LABELS)


def _valid_triplets() -> list[tuple[int, int, int, float, float]]:
    """Every (a, p, n) with label(a) == label(p), a != p, label(n) != label(a), with d(a,p), d(a,n)."""
    triplets = []
    for a, p, n in itertools.permutations(range(len(LABELS)), 3):
        if LABELS[a] == LABELS[p] and LABELS[n] != LABELS[a]:
            triplets.append((a, p, n, abs(POSITIONS[a] - POSITIONS[p]), abs(POSITIONS[a] - POSITIONS[n])))
    return triplets


def _mine(name: str, seed: int = 0) -> set[tuple[int, int, int]]:
    miner = build_miner(name, margin=MARGIN, distance=build_distance("euclidean", normalize_embeddings=False), seed=seed)
    anchors, positives, negatives = miner(*_batch())
    return set(zip(anchors.tolist(), positives.tolist(), negatives.tolist()))


def test_semihard_miner_picks_negatives_farther_than_the_positive_but_inside_the_margin():
    expected = {(a, p, n) for a, p, n, dap, dan in _valid_triplets() if dap < dan < dap + MARGIN}
    assert (0, 1, 3) in expected and len(expected) >= 2
    assert _mine("semihard") == expected


def test_hard_miner_picks_negatives_closer_than_the_positive():
    expected = {(a, p, n) for a, p, n, dap, dan in _valid_triplets() if dan < dap}
    assert (0, 1, 2) in expected
    assert _mine("hard") == expected


def test_all_miner_picks_every_triplet_that_has_a_loss():
    # Triplets outside this set have max(0, d(a,p) - d(a,n) + margin) = 0: no loss and no gradient.
    expected = {(a, p, n) for a, p, n, dap, dan in _valid_triplets() if dap - dan + MARGIN > 0}
    mined = _mine("all")
    assert mined == expected
    assert mined == _mine("hard") | _mine("semihard")


def test_batch_hard_miner_takes_the_farthest_positive_and_nearest_negative_per_anchor():
    expected = set()
    for anchor in range(len(LABELS)):
        candidates = [t for t in _valid_triplets() if t[0] == anchor]
        if candidates:
            positive = max(candidates, key=lambda t: t[3])[1]
            negative = min(candidates, key=lambda t: t[4])[2]
            expected.add((anchor, positive, negative))
    assert _mine("batch_hard") == expected


def test_random_miner_gives_one_valid_triplet_per_anchor_that_has_a_positive_and_a_negative():
    mined = _mine("random", seed=3)
    valid = {(a, p, n) for a, p, n, _, _ in _valid_triplets()}
    assert mined <= valid
    anchors_with_positive = {a for a, _, _, _, _ in _valid_triplets()}
    assert sorted(a for a, _, _ in mined) == sorted(anchors_with_positive)  # one each; class 2 (single image) has none


def test_random_miner_is_seeded_and_varies_between_batches():
    labels = torch.arange(40) % 4
    embeddings = torch.randn(40, 8)
    first, second = RandomTripletMiner(seed=7), RandomTripletMiner(seed=7)
    draws_first = [torch.stack(first(embeddings, labels)) for _ in range(3)]
    draws_second = [torch.stack(second(embeddings, labels)) for _ in range(3)]
    assert all(torch.equal(x, y) for x, y in zip(draws_first, draws_second))
    assert not torch.equal(draws_first[0], draws_first[1])


def test_miner_registry_covers_the_config_choices_and_rejects_unknown_names():
    assert {"random", "semihard", "hard", "all"} <= set(MINERS)
    with pytest.raises(ConfigError, match="unknown triplet miner 'hardest'"):
        build_miner("hardest", margin=MARGIN, distance=build_distance("euclidean"))
