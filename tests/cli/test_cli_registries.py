"""Every CLI `choices` and every check of TTA modes, heads, miners and distances reads its registry."""

from __future__ import annotations

import argparse

import numpy as np
import pytest
import torch

import fer_engine.cli.main as cli_main
from fer_engine.errors import ConfigError
from fer_engine.heads.registry import CLASS_WEIGHTS, CLASSIFIER_NAMES, HEAD_NAMES
from fer_engine.inference import TTA_MODES, check_tta_mode, run_inference, tta_views
from fer_engine.metric_learning import DISTANCES, MINERS
from fer_engine.training.config import CLASS_WEIGHTINGS, LOSSES, PRECISIONS, SELECT_METRICS


def _command(parser: argparse.ArgumentParser, *path: str) -> argparse.ArgumentParser:
    for name in path:
        parser = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[name]
    return parser


def _choices(parser: argparse.ArgumentParser, flag: str) -> tuple:
    return tuple(next(a for a in parser._actions if flag in a.option_strings).choices)


def test_cli_choices_are_the_registries(monkeypatch):
    monkeypatch.setattr(cli_main, "COMMAND_MODULES", ("train", "reproduce", "jobs", "embed", "evaluate", "heads"))
    parser = cli_main.build_parser()
    train = _command(parser, "train")
    assert _choices(train, "--miner") == tuple(MINERS) and "batch_hard" in _choices(train, "--miner")
    assert _choices(train, "--distance") == tuple(DISTANCES)
    assert _choices(train, "--tta") == TTA_MODES
    assert _choices(train, "--loss") == LOSSES and _choices(train, "--select-metric") == SELECT_METRICS
    assert _choices(train, "--precision") == PRECISIONS and _choices(train, "--class-weighting") == CLASS_WEIGHTINGS
    for path in (("reproduce",), ("jobs", "submit"), ("embed",), ("evaluate",)):
        assert _choices(_command(parser, *path), "--tta") == TTA_MODES, path
    assert _choices(_command(parser, "evaluate"), "--head") == CLASSIFIER_NAMES == ("softmax", *HEAD_NAMES)
    assert _choices(_command(parser, "heads"), "--class-weight") == tuple(w or "none" for w in CLASS_WEIGHTS)


def test_a_miner_registered_later_is_a_train_choice(monkeypatch):
    from fer_engine.metric_learning import miners

    monkeypatch.setitem(miners.MINERS, "my_miner", miners.MINERS["hard"])
    monkeypatch.setattr(cli_main, "COMMAND_MODULES", ("train",))
    assert "my_miner" in _choices(_command(cli_main.build_parser(), "train"), "--miner")


def test_an_unknown_tta_mode_is_one_config_error_everywhere():
    from fer_engine.training import TrainConfig

    model = torch.nn.Module()
    images = np.zeros((0, 48, 48), np.uint8)
    for reject in (lambda: check_tta_mode("fivecrop"), lambda: tta_views(torch.zeros(1, 1, 48, 48), "fivecrop"),
                   lambda: run_inference(model, images, tta="fivecrop"),
                   lambda: TrainConfig().with_overrides(eval_tta="fivecrop")):
        with pytest.raises(ConfigError, match="fivecrop"):
            reject()
    assert [len(tta_views(torch.zeros(1, 1, 48, 48), mode)) for mode in TTA_MODES] == [1, 2, 10]


def test_study_heads_losses_and_help_read_the_registries(monkeypatch):
    from fer_engine.study.grid import STUDY_LOSSES, build_grid
    from fer_engine.study.triplet_study import TripletStudySpec

    assert TripletStudySpec(data_path="x").heads == HEAD_NAMES and STUDY_LOSSES == LOSSES
    assert {cell.miner for cell in build_grid(["triplet"], ["batch_hard"], ["cosine"])} == {"batch_hard"}
    monkeypatch.setattr(cli_main, "COMMAND_MODULES", ("study",))
    triplet = _command(cli_main.build_parser(), "study", "triplet")
    helps = {a.dest: a.help for a in triplet._actions}
    assert all(name in helps["miners"] for name in MINERS) and all(name in helps["heads"] for name in HEAD_NAMES)
    assert "images per split" in helps["limit"]
