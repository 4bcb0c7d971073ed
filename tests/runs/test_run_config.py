"""config.json has one shape, and the older shapes still found in run folders keep being read."""

from __future__ import annotations

import json

import pytest

from fer_engine.runs.layout import RunPaths
from fer_engine.runs.run_config import recorded_command, recorded_data_path, run_config_dict
from fer_engine.training import TrainConfig, get_preset
from support.builders import tiny_dataset
from support.paths import REPO_ROOT

OLD_RUN_FOLDERS = [REPO_ROOT / "checkpoints" / "default",  # written by the old `fer train`
                   *sorted((REPO_ROOT / "checkpoints" / "examples").glob("*/"))]  # written by the old pipeline


@pytest.mark.parametrize("folder", OLD_RUN_FOLDERS, ids=lambda folder: folder.name)
def test_runs_written_in_older_shapes_are_still_read(folder) -> None:
    config = RunPaths(folder).read_config()
    assert recorded_data_path(config).endswith(".zip")
    assert TrainConfig.from_run_config(config).arch == config["arch"]
    assert recorded_command(config).startswith("fer ")


def test_each_older_key_for_the_data_is_found() -> None:
    assert recorded_data_path({"data_path": "a.zip", "data_source": "b.zip"}) == "a.zip"
    assert recorded_data_path({"data_path": "", "pipeline": {"data_path": "c.zip"}}) == "c.zip"
    assert recorded_data_path({"data_source": "d.zip"}) == "d.zip"
    assert recorded_data_path({"pipeline": None}) == ""


def test_the_one_shape_holds_the_config_the_data_and_where_it_came_from() -> None:
    dataset = tiny_dataset()
    config = get_preset("fast_cpu").with_overrides(data_path="/data/fer.zip")
    record = run_config_dict(config, dataset, pipeline={"steps": ["train"]}, command="fer train --data fer.zip")
    assert TrainConfig.from_run_config(record) == config
    assert record["data_fingerprint"] == dataset.fingerprint and record["data_source"] == dataset.source
    assert record["data"]["split_totals"] == {name: len(split.labels) for name, split in dataset.splits.items()}
    assert record["data_splits"]["present"] == list(dataset.splits)
    assert record["pipeline"] == {"steps": ["train"]} and record["command"] == "fer train --data fer.zip"
    assert json.loads(json.dumps(record)) == record  # JSON as it is written
    assert "command" not in run_config_dict(config, dataset) and "pipeline" not in run_config_dict(config, dataset)
