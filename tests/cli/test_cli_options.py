"""One CLI vocabulary: `fer train`, `fer reproduce` and `fer jobs submit` share their training flags (same help,
same typing, same resolved config) and one `--set` parser; allowed values come from their registries."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pytest

import fer_engine.cli.main as cli_main
from fer_engine.cli import jobs_cmd, reproduce_cmd, train_cmd
from fer_engine.cli.options import COMMON_FIELDS, parse_set_overrides
from fer_engine.data.synthetic import write_image_folder
from fer_engine.errors import ConfigError
from fer_engine.jobs.queue import JobQueue
from fer_engine.pipeline import PipelineSpec
from fer_engine.runs.store import RunStore

SHARED_FLAGS = ("--data", "--preset", "--arch", "--epochs", "--limit", "--seed", "--device", "--name", "--set")
COMMANDS = (("train",), ("reproduce",), ("jobs", "submit"))


@pytest.fixture(autouse=True)
def training_command_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    """The parser with the three commands under test (other groups are developed separately)."""
    monkeypatch.setattr(cli_main, "COMMAND_MODULES", ("train", "reproduce", "jobs"))


@pytest.fixture(scope="module")
def tiny_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_image_folder(tmp_path_factory.mktemp("data") / "fer.zip", {"train": 8, "val": 3}, as_zip=True)


def _subparser(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> argparse.ArgumentParser:
    for name in path:
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = action.choices[name]
    return parser


def _option(parser: argparse.ArgumentParser, flag: str) -> argparse.Action:
    return next(a for a in parser._actions if flag in a.option_strings)


def test_shared_flags_have_one_definition_in_every_command() -> None:
    parser = cli_main.build_parser()
    commands = [_subparser(parser, path) for path in COMMANDS]
    for flag in SHARED_FLAGS:
        actions = [_option(command, flag) for command in commands]
        first = actions[0]
        for action in actions[1:]:
            assert (action.dest, action.type, action.metavar, type(action)) == \
                (first.dest, first.type, first.metavar, type(first)), flag
            if flag != "--preset":  # the default preset differs (strong / paper / the spec's): its help says so
                assert action.help == first.help and action.default == first.default, flag
    assert "images per split" in _option(commands[0], "--limit").help
    assert _option(commands[1], "--threads").help == _option(commands[0], "--threads").help


def _resolved_configs(argv: list[str]):
    """The TrainConfig each of the three commands resolves from the same training flags."""
    parser = cli_main.build_parser()
    train = train_cmd.spec_from_args(parser.parse_args(["train", *argv])).train_config()
    reproduce = reproduce_cmd.spec_from_args(parser.parse_args(["reproduce", *argv])).train_config()
    spec = jobs_cmd.build_spec(parser.parse_args(["jobs", "submit", *argv]))
    jobs = PipelineSpec.from_dict(spec).train_config()
    return train, reproduce, jobs


def test_the_same_flags_resolve_to_the_same_config_in_every_command(tiny_zip: Path) -> None:
    argv = ["--data", str(tiny_zip.resolve()), "--preset", "fast_cpu", "--arch", "vgg19_bn_quarter", "--epochs", "3",
            "--limit", "21", "--seed", "4", "--device", "cpu", "--set", "lr=0.01", "--set", "notes=123",
            "--set", "triplet.margin=0.3", "--set", "augment.hflip=false"]
    train, reproduce, jobs = _resolved_configs(argv)
    assert train == reproduce == jobs
    assert (train.epochs, train.limit, train.seed, train.device, train.lr) == (3, 21, 4, "cpu", 0.01)
    assert train.notes == "123" and train.triplet.margin == 0.3 and train.augment.hflip is False


def test_jobs_submit_takes_epochs_and_a_numeric_looking_text_field(tiny_zip: Path, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture) -> None:
    root = str(tmp_path / "runs")
    status = cli_main.main(["jobs", "submit", "--data", str(tiny_zip), "--preset", "fast_cpu", "--epochs", "2",
                            "--limit", "14", "--set", "notes=123", "--runs-root", root])
    assert status == 0, capsys.readouterr().err
    [job] = JobQueue(root).list()
    assert job.spec["overrides"] == {"epochs": 2, "notes": "123"} and job.spec["limit"] == 14
    config = PipelineSpec.from_dict(job.spec).train_config()
    assert (config.epochs, config.notes, config.limit) == (2, "123", 14)


def test_set_values_are_typed_by_their_field() -> None:
    parsed = parse_set_overrides(["epochs=5", "lr=1e-3", "notes=123", "nesterov=false", "limit=none",
                                  "triplet.margin=0.3", "augment.scale=0.9,1.1", "triplet.miner=batch_hard"])
    assert parsed == {"epochs": 5, "lr": 0.001, "notes": "123", "nesterov": False, "limit": None,
                      "triplet.margin": 0.3, "augment.scale": (0.9, 1.1), "triplet.miner": "batch_hard"}
    assert type(parsed["epochs"]) is int and type(parsed["lr"]) is float


@pytest.mark.parametrize(("items", "named"), [
    (["novalue"], "KEY=VALUE"),
    (["=3"], "KEY=VALUE"),
    (["learning_rate=0.1"], "learning_rate"),
    (["epochs=ten"], "epochs"),
    (["triplet.colour=red"], "triplet.colour"),
    (["nesterov=maybe"], "nesterov"),
])
def test_bad_set_items_name_the_problem(items: list[str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        parse_set_overrides(items)


@pytest.mark.parametrize("command", COMMANDS)
def test_a_flag_contradicting_set_is_an_error_in_every_command(command: tuple[str, ...], tiny_zip: Path,
                                                               tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    status = cli_main.main([*command, "--data", str(tiny_zip), "--epochs", "2", "--set", "epochs=3",
                            "--runs-root", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 2 and err.startswith("fer: error:") and "--epochs 2" in err and "epochs=3" in err
    assert RunStore(tmp_path).list() == [] and JobQueue(tmp_path).list() == []


@pytest.mark.parametrize("command", COMMANDS)
def test_an_unknown_preset_is_a_clear_error_listing_the_presets(command: tuple[str, ...], tiny_zip: Path,
                                                                tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    status = cli_main.main([*command, "--data", str(tiny_zip), "--preset", "fastest", "--runs-root", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 2 and "unknown preset 'fastest'" in err and "fast_cpu" in err


def test_common_flags_name_train_config_fields() -> None:
    from fer_engine.training.config import typed_override

    for field in COMMON_FIELDS.values():  # an unknown field would raise ConfigError
        assert typed_override(field, "7") in (7, "7")


@pytest.mark.slow  # trains the default (strong) preset
def test_the_default_preset_trains_one_epoch(tiny_zip: Path, tmp_path: Path, capsys: pytest.CaptureFixture,
                                             caplog: pytest.LogCaptureFixture) -> None:
    """`fer train --epochs 1` with every default (preset strong, warm-up 2 epochs) trains, saying why the warm-up
    is shorter."""
    with caplog.at_level(logging.WARNING, logger="fer_engine.training.config"):
        status = cli_main.main(["train", "--data", str(tiny_zip), "--epochs", "1", "--limit", "14",
                                "--runs-root", str(tmp_path)])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert "warm-up shortened from 2 to 0.5 epochs to fit a 1-epoch run" in caplog.text
    [record] = RunStore(tmp_path).list()
    assert record.status == "succeeded" and record.preset == "strong" and record.metrics["epochs_completed"] == 1
    config = RunStore(tmp_path).paths(record.run_id).read_config()
    assert (config["epochs"], config["warmup_epochs"], config["scheduler"]) == (1, 0.5, "cosine")
    run_log = RunStore(tmp_path).paths(record.run_id).log_file.read_text()
    assert "preset strong, 1 epochs, cosine schedule with 0.5 warm-up epochs" in run_log
