"""PipelineSpec: JSON round trip, validation with clear errors; run resolution and limited datasets."""

from __future__ import annotations

import numpy as np
import pytest

from fer_engine.errors import ConfigError, RunNotFoundError  # noqa: E402
from fer_engine.pipeline import PIPELINE_STEPS, PipelineSpec, limited_dataset, resolve_run  # noqa: E402
from fer_engine.runs.store import RunStore  # noqa: E402
from support.builders import tiny_dataset


def test_round_trip_through_a_dict():
    spec = PipelineSpec(
        data_path="fer.csv",
        preset="strong",
        overrides={"epochs": 2},
        heads=["svm"],
        search=True,
        tta="flip",
        limit=100,
        head_params={"svm": {"C": 1.0}},
    )
    assert PipelineSpec.from_dict(spec.to_dict()) == spec
    assert PipelineSpec().steps == list(PIPELINE_STEPS)


def test_unknown_fields_steps_heads_presets_and_overrides_are_config_errors():
    with pytest.raises(ConfigError, match="unknown pipeline field.*colour"):
        PipelineSpec.from_dict({"colour": "red"})
    cases = [
        ({"steps": ["train", "dance"]}, "unknown step 'dance'"),
        ({"heads": ["svm", "knn"]}, "unknown head 'knn'"),
        ({"preset": "nope"}, "unknown preset 'nope'"),
        ({"overrides": {"epochz": 3}}, "unknown config field 'epochz'"),
        ({"tta": "twice"}, "unknown TTA mode 'twice'"),
        ({"class_weight": "inverse"}, "class_weight"),
        ({"steps": []}, "no pipeline steps"),
        ({"data_path": ""}, "needs data_path"),
        ({"head_params": {"knn": {}}}, "unknown head 'knn'"),
    ]
    for fields, message in cases:
        spec = PipelineSpec(**{"data_path": "x.csv", **fields})
        with pytest.raises(ConfigError, match=message):
            spec.validate()


def test_valid_spec_resolves_the_training_config():
    spec = PipelineSpec(
        data_path="x.csv", preset="paper", overrides={"epochs": 2, "arch": "vgg19_bn_quarter"}, limit=50
    )
    spec.validate()
    config = spec.train_config()
    assert (config.epochs, config.arch, config.limit, config.data_path, config.lr) == (
        2,
        "vgg19_bn_quarter",
        50,
        "x.csv",
        0.001,
    )


def test_resolve_run_by_id_and_by_folder(tmp_path):
    store = RunStore(tmp_path / "runs")
    run = store.create_run(name="demo", config={"arch": "x"})
    assert resolve_run(run.run_id, tmp_path / "runs") == run
    assert resolve_run(str(run.root)) == run
    with pytest.raises(RunNotFoundError, match="no run 'missing-run'"):
        resolve_run("missing-run", tmp_path / "runs")
    with pytest.raises(RunNotFoundError, match="not a valid run id"):
        resolve_run("../etc", tmp_path / "runs")


def test_limited_dataset_takes_the_trainers_subsets():
    from fer_engine.training.batches import stratified_subset

    dataset = tiny_dataset({"train": 10, "val": 4, "test": 4})
    limited = limited_dataset(dataset, 35, seed=3)
    assert {name: len(split) for name, split in limited.splits.items()} == {"train": 35, "val": 28, "test": 28}
    expected = stratified_subset(dataset.splits["train"], 35, 3)
    assert limited.splits["train"].keys.tolist() == expected.keys.tolist()
    np.testing.assert_array_equal(limited.splits["train"].labels, expected.labels)
    assert limited_dataset(dataset, None, 0) is dataset
