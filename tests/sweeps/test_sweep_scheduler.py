"""The scheduler with the real queue and real worker processes (a fast stand-in trainer): K trials in flight, every
trial recorded once with its run's best value, pruning through the trial reporter, two schedulers at once, a
killed worker, stop/resume, and repairs after a scheduler died half-way."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fer_engine.jobs import JobQueue
from fer_engine.sweeps import resume_sweep, start_sweep, stop_sweep, top_up, view_sweep
from fer_engine.sweeps.results import best_value
from fer_engine.sweeps.storage import open_store
from fer_engine.sweeps.study import load_study
from support.processes import kill_group, wait_for
from support.sweeps import FAKE_RUNNER, drive_until_finished, fake_config, start_worker

pytestmark = pytest.mark.timeout(600)


def _check_each_trial_once(root: Path, name: str, n: int) -> None:
    """N trials, N distinct jobs, each job named after its trial, each trial's value = its run's best epoch."""
    view = view_sweep(name, root)
    queue = JobQueue(root)
    assert len(view.trials) == n
    job_ids = [t["job_id"] for t in view.trials]
    assert None not in job_ids and len(set(job_ids)) == n
    sweep_jobs = [j for j in queue.list() if j.name.startswith(f"sweep-{name}-")]
    assert sorted(j.id for j in sweep_jobs) == sorted(job_ids)
    for trial in view.trials:
        assert queue.get(trial["job_id"]).name == f"sweep-{name}-t{trial['trial']}"
        if trial["state"] == "complete":
            run = queue.store.paths(trial["run_id"])
            assert trial["value"] == best_value(run, "val_accuracy", "maximize")
            assert trial["value"] == pytest.approx(3 * trial["params"]["lr"])


@pytest.mark.slow
def test_sweep_keeps_k_in_flight_and_records_each_trial_once(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    assert start_sweep(fake_config("k2"), root) == 2
    queue = JobQueue(root)
    assert top_up(root) == 0 and len(queue.list()) == 2  # idempotent: K=2 are in flight already
    most_in_flight = []
    worker = start_worker(root, FAKE_RUNNER, log=tmp_path / "worker.log")
    try:
        view = drive_until_finished(root, "k2", 300, on_tick=lambda: most_in_flight.append(
            sum(not j.finished for j in queue.list())))
    finally:
        kill_group(worker)
    assert max(most_in_flight) == 2
    assert view.counts() == {"complete": 6}
    _check_each_trial_once(root, "k2", 6)
    assert view.best["params"]["lr"] == max(t["params"]["lr"] for t in view.trials)
    assert top_up(root) == 0 and len(queue.list()) == 6  # a finished sweep queues nothing more


@pytest.mark.slow
def test_median_pruner_prunes_through_the_trial_reporter(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    lrs = [0.3, 0.01, 0.2, 0.02, 0.1, 0.05]
    config = fake_config("pr", space={"lr": {"choices": lrs}}, sampler="grid", pruner="median",
                         pruner_startup_trials=1, parallel=1)
    start_sweep(config, root)
    worker = start_worker(root, FAKE_RUNNER, log=tmp_path / "worker.log")
    try:
        view = drive_until_finished(root, "pr", 300)
    finally:
        kill_group(worker)
    assert sorted(t["params"]["lr"] for t in view.trials) == sorted(lrs)  # the grid, each point once
    pruned = [t for t in view.trials if t["state"] == "pruned"]
    assert pruned and all(t["job_state"] != "failed" for t in pruned)
    queue = JobQueue(root)
    for trial in pruned:  # stopped early: fewer epochs in the run than planned
        assert len(queue.store.paths(trial["run_id"]).read_metrics()) < 3
    assert view.best["params"]["lr"] == 0.3


@pytest.mark.slow
def test_two_schedulers_at_once_never_count_a_job_twice(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    start_sweep(fake_config("two", trials=8, parallel=3), root)
    loop = ("import sys, time\nfrom fer_engine.sweeps import top_up, view_sweep\n"
            "while view_sweep('two', sys.argv[1]).row.status != 'finished':\n"
            "    top_up(sys.argv[1]); time.sleep(0.3)\n")
    schedulers = [subprocess.Popen([sys.executable, "-c", loop, str(root)]) for _ in range(2)]
    worker = start_worker(root, FAKE_RUNNER, log=tmp_path / "worker.log")
    try:
        for scheduler in schedulers:
            assert scheduler.wait(timeout=400) == 0
    finally:
        kill_group(worker)
        for scheduler in schedulers:
            scheduler.kill() if scheduler.poll() is None else None
    _check_each_trial_once(root, "two", 8)
    assert all(t.recorded for t in open_store(root).trials("two"))


@pytest.mark.slow
def test_killed_worker_mid_sweep_then_another_finishes_it_without_double_counting(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    start_sweep(fake_config("kill", trials=4, parallel=2), root)
    queue = JobQueue(root)
    env = {"SWEEP_FAKE_EPOCH_S": "1.0"}
    first = start_worker(root, FAKE_RUNNER, "--orphan-timeout-s", "3", log=tmp_path / "w1.log", env=env)
    try:
        wait_for(lambda: any(j.state == "running" and j.progress.get("epoch") for j in queue.list()), 120,
                 "a trial mid-training")
    finally:
        kill_group(first)
    interrupted = [j.id for j in queue.list() if j.state == "running"]
    assert interrupted
    second = start_worker(root, FAKE_RUNNER, "--orphan-timeout-s", "3", log=tmp_path / "w2.log", env=env)
    try:
        view = drive_until_finished(root, "kill", 300)
    finally:
        kill_group(second)
    assert view.counts() == {"complete": 4}
    _check_each_trial_once(root, "kill", 4)
    for job_id in interrupted:  # resumed, not re-run: same job and run, the epochs logged once each
        job = queue.get(job_id)
        assert job.state == "succeeded" and job.attempts >= 1
        assert [r["epoch"] for r in queue.store.paths(job.run_id).read_metrics()] == [1, 2, 3]


@pytest.mark.slow
def test_stop_then_resume_keeps_finished_trials(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    start_sweep(fake_config("sr", trials=4, parallel=1), root)
    queue = JobQueue(root)
    first_job = queue.list()[0]
    assert stop_sweep("sr", root) == []
    assert view_sweep("sr", root).row.status == "stopped"
    worker = start_worker(root, FAKE_RUNNER, log=tmp_path / "worker.log")
    try:
        wait_for(lambda: queue.get(first_job.id).finished, 120, "the trial in flight to finish")
        top_up(root)
        stopped = view_sweep("sr", root)
        assert [t["state"] for t in stopped.trials] == ["complete"] and len(queue.list()) == 1
        assert resume_sweep("sr", root) == 1
        view = drive_until_finished(root, "sr", 300)
    finally:
        kill_group(worker)
    assert view.counts() == {"complete": 4}
    assert view.trials[0]["job_id"] == first_job.id and view.trials[0]["value"] == stopped.trials[0]["value"]
    _check_each_trial_once(root, "sr", 4)
    with pytest.raises(Exception, match="ran all its 4 trials"):
        resume_sweep("sr", root)


def test_a_scheduler_that_died_half_way_is_repaired(tmp_path: Path) -> None:
    from optuna.trial import TrialState

    root = tmp_path / "runs"
    config = fake_config("fix", trials=3, parallel=1)
    start_sweep(config, root)
    store = open_store(root)
    study = load_study(store, config)
    orphan = study.ask()             # died between ask and recording the trial
    half = study.ask()               # died between recording the trial and queueing its job
    half.suggest_float("lr", 0.01, 0.3, log=True)
    store.add_trial("fix", half._trial_id, half.number)
    top_up(root)
    states = {t.number: t.state for t in load_study(store, config).get_trials()}
    assert states[orphan.number] == TrialState.FAIL and states[half.number] == TrialState.FAIL
    assert len(JobQueue(root).list()) == 1  # the budget of 3 is used: 1 job + 2 failed trials


def test_a_failed_trial_job_is_recorded_as_failed(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    start_sweep(fake_config("bad", trials=1, parallel=1), root)
    queue = JobQueue(root)
    job = queue.list()[0]
    claimed = queue.claim("test-worker", ["cpu"])
    queue.finish(claimed.id, "failed", "boom", lease=claimed.lease)
    top_up(root)
    top_up(root)
    view = view_sweep("bad", root)
    assert [t["state"] for t in view.trials] == ["fail"] and view.row.status == "finished"
    assert "boom" in view.trials[0]["reason"] and view.trials[0]["job_id"] == job.id


def test_a_full_queue_makes_the_sweep_wait_without_burning_trials(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FER_JOB_MAX_QUEUED_PER_USER", "1")
    root = tmp_path / "runs"
    assert start_sweep(fake_config("cap", trials=4, parallel=3), root) == 1
    for _ in range(3):
        assert top_up(root) == 0
    view = view_sweep("cap", root)
    assert len(view.trials) == 1 and view.row.status == "running"
    assert "waiting" in view.row.message and "the most allowed" in view.row.message
    monkeypatch.setenv("FER_JOB_MAX_QUEUED_PER_USER", "10")
    assert top_up(root) == 2 and view_sweep("cap", root).row.message is None
