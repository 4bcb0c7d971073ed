"""The job queue's state machine, without processes: submit, claim, leases, cancel, retry, orphans, progress."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from fer_engine.errors import ConfigError
from fer_engine.jobs.progress import ProgressTracker
from fer_engine.jobs.queue import JobNotFoundError, JobQueue
from fer_engine.runs.store import RunStore
from support.runners import FakeSpec


@pytest.fixture
def queue(tmp_path) -> JobQueue:
    return JobQueue(tmp_path / "runs")


def test_jobs_table_lives_in_the_run_index(queue: JobQueue) -> None:
    with sqlite3.connect(RunStore(queue.root).db_path) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"runs", "jobs", "workers"} <= tables


def test_submit_validates_and_queues(queue: JobQueue) -> None:
    with pytest.raises(ConfigError, match="unknown fake job kind"):
        queue.submit(FakeSpec(kind="nonsense"))
    with pytest.raises(ConfigError, match="at least one device"):
        queue.submit(FakeSpec(), num_devices=0)
    job = queue.submit(FakeSpec(marker="m", name="first"))
    assert job.state == "queued" and job.name == "first" and job.spec["marker"] == "m"
    assert job.log_path.endswith(f"jobs/{job.id}.log")
    assert queue.counts()["queued"] == 1


def test_claim_takes_oldest_fitting_job_once(queue: JobQueue) -> None:
    big = queue.submit(FakeSpec(), num_devices=2)
    small = queue.submit(FakeSpec())
    first = queue.claim("w1", ["cpu"])
    assert first is not None and first.id == small.id  # the 2-device job does not fit one free device
    assert first.state == "running" and first.worker_id == "w1" and first.device == "cpu" and first.lease
    assert queue.claim("w2", ["cpu"]) is None
    second = queue.claim("w2", ["cuda:0", "cuda:1"])
    assert second is not None and second.id == big.id and second.devices == ["cuda:0", "cuda:1"]


def test_concurrent_claims_never_share_a_job(queue: JobQueue) -> None:
    ids = {queue.submit(FakeSpec(), owner=f"user{i % 5}").id for i in range(30)}  # 6 each: under the cap
    claimed: list[int] = []
    lock = threading.Lock()

    def claim_all(worker: str) -> None:
        while (job := queue.claim(worker, ["cpu"])) is not None:
            with lock:
                claimed.append(job.id)

    threads = [threading.Thread(target=claim_all, args=(f"w{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(claimed) == sorted(ids)  # every job once, none twice


def test_lease_guards_late_writers(queue: JobQueue) -> None:
    queue.submit(FakeSpec())
    job = queue.claim("w1", ["cpu"])
    assert not queue.finish(job.id, "succeeded", lease="not-the-lease")
    assert queue.update_progress(job.id, {"epoch": 1}, lease=job.lease)
    assert queue.finish(job.id, "failed", "boom", lease=job.lease)
    assert not queue.update_progress(job.id, {"epoch": 2}, lease=job.lease)  # finished: no more writes
    done = queue.get(job.id)
    assert done.state == "failed" and done.error == "boom" and done.progress == {"epoch": 1}
    assert done.finished_at is not None


def test_cancel_queued_now_and_running_by_request(queue: JobQueue) -> None:
    first = queue.submit(FakeSpec())
    second = queue.submit(FakeSpec())
    assert queue.claim("w", ["cpu"]).id == first.id  # first runs, second stays queued
    assert queue.request_cancel(second.id).state == "cancelled"
    running = queue.request_cancel(first.id)
    assert running.state == "running" and running.cancel_requested
    assert queue.cancel_requests([first.id, second.id]) == {first.id}  # only running jobs need stopping
    with pytest.raises(ConfigError, match="already cancelled"):
        queue.request_cancel(second.id)
    with pytest.raises(JobNotFoundError):
        queue.request_cancel(999)


def test_retry_only_failed_or_cancelled(queue: JobQueue) -> None:
    job = queue.submit(FakeSpec())
    with pytest.raises(ConfigError, match="only failed or cancelled"):
        queue.retry(job.id)
    claimed = queue.claim("w", ["cpu"])
    queue.finish(claimed.id, "failed", "boom", lease=claimed.lease)
    again = queue.retry(job.id)
    assert again.state == "queued" and again.error is None and again.attempts == 0


def test_orphans_requeued_then_failed_when_attempts_exhausted(queue: JobQueue) -> None:
    job = queue.submit(FakeSpec(), max_attempts=2)
    claimed = queue.claim("w", ["cpu"])
    assert queue.requeue_orphans(timeout_s=60) == []  # fresh heartbeat: not an orphan
    queue.store.write(lambda c: c.execute("UPDATE jobs SET heartbeat_at = ? WHERE id = ?", (time.time() - 100, job.id)))
    [requeued] = queue.requeue_orphans(timeout_s=60)
    assert requeued.state == "queued" and requeued.attempts == 1 and "heartbeats" in requeued.error
    assert not queue.finish(job.id, "succeeded", lease=claimed.lease)  # the lost process cannot record anything
    queue.claim("w", ["cpu"])
    queue.store.write(lambda c: c.execute("UPDATE jobs SET heartbeat_at = ? WHERE id = ?", (time.time() - 100, job.id)))
    [failed] = queue.requeue_orphans(timeout_s=60)
    assert failed.state == "failed" and failed.attempts == 2 and "gave up after 2" in failed.error


def test_live_workers_by_heartbeat(queue: JobQueue) -> None:
    queue.register_worker("w1", ["cpu"], pid=1, host="a")
    queue.register_worker("w2", ["cuda:0"], pid=2, host="b")
    queue.store.write(lambda c: c.execute("UPDATE workers SET heartbeat_at = 0 WHERE worker_id = 'w2'"))
    assert [w.worker_id for w in queue.live_workers(30)] == ["w1"]
    assert queue.live_workers(30, host="b") == []
    queue.unregister_worker("w1")
    assert queue.live_workers(30) == []


def test_progress_tracker_eta_from_this_attempts_pace() -> None:
    clock = iter([0.0, 10.0, 20.0]).__next__
    tracker = ProgressTracker(clock=clock)
    tracker.update({"stage": "train", "epoch": 1, "total_epochs": 4, "batch": 0, "steps_per_epoch": 10})
    tracker.update({"epoch": 2, "batch": 5, "train_loss": 0.7})  # 1.5 of 4 epochs done after 10 s
    progress = tracker.update({"event": "epoch", "epoch": 2, "val_accuracy": 0.5})  # 2 of 4 done at t=20
    assert progress.step == "train" and progress.epoch == 2 and progress.total_epochs == 4
    assert progress.fraction == pytest.approx(0.5)
    assert progress.eta_seconds == pytest.approx(20.0)  # 2 epochs left at 10 s each
    assert progress.metrics == {"train_loss": 0.7, "val_accuracy": 0.5}
