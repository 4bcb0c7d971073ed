"""Every registered distance computes its formula (with and without normalised embeddings)."""

from __future__ import annotations

import pytest
import torch

from fer_engine.errors import ConfigError
from fer_engine.metric_learning.distances import DISTANCES, build_distance, distance_matrix

A = torch.tensor([[3.0, 4.0], [1.0, -2.0]])
B = torch.tensor([[0.0, 1.0], [-1.0, -1.0], [2.0, 2.0]])


def _formula(name: str, a: torch.Tensor, b: torch.Tensor) -> float:
    if name == "euclidean":
        return float(((a - b) ** 2).sum().sqrt())
    if name == "squared_euclidean":
        return float(((a - b) ** 2).sum())
    if name == "manhattan":
        return float((a - b).abs().sum())
    if name == "cosine":
        return float((a @ b) / (a.norm() * b.norm()))
    raise AssertionError(name)


@pytest.mark.parametrize("name", ["euclidean", "squared_euclidean", "manhattan", "cosine"])
def test_distance_matches_its_formula_on_raw_embeddings(name):
    matrix = build_distance(name, normalize_embeddings=False)(A, B)
    expected = torch.tensor([[_formula(name, a, b) for b in B] for a in A])
    assert torch.allclose(matrix, expected, atol=1e-5)


@pytest.mark.parametrize("name, norm_p", [("euclidean", 2), ("squared_euclidean", 2), ("manhattan", 1)])
def test_normalized_distances_measure_unit_vectors(name, norm_p):
    matrix = build_distance(name, normalize_embeddings=True)(A, B)
    unit = lambda x: x / x.norm(p=norm_p)  # noqa: E731
    expected = torch.tensor([[_formula(name, unit(a), unit(b)) for b in B] for a in A])
    assert torch.allclose(matrix, expected, atol=1e-5)


def test_distance_matrix_turns_cosine_similarity_into_a_dissimilarity():
    similarity = build_distance("cosine")(A, B)
    assert torch.allclose(distance_matrix(build_distance("cosine"), A, B), 1 - similarity)
    assert torch.allclose(distance_matrix(build_distance("euclidean"), A, B), build_distance("euclidean")(A, B))


def test_unknown_distance_names_the_choices():
    assert {"euclidean", "squared_euclidean", "cosine", "manhattan"} <= set(DISTANCES)
    with pytest.raises(ConfigError, match="euclidean"):
        build_distance("chebyshev")
