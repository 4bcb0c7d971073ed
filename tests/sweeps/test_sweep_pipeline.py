"""A sweep of 6 tiny trials of the real pipeline on made data (fer_engine.data.synthetic), served by a real worker
process: the median pruner prunes at least one trial, the sweep finishes, and the best trial's run holds the best
value. The worker runs the default pipeline runner plus the trial reporting the jobs-code wiring adds
(tests/sweeps/_sweep_runner.py:reporting_runner); test_sweep_wired.py runs the same through the wired default."""

from __future__ import annotations

from pathlib import Path

import pytest

from _sweep_fixtures import REPORTING_RUNNER, drive_until_finished, kill_group, start_worker
from fer_engine.data.synthetic import write_image_folder
from fer_engine.jobs import JobQueue
from fer_engine.sweeps import SweepConfig, start_sweep
from fer_engine.sweeps.results import best_value

pytestmark = pytest.mark.timeout(900)  # 6 job processes import torch and train on 2 shared cores

# The trainer tests' tiny recipe (learns in 3 epochs): no rotation/erasing, short warm-up, plain CE.
TINY = {"arch": "vgg19_bn_quarter", "epochs": 3, "batch_size": 14, "device": "cpu", "precision": "fp32",
        "channels_last": False, "warmup_epochs": 0.5, "weight_decay": 0.0, "label_smoothing": 0.0,
        "augment.rotation_degrees": 0.0, "augment.random_erasing": 0.0, "augment.crop_padding": 2,
        "augment.hflip": False}


def tiny_sweep(data: Path, name: str) -> SweepConfig:
    """lr 1e-5 (barely moves) or 0.01 (learns) x three seeds, on a grid: 6 trials, 2 in flight, median pruner
    after the first complete trial."""
    return SweepConfig(name=name, space={"lr": {"choices": [1e-5, 0.01]}, "seed": {"choices": [0, 1, 2]}},
                       trials=6, parallel=2, sampler="grid", pruner="median", pruner_startup_trials=1,
                       base_spec={"data_path": str(data), "preset": "fast_cpu", "overrides": dict(TINY)})


@pytest.fixture
def tiny_zip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # job processes inherit it: 2 shared cores, no oversubscription
    return write_image_folder(tmp_path / "tiny", {"train": 8, "val": 3}, as_zip=True)


def check_finished_sweep(root: Path, view) -> None:
    queue = JobQueue(root)
    assert view.row.status == "finished" and len(view.trials) == 6
    assert {(t["params"]["lr"], t["params"]["seed"]) for t in view.trials} == {
        (lr, seed) for lr in (1e-5, 0.01) for seed in (0, 1, 2)}
    assert sum(t["state"] == "pruned" for t in view.trials) >= 1
    assert not [t for t in view.trials if t["state"] == "fail"]
    assert len({t["job_id"] for t in view.trials}) == 6
    complete = [t for t in view.trials if t["state"] == "complete"]
    for trial in complete:
        assert trial["value"] == best_value(queue.store.paths(trial["run_id"]), "val_accuracy", "maximize")
    best = view.best
    assert best["value"] == max(t["value"] for t in complete)
    records = queue.store.paths(best["run_id"]).read_metrics()
    assert max(r["val_accuracy"] for r in records) == best["value"]  # the best trial's run holds the best value


def test_six_tiny_trials_with_the_median_pruner(tmp_path: Path, tiny_zip: Path) -> None:
    root = tmp_path / "runs"
    assert start_sweep(tiny_sweep(tiny_zip, "tiny"), root) == 2
    worker = start_worker(root, REPORTING_RUNNER, log=tmp_path / "worker.log")
    try:
        view = drive_until_finished(root, "tiny", 800)
    finally:
        kill_group(worker)
    check_finished_sweep(root, view)
