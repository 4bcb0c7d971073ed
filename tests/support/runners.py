"""Job runners for the job tests, imported by worker and job processes as 'support.runners:NAME'.

They follow the job-runner contract of `fer_engine.jobs.runners` (spec dict, run, on_event, should_stop).
"""

from __future__ import annotations

import errno
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from fer_engine.errors import ConfigError, DataError
from fer_engine.io_utils import atomic_write_json
from fer_engine.runs.layout import RunPaths

FAKE_RUNNER = "support.runners:fake_runner"
"""The runner a test worker serves FakeSpec jobs with."""


@dataclass
class FakeSpec:
    """A job spec for tests: what the fake runners read."""

    kind: str = "marker"
    marker: str = ""
    sleep_s: float = 0.0
    epochs: int = 3
    epoch_s: float = 0.2
    data_path: str = ""
    fail: str = ""
    overrides: dict[str, Any] = field(default_factory=dict)
    name: str = ""

    def validate(self) -> "FakeSpec":
        if self.kind not in ("marker", "epochs", "fail", "data"):
            raise ConfigError(f"unknown fake job kind '{self.kind}'")
        if self.epochs < 1:
            raise ConfigError("epochs must be >= 1")
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def marker_runner(spec: dict[str, Any], *, run: RunPaths, on_event: Callable, should_stop: Callable) -> RunPaths:
    """Append 'job_id pid run_id' to the marker file: proves which process ran which job, and how often.

    Under torchrun the ranks meet in a gloo process group first, as the real trainer's DDP setup makes them:
    without it rank 0 could finish the job before rank 1 has even started.
    """
    time.sleep(spec.get("sleep_s", 0.0))
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if distributed:
        import torch.distributed as dist

        dist.init_process_group("gloo")
    try:
        with open(spec["marker"], "a", encoding="utf-8") as handle:
            handle.write(f"{os.environ.get('FER_JOB_ID')} {os.getpid()} {run.run_id}\n")
        if distributed:
            dist.barrier()
    finally:
        if distributed:
            dist.destroy_process_group()
    return run


def epochs_runner(spec: dict[str, Any], *, run: RunPaths, on_event: Callable, should_stop: Callable) -> RunPaths:
    """A stand-in trainer: `epochs` epochs of 10 steps, resume state after each epoch, stops between steps."""
    state_path = run.root / "state" / "fake.json"
    state = json.loads(state_path.read_text()) if state_path.exists() else {"epoch": 0, "total": 0, "starts": 0}
    state["starts"] += 1
    atomic_write_json(state_path, state)
    steps = 10
    for epoch in range(state["epoch"] + 1, spec["epochs"] + 1):
        for step in range(1, steps + 1):
            if should_stop():
                print(f"stopping in epoch {epoch} at step {step}", flush=True)
                return run
            time.sleep(spec["epoch_s"] / steps)
            state["total"] += epoch * 100 + step
            on_event({"stage": "train", "epoch": epoch, "total_epochs": spec["epochs"], "batch": step,
                      "steps_per_epoch": steps, "train_loss": 1.0 / epoch})
        state["epoch"] = epoch
        atomic_write_json(state_path, state)
        on_event({"event": "epoch", "stage": "train", "epoch": epoch, "total_epochs": spec["epochs"],
                  "val_accuracy": epoch / spec["epochs"]})
    atomic_write_json(run.summary, {"epochs": state["epoch"], "total": state["total"], "starts": state["starts"]})
    return run


def failing_runner(spec: dict[str, Any], *, run: RunPaths, on_event: Callable, should_stop: Callable) -> RunPaths:
    """Fails the way `spec['fail']` says: value error, out of memory (above batch size 8), disk full, missing data."""
    kind = spec.get("fail")
    if kind == "value":
        raise ValueError("learning rate must be positive, got -1")
    if kind == "memory" and spec.get("overrides", {}).get("batch_size", 64) > 8:
        raise MemoryError(f"cannot allocate a batch of {spec['overrides'].get('batch_size', 64)}")
    if kind == "enospc":
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(run.resume_state))
    if spec.get("data_path") and not Path(spec["data_path"]).exists():
        raise DataError(f"dataset {spec['data_path']} does not exist")
    atomic_write_json(run.summary, {"batch_size": spec.get("overrides", {}).get("batch_size")})
    return run


def fake_runner(spec: dict[str, Any], *, run: RunPaths, on_event: Callable, should_stop: Callable) -> RunPaths:
    """Dispatch on the FakeSpec's kind, so one worker can serve a mix of fake jobs."""
    runner = {"epochs": epochs_runner, "marker": marker_runner}.get(spec["kind"], failing_runner)
    return runner(spec, run=run, on_event=on_event, should_stop=should_stop)


def expected_total(epochs: int, steps: int = 10) -> int:
    """What `epochs_runner` sums over an uninterrupted run (each step adds epoch * 100 + step)."""
    return sum(epoch * 100 + step for epoch in range(1, epochs + 1) for step in range(1, steps + 1))
