"""One way to train: `fer train` and the pipeline's train step create runs alike, with one config.json shape, and
resume through one check (a finished run trains on when more epochs are asked for; the recipe cannot change)."""

from __future__ import annotations

from pathlib import Path

import pytest

import fer_engine.cli.main as cli_main
from fer_engine.data.synthetic import write_image_folder
from fer_engine.errors import ConfigError, DataError
from fer_engine.pipeline import PipelineSpec, run_pipeline
from fer_engine.runs.store import RunStore

RECIPE = {"arch": "vgg19_bn_quarter", "epochs": 1, "precision": "fp32", "device": "cpu", "batch_size": 14,
          "warmup_epochs": 0}


@pytest.fixture(scope="module")
def data_zip(tmp_path_factory) -> Path:
    return write_image_folder(tmp_path_factory.mktemp("data") / "fer.zip", {"train": 8, "val": 3}, as_zip=True)


def _train_spec(data: Path, runs_root: Path, **fields) -> PipelineSpec:
    return PipelineSpec(**{"data_path": str(data), "preset": "fast_cpu", "overrides": dict(RECIPE),
                           "steps": ["train"], "heads": [], "runs_root": str(runs_root), **fields})


def test_fer_train_and_the_pipeline_write_the_same_run(data_zip: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture) -> None:
    flags = ["--arch", "vgg19_bn_quarter", "--epochs", "1", "--precision", "fp32", "--device", "cpu",
             "--batch-size", "14", "--set", "warmup_epochs=0", "--threads", "1"]
    status = cli_main.main(["train", "--data", str(data_zip), "--preset", "fast_cpu", *flags,
                            "--runs-root", str(tmp_path / "cli")])
    assert status == 0, capsys.readouterr().err
    piped = run_pipeline(_train_spec(data_zip.resolve(), tmp_path / "pipeline"))

    [record] = RunStore(tmp_path / "cli").list()
    from_cli = RunStore(tmp_path / "cli").paths(record.run_id).read_config()
    from_pipeline = piped.read_config()
    assert set(from_cli) - {"command"} == set(from_pipeline)  # one shape; the CLI adds its command line
    for key in ("arch", "epochs", "batch_size", "data_path", "data_fingerprint", "data", "data_splits"):
        assert from_cli[key] == from_pipeline[key], key
    assert from_cli["pipeline"]["steps"] == ["train"]
    assert RunStore(tmp_path / "pipeline").get(piped.run_id).metrics.keys() == record.metrics.keys()


def test_resuming_a_finished_run_with_more_epochs_trains_on(data_zip: Path, tmp_path: Path) -> None:
    run = run_pipeline(_train_spec(data_zip, tmp_path))
    events: list[dict] = []
    resumed = run_pipeline(PipelineSpec(steps=["train"], heads=[], runs_root=str(tmp_path), resume_run_id=run.run_id,
                                        overrides={"epochs": 2}), on_event=events.append)
    assert resumed == run and [r["epoch"] for r in run.read_metrics()] == [1, 2]
    assert [e["resumed"] for e in events if e["event"] == "training_started"] == [True]
    assert RunStore(tmp_path).get(run.run_id).metrics["epochs_completed"] == 2
    events.clear()
    run_pipeline(PipelineSpec(steps=["train"], heads=[], runs_root=str(tmp_path), resume_run_id=run.run_id,
                              overrides={"epochs": 2}), on_event=events.append)
    assert [e["step"] for e in events if e["event"] == "step_skipped"] == ["train"]  # done: nothing to train


def test_resuming_refuses_a_changed_recipe_or_other_data(data_zip: Path, tmp_path: Path) -> None:
    run = run_pipeline(_train_spec(data_zip, tmp_path))
    with pytest.raises(ConfigError, match=r"only epochs, device, precision may change; changed: lr"):
        run_pipeline(PipelineSpec(steps=["train"], heads=[], runs_root=str(tmp_path), resume_run_id=run.run_id,
                                  overrides={"epochs": 2, "lr": 0.5}))
    other = write_image_folder(tmp_path / "other", {"train": 6, "val": 3})
    with pytest.raises(DataError, match="not the data run"):
        run_pipeline(PipelineSpec(data_path=str(other), steps=["train"], heads=[], runs_root=str(tmp_path),
                                  resume_run_id=run.run_id, overrides={"epochs": 2}))
    assert [r["epoch"] for r in run.read_metrics()] == [1]


def test_a_user_error_leaves_no_run(data_zip: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="val_knn_accuracy"):
        run_pipeline(_train_spec(data_zip, tmp_path, overrides={**RECIPE, "loss": "triplet",
                                                                "select_metric": "val_accuracy"}))
    assert RunStore(tmp_path).list() == []
