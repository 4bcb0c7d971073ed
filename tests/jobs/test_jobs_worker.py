"""Workers and job processes with fake job runners: success, failures with reasons, OOM retry, cancel,
graceful stop and resume, a killed worker's orphan re-queued and resumed, two worker processes racing."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from fer_engine.jobs import JobQueue, Worker
from fer_engine.runs.store import RunStore
from support.processes import kill_group, start_worker, wait_for
from support.runners import FAKE_RUNNER, FakeSpec, expected_total, fake_runner, marker_runner

FAST = dict(heartbeat_s=0.2, poll_s=0.05, grace_s=20.0)
pytestmark = pytest.mark.timeout(120)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _fake_state(queue: JobQueue, job_id: int) -> dict:
    run_id = queue.get(job_id).run_id
    path = queue.root / run_id / "state" / "fake.json" if run_id else None
    return json.loads(path.read_text()) if path and path.exists() else {}


def _worker_thread(worker: Worker) -> threading.Thread:
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    return thread


@pytest.mark.slow  # worker and job processes each import torch
def test_worker_runs_a_job_in_its_own_process_to_success(tmp_path: Path) -> None:
    queue = JobQueue(tmp_path / "runs")
    marker = tmp_path / "marker.txt"
    job = queue.submit(FakeSpec(marker=str(marker), name="hello"))
    report = Worker(queue.root, ["cpu"], once=True, job_runner=marker_runner, **FAST).run()
    done = queue.get(job.id)
    assert report.jobs_started == [job.id]
    assert done.state == "succeeded" and done.error is None and done.finished_at >= done.started_at
    job_id, pid, run_id = marker.read_text().split()
    assert (int(job_id), run_id) == (job.id, done.run_id) and int(pid) != os.getpid()
    run = RunStore(queue.root).paths(done.run_id)
    assert f"job {job.id} succeeded" in run.log_file.read_text()
    assert f"job {job.id} succeeded" in Path(done.log_path).read_text()
    assert queue.live_workers(60) == []  # the worker unregistered itself


@pytest.mark.slow  # worker and job processes each import torch
def test_failures_keep_their_reason_and_the_worker_serves_the_next_job(tmp_path: Path) -> None:
    queue = JobQueue(tmp_path / "runs")
    bad_value = queue.submit(FakeSpec(kind="fail", fail="value"))
    missing_data = queue.submit(FakeSpec(kind="data", data_path=str(tmp_path / "absent.zip")))
    disk_full = queue.submit(FakeSpec(kind="fail", fail="enospc"))
    good = queue.submit(FakeSpec(marker=str(tmp_path / "marker.txt")))
    report = Worker(queue.root, ["cpu"], once=True, job_runner=fake_runner, **FAST).run()
    assert report.jobs_started == [bad_value.id, missing_data.id, disk_full.id, good.id]
    # An exception that is not a FerError may carry file contents: the shared reason names only its type.
    assert queue.get(bad_value.id).error == "internal error (ValueError); the job log has the details"
    assert queue.get(missing_data.id).error == f"dataset {tmp_path / 'absent.zip'} does not exist"
    assert "No space left on device" in queue.get(disk_full.id).error
    assert [queue.get(j.id).state for j in (bad_value, missing_data, disk_full)] == ["failed"] * 3
    assert queue.get(good.id).state == "succeeded"
    log = Path(queue.get(bad_value.id).log_path).read_text()
    assert "Traceback" in log and "learning rate must be positive, got -1" in log  # details stay in the logs
    assert "Traceback" in (queue.root / queue.get(bad_value.id).run_id / "run.log").read_text()


@pytest.mark.slow  # worker and job processes each import torch
def test_out_of_memory_is_retried_with_half_the_batch_size(tmp_path: Path) -> None:
    queue = JobQueue(tmp_path / "runs")
    shrinking = queue.submit(FakeSpec(kind="fail", fail="memory", overrides={"batch_size": 32}))
    hopeless = queue.submit(FakeSpec(kind="fail", fail="memory", overrides={"batch_size": 32}), max_attempts=1)
    Worker(queue.root, ["cpu"], once=True, job_runner=fake_runner, **FAST).run()
    done = queue.get(shrinking.id)
    assert done.state == "succeeded" and done.attempts == 2 and done.spec["overrides"]["batch_size"] == 8
    assert json.loads((queue.root / done.run_id / "summary.json").read_text()) == {"batch_size": 8}
    failed = queue.get(hopeless.id)
    assert failed.state == "failed"
    assert failed.error == "out of memory (MemoryError); the job log has the details"


@pytest.mark.slow  # worker and job processes each import torch
def test_cancel_stops_a_running_job(tmp_path: Path) -> None:
    queue = JobQueue(tmp_path / "runs")
    job = queue.submit(FakeSpec(kind="epochs", epochs=100, epoch_s=1.0))
    thread = _worker_thread(Worker(queue.root, ["cpu"], once=True, job_runner=fake_runner, **FAST))
    wait_for(lambda: queue.get(job.id).progress.get("batch"), 60, "the job to report progress")
    pid = queue.get(job.id).pid
    asked = time.monotonic()
    queue.request_cancel(job.id)
    wait_for(lambda: queue.get(job.id).state == "cancelled", 30, "the job to be cancelled")
    print(f"\ncancel took {time.monotonic() - asked:.2f} s")
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert not _alive(pid)
    cancelled = queue.get(job.id)
    assert cancelled.error == "cancelled by user" and cancelled.progress["epoch"] < 100
    assert "stopping in epoch" in Path(cancelled.log_path).read_text()


@pytest.mark.slow  # worker and job processes each import torch
def test_worker_sigterm_requeues_the_job_and_the_next_worker_resumes_it(tmp_path: Path) -> None:
    queue = JobQueue(tmp_path / "runs")
    job = queue.submit(FakeSpec(kind="epochs", epochs=4, epoch_s=0.8))
    worker = start_worker(queue.root, FAKE_RUNNER, "--heartbeat-s", "0.2", log=tmp_path / "worker.log")
    try:
        wait_for(lambda: _fake_state(queue, job.id).get("epoch", 0) >= 1, 60, "one finished epoch")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    finally:
        kill_group(worker)
    interrupted = queue.get(job.id)
    assert interrupted.state == "queued" and interrupted.attempts == 0
    assert "interrupted (SIGTERM received)" in interrupted.error
    saved_epoch = _fake_state(queue, job.id)["epoch"]
    assert 1 <= saved_epoch < 4
    Worker(queue.root, ["cpu"], once=True, job_runner=fake_runner, **FAST).run()
    done = queue.get(job.id)
    assert done.state == "succeeded" and done.run_id == interrupted.run_id
    summary = json.loads((queue.root / done.run_id / "summary.json").read_text())
    assert summary == {"epochs": 4, "total": expected_total(4), "starts": 2}  # resumed, not restarted


@pytest.mark.slow  # worker and job processes each import torch
def test_killed_worker_job_is_detected_as_orphan_requeued_and_resumed(tmp_path: Path) -> None:
    queue = JobQueue(tmp_path / "runs")
    job = queue.submit(FakeSpec(kind="epochs", epochs=4, epoch_s=0.8))
    worker = start_worker(queue.root, FAKE_RUNNER, "--heartbeat-s", "0.2", log=tmp_path / "worker.log")
    try:
        wait_for(lambda: _fake_state(queue, job.id).get("epoch", 0) >= 1, 60, "one finished epoch")
        child = queue.get(job.id).pid
    finally:
        kill_group(worker)  # SIGKILL worker and job process: nobody records anything
    killed_at = time.monotonic()
    wait_for(lambda: not _alive(child), 10, "the job process to be gone")
    assert queue.get(job.id).state == "running"  # stale row: only the heartbeat tells
    rescuer = Worker(queue.root, ["cpu"], max_jobs=1, job_runner=fake_runner, orphan_timeout_s=2.0, **FAST)
    thread = _worker_thread(rescuer)
    wait_for(lambda: queue.get(job.id).worker_id == rescuer.worker_id, 30, "the orphan to be re-claimed")
    detected_after = time.monotonic() - killed_at
    thread.join(timeout=60)
    assert not thread.is_alive()
    print(f"\norphan re-claimed {detected_after:.2f} s after the kill (timeout 2 s)")
    assert 2.0 <= detected_after < 15.0
    done = queue.get(job.id)
    assert done.state == "succeeded" and done.attempts == 1 and rescuer.report.orphans_requeued == [job.id]
    summary = json.loads((queue.root / done.run_id / "summary.json").read_text())
    assert summary == {"epochs": 4, "total": expected_total(4), "starts": 2}
    for path in (queue.root / done.run_id).rglob("*.json"):
        json.loads(path.read_text())  # nothing half-written
    assert not list((queue.root / done.run_id).rglob("*.tmp"))


@pytest.mark.slow  # worker and job processes each import torch
def test_two_worker_processes_run_each_of_20_jobs_exactly_once(tmp_path: Path) -> None:
    queue = JobQueue(tmp_path / "runs")
    marker = tmp_path / "marker.txt"
    ids = [queue.submit(FakeSpec(marker=str(marker)), owner=f"user{i % 4}").id for i in range(20)]  # 5 each
    workers = [start_worker(queue.root, FAKE_RUNNER, "--once", "--heartbeat-s", "0.2", log=tmp_path / f"w{i}.log")
               for i in range(2)]
    try:
        for worker in workers:
            assert worker.wait(timeout=100) == 0
    finally:
        for worker in workers:
            kill_group(worker)
    lines = marker.read_text().split("\n")[:-1]
    ran = sorted(int(line.split()[0]) for line in lines)
    assert ran == sorted(ids)  # each job exactly once
    assert all(queue.get(i).state == "succeeded" for i in ids)
    workers_used = {queue.get(i).worker_id for i in ids}
    print(f"\n20 jobs by {len(workers_used)} worker(s)")
