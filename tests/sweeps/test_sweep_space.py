"""Search spaces (parsing, validation against TrainConfig and the heads, grids), the job a trial becomes, and the
trial reporter on its own (no worker)."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from fer_engine.errors import ConfigError
from fer_engine.jobs import JobQueue
from fer_engine.pipeline import PipelineSpec
from fer_engine.sweeps import parse_space, parse_space_text, reporter_for_job, start_sweep
from fer_engine.sweeps.space import MAX_SPACE_FILE_BYTES, grid_points, load_space_file, split_params
from fer_engine.sweeps.storage import SWEEPS_DB_FILE, open_store
from fer_engine.sweeps.study import trial_spec
from support.sweeps import fake_config

SPACE = """
lr: {low: 1.0e-4, high: 0.1, log: true}
label_smoothing: {low: 0.0, high: 0.2, step: 0.05}
optimizer: [sgd, adamw]
batch_size: {low: 16, high: 64, log: true}
augment.rotation_degrees: {choices: [0, 10, 20]}
head.svm.C: {low: 0.1, high: 100, log: true}
"""


def test_a_space_is_typed_by_the_config_fields_and_round_trips() -> None:
    space = parse_space_text(SPACE)
    kinds = {p.name: p.kind for p in space.params}
    assert kinds == {"lr": "float", "label_smoothing": "float", "optimizer": "choice", "batch_size": "int",
                     "augment.rotation_degrees": "choice", "head.svm.C": "float"}
    assert space.head_names == ["svm"]
    assert parse_space(space.to_dict()) == space
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    for _ in range(20):
        values = space.suggest(study.ask())
        assert isinstance(values["batch_size"], int) and 16 <= values["batch_size"] <= 64
        assert 1e-4 <= values["lr"] <= 0.1 and values["optimizer"] in ("sgd", "adamw")
        assert round(values["label_smoothing"] / 0.05, 9).is_integer()


def test_grid_points_cover_choices_and_steps() -> None:
    space = parse_space_text("label_smoothing: {low: 0.0, high: 0.2, step: 0.1}\nepochs: {low: 1, high: 2}\n")
    assert space.grid() == {"label_smoothing": [0.0, 0.1, 0.2], "epochs": [1, 2]}
    assert len(grid_points(space)) == 6
    with pytest.raises(ConfigError, match="cannot enumerate log range 'lr'"):
        parse_space_text("lr: {low: 0.001, high: 0.1, log: true}").grid()


@pytest.mark.parametrize("text, message", [
    ("lr: {low: 0.1, high: 0.01}", "low (0.1) must be below high (0.01)"),
    ("lr: {low: 0.01}", "needs both low and high"),
    ("lr: {low: 0.01, high: 0.1, log: true, step: 0.01}", "either log or stepped"),
    ("lr: {low: 0.01, high: 0.1, scale: log}", "unknown key(s) scale"),
    ("optimizer: {low: 1, high: 2}", "not a number field"),
    ("optimizer: [sgd, sgd]", "choices repeat a value"),
    ("optimizer: [sgd, lbfgs]", "is not one of: sgd, adamw"),
    ("label_smoothing: {low: 0.0, high: 1.0}", "must be in [0, 1)"),
    ("triplet.margn: [0.1]", "unknown config field 'triplet.margn'"),
    ("augment.scale: [1.0]", "(low, high) pair"),
    ("data_path: [a.zip]", "cannot be searched"),
    ("head.knn.k: [1]", "unknown head 'knn'"),
    ("head.svm: [1]", "head.<head>.<param>"),
    ("lr: {low: .nan, high: 1}", "finite number"),
    ("[1, 2]", "must map parameter names"),
])
def test_bad_spaces_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_space_text(text)
    assert message in str(caught.value)


def test_space_files_are_bounded(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * MAX_SPACE_FILE_BYTES)
    with pytest.raises(ConfigError, match="the most accepted"):
        load_space_file(big)
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_space_file(binary)
    with pytest.raises(ConfigError, match="41 parameters"):
        parse_space({f"p{i}": [1] for i in range(41)})


def test_a_trial_becomes_a_valid_pipeline_job() -> None:
    config = fake_config("spec", space={"lr": {"low": 0.01, "high": 0.3}, "head.svm.C": {"low": 0.1, "high": 10}})
    spec = trial_spec(config, {"lr": 0.05, "head.svm.C": 2.0}, 7)
    PipelineSpec.from_dict(spec).validate()
    assert spec["name"] == "sweep-spec-t7" and spec["overrides"] == {"epochs": 3, "lr": 0.05}
    assert spec["head_params"] == {"svm": {"C": 2.0}} and spec["heads"] == ["svm"]
    assert spec["steps"] == ["train", "embed", "heads", "evaluate"]
    assert split_params({"lr": 1, "head.rf.n_estimators": 5}) == ({"lr": 1}, {"rf": {"n_estimators": 5}})
    plain = trial_spec(fake_config("plain"), {"lr": 0.05}, 0)
    assert plain["steps"] == ["train"] and plain["heads"] == []


def test_ordinary_jobs_get_no_reporter_and_no_database(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    job = JobQueue(root).submit(trial_spec(fake_config("x"), {"lr": 0.1}, 0))
    assert reporter_for_job(root, job.id) is None
    assert not (root / SWEEPS_DB_FILE).exists()  # jobs of a runs root without sweeps never create one


def test_the_reporter_reports_epochs_and_flags_a_pruned_trial(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    start_sweep(fake_config("rep", trials=3, parallel=2, pruner="median", pruner_startup_trials=1), root)
    first, second = sorted(JobQueue(root).list(), key=lambda j: j.id)
    good = reporter_for_job(root, first.id)
    assert good.on_epoch({"epoch": 1, "val_loss": 0.5}) is False  # no val_accuracy in the record: nothing reported
    assert good.on_epoch({"epoch": 1, "val_accuracy": 0.9}) is False
    good.study.tell(good.trial, 0.9)  # the first trial completes (a trial to compare with)
    bad = reporter_for_job(root, second.id)
    assert bad.on_epoch({"epoch": 1, "val_accuracy": 0.1}) is True  # below the median at epoch 1: prune
    [row] = [r for r in open_store(root).trials("rep") if r.job_id == second.id]
    assert row.pruned and bad.trial.study.trials[row.number].intermediate_values == {1: 0.1}
