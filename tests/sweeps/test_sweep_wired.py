"""NEEDS THE JOBS-CODE WIRING (/tmp/prompts/h9_wiring.md; docs/sweeps.md "Wiring"): these tests run sweeps through
the default worker alone - its poll loop calls `top_up`, its job processes report epochs and stop pruned trials.
They skip until fer_engine/jobs/run_job.py and worker.py carry the wiring."""

from __future__ import annotations

import inspect
import time
from pathlib import Path

import pytest

import fer_engine.jobs.run_job as run_job
import fer_engine.jobs.worker as worker_module
from fer_engine.jobs import JobQueue
from fer_engine.jobs.runners import DEFAULT_RUNNER
from fer_engine.sweeps import start_sweep, view_sweep
from fer_engine.sweeps.storage import open_store
from support.processes import kill_group, wait_for
from support.sweeps import check_finished_sweep, start_worker, tiny_sweep

WIRED = "reporter_for_job" in inspect.getsource(run_job) and "top_up" in inspect.getsource(worker_module)
pytestmark = [pytest.mark.timeout(900),
              pytest.mark.skipif(not WIRED, reason="needs the sweep wiring in fer_engine/jobs (h9_wiring.md)")]


def _finished(root: Path, name: str):
    view = view_sweep(name, root)
    return view if view.row.status == "finished" else None


@pytest.mark.slow
def test_the_default_worker_alone_runs_a_pruned_sweep_to_the_end(tmp_path: Path, tiny_zip: Path) -> None:
    root = tmp_path / "runs"
    start_sweep(tiny_sweep(tiny_zip, "wired"), root)
    worker = start_worker(root, DEFAULT_RUNNER, log=tmp_path / "worker.log")
    try:
        view = wait_for(lambda: _finished(root, "wired"), 800, "the worker to finish the sweep", poll_s=1.0)
    finally:
        kill_group(worker)
    check_finished_sweep(root, view)
    queue = JobQueue(root)
    for trial in view.trials:
        if trial["state"] == "pruned":  # stopped by the pruner: recorded pruned, the job 'cancelled' not failed
            job = queue.get(trial["job_id"])
            assert (job.state, job.error) in (("cancelled", "pruned by the sweep's pruner"), ("succeeded", None))


@pytest.mark.slow
def test_kill_the_worker_mid_sweep_and_another_finishes_it_counting_no_trial_twice(
        tmp_path: Path, tiny_zip: Path) -> None:
    root = tmp_path / "runs"
    start_sweep(tiny_sweep(tiny_zip, "killed"), root)
    queue = JobQueue(root)
    first = start_worker(root, DEFAULT_RUNNER, "--orphan-timeout-s", "5", log=tmp_path / "w1.log")
    try:
        wait_for(lambda: sum(j.finished for j in queue.list()) >= 2 and any(
            j.state == "running" and j.progress.get("epoch") for j in queue.list()), 600, "a sweep half-way")
    finally:
        kill_group(first)
    time.sleep(1)
    second = start_worker(root, DEFAULT_RUNNER, "--orphan-timeout-s", "5", log=tmp_path / "w2.log")
    try:
        view = wait_for(lambda: _finished(root, "killed"), 800, "the second worker to finish the sweep", poll_s=1.0)
    finally:
        kill_group(second)
    check_finished_sweep(root, view)
    rows = open_store(root).trials("killed")
    assert len(rows) == 6 and len({r.job_id for r in rows}) == 6 and all(r.recorded for r in rows)
    sweep_jobs = [j for j in queue.list() if j.name.startswith("sweep-killed-")]
    assert len(sweep_jobs) == 6
