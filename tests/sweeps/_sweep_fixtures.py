"""Helpers for the sweep tests: sweep settings on made data, a worker process with a test runner, polling."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

from fer_engine.sweeps import SweepConfig, top_up, view_sweep

HERE = Path(__file__).resolve().parent
FAKE_RUNNER = "_sweep_runner:fake_trial_runner"
REPORTING_RUNNER = "_sweep_runner:reporting_runner"


def fake_config(name: str = "s", *, space: dict | None = None, **settings: Any) -> SweepConfig:
    """A sweep over lr whose trials the fake runner serves (data_path is never read by it)."""
    base = {"data_path": "unused.zip", "preset": "fast_cpu", "overrides": {"epochs": 3}}
    settings.setdefault("pruner", "none")
    settings.setdefault("sampler", "random")
    return SweepConfig(name=name, space=space or {"lr": {"low": 0.01, "high": 0.3, "log": True}},
                       base_spec=base, **{"trials": 6, "parallel": 2, **settings})


def start_worker(root: Path, runner: str, *args: str, log: Path | None = None,
                 env: dict[str, str] | None = None) -> subprocess.Popen:
    """`python -m fer_engine.cli.worker_cmd` serving `root` with `runner`, in its own process group."""
    environment = {**os.environ, **(env or {})}
    environment["PYTHONPATH"] = os.pathsep.join([str(HERE), *[p for p in sys.path if p and os.path.isdir(p)]])
    command = [sys.executable, "-m", "fer_engine.cli.worker_cmd", "--runs-root", str(root), "--devices", "cpu,cpu",
               "--job-runner", runner, "--heartbeat-s", "0.5", *args]
    out = open(log, "a") if log else subprocess.DEVNULL
    return subprocess.Popen(command, env=environment, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=30)


def wait_for(condition: Callable[[], Any], timeout_s: float, what: str, poll_s: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll_s)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


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
                append_jsonl(run.metrics_log, {"epoch": epoch, "val_accuracy": epoch * lr, "val_loss": 1 / (epoch * lr)})
            queue.attach_run(job.id, run.run_id, lease=job.lease)
            queue.store.update(run.run_id, status="succeeded")
            queue.finish(job.id, "succeeded", lease=job.lease)
    raise AssertionError(f"sweep {name} did not finish in {max_rounds} rounds")
