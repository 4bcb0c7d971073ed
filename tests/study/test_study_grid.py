"""The study grid: default cells, cross products, and names checked against the registries."""

from __future__ import annotations

import pytest

from fer_engine.errors import ConfigError
from fer_engine.study.grid import DEFAULT_GRID, StudyCell, build_grid


def test_default_grid_holds_the_paper_setting_and_the_fixes():
    labels = [cell.label for cell in build_grid()]
    assert labels == [cell.label for cell in DEFAULT_GRID]
    assert "triplet-random-euclidean" in labels and labels[0] == "ce"
    assert "ce_triplet-semihard-cosine" in labels


def test_losses_filter_the_default_grid():
    assert {cell.loss for cell in build_grid(["triplet"])} == {"triplet"}
    assert len(build_grid(["triplet"])) == 4


def test_named_miners_and_distances_make_a_cross_product_with_one_ce_cell():
    cells = build_grid(["ce", "triplet"], ["semihard", "hard"], ["cosine", "manhattan"])
    assert len(cells) == 5
    assert StudyCell("ce") in cells and StudyCell("triplet", "hard", "manhattan") in cells


def test_cell_overrides_select_triplet_only_runs_on_knn_accuracy():
    assert StudyCell("ce").overrides() == {"loss": "ce"}
    triplet = StudyCell("triplet", "random", "euclidean").overrides()
    assert triplet == {"loss": "triplet", "triplet": {"miner": "random", "distance": "euclidean"},
                       "select_metric": "val_knn_accuracy"}
    assert "select_metric" not in StudyCell("ce+triplet", "semihard", "cosine").overrides()


@pytest.mark.parametrize("losses, miners, distances, wrong", [
    (["softmax"], None, None, "loss 'softmax'"),
    (None, ["hardest"], None, "miner 'hardest'"),
    (None, None, ["hamming"], "distance 'hamming'"),
])
def test_unknown_names_are_config_errors(losses, miners, distances, wrong):
    with pytest.raises(ConfigError, match=wrong):
        build_grid(losses, miners, distances)
