"""Helpers for the sweep tests: sweep settings the fake trial runner serves, a worker serving two CPU slots, and
driving a sweep to its end from the test process."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any, Callable

from fer_engine.jobs import JobQueue
from fer_engine.sweeps import SweepConfig, top_up, view_sweep
from fer_engine.sweeps.results import best_value
from support.processes import start_worker as start_any_worker
from support.processes import wait_for

FAKE_RUNNER = "support.sweep_runners:fake_trial_runner"
REPORTING_RUNNER = "support.sweep_runners:reporting_runner"


def fake_config(name: str = "s", *, space: dict | None = None, **settings: Any) -> SweepConfig:
    """A sweep over lr whose trials the fake runner serves (data_path is never read by it)."""
    base = {"data_path": "unused.zip", "preset": "fast_cpu", "overrides": {"epochs": 3}}
    settings.setdefault("pruner", "none")
    settings.setdefault("sampler", "random")
    return SweepConfig(name=name, space=space or {"lr": {"low": 0.01, "high": 0.3, "log": True}},
                       base_spec=base, **{"trials": 6, "parallel": 2, **settings})


def start_worker(root: Path, runner: str, *args: str, log: Path | None = None,
                 env: dict[str, str] | None = None) -> subprocess.Popen:
    """A worker serving `root` on two CPU slots (two trials at once) with a short heartbeat."""
    return start_any_worker(root, runner, "--heartbeat-s", "0.5", *args, devices="cpu,cpu", log=log, env=env)


def drive_until_finished(root: Path, name: str, timeout_s: float, *, on_tick: Callable[[], None] | None = None):
    """Call top_up as a worker's poll loop would, until the sweep is finished; returns the final view."""
    def finished():
        top_up(root)
        if on_tick is not None:
            on_tick()
        view = view_sweep(name, root)
        return view if view.row.status == "finished" else None

    return wait_for(finished, timeout_s, f"sweep {name} to finish", poll_s=0.3)


def serve_inline(root: Path, name: str, *, epochs: int = 3, max_rounds: int = 50):
    """Play a worker in this process: claim each queued trial job, log val_accuracy = epoch * lr into a new run,
    finish the job; call top_up between rounds until the sweep is finished. Returns the final view."""
    from fer_engine.io_utils import append_jsonl
    from fer_engine.jobs import JobQueue

    queue = JobQueue(root)
    for _ in range(max_rounds):
        top_up(root)
        view = view_sweep(name, root)
        if view.row.status == "finished":
            return view
        while (job := queue.claim("inline", ["cpu"])) is not None:
            run = queue.store.create_run(name=job.name, kind="train", config={"job_id": job.id})
            lr = float(job.spec["overrides"]["lr"])
            for epoch in range(1, epochs + 1):
                record = {"epoch": epoch, "val_accuracy": epoch * lr, "val_loss": 1 / (epoch * lr)}
                append_jsonl(run.metrics_log, record)
            queue.attach_run(job.id, run.run_id, lease=job.lease)
            queue.store.update(run.run_id, status="succeeded")
            queue.finish(job.id, "succeeded", lease=job.lease)
    raise AssertionError(f"sweep {name} did not finish in {max_rounds} rounds")


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


def check_finished_sweep(root: Path, view: Any) -> None:
    """The 6-trial tiny sweep finished as it must: every grid point once, one pruned at least, no failure, and the
    best trial's run holding the best value."""
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
