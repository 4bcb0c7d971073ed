"""Issue 19 for jobs: every job has an owner, only they (or an admin) cancel/retry it, job sizes and queued
jobs per user are capped, old index files are migrated, and a job's shared error is one safe line."""

from __future__ import annotations

import getpass
import sqlite3
from pathlib import Path

import pytest

from fer_engine.errors import ConfigError, DataError
from fer_engine.jobs import JobQueue
from fer_engine.jobs.owners import JobPermissionError
from fer_engine.jobs.reasons import job_reason
from fer_engine.pipeline import PipelineSpec
from support.runners import FakeSpec


@pytest.fixture
def queue(tmp_path: Path) -> JobQueue:
    return JobQueue(tmp_path / "runs")


def test_a_job_records_who_queued_it(queue: JobQueue) -> None:
    assert queue.submit(FakeSpec()).owner == getpass.getuser()  # the CLI's default: the OS user
    alice = queue.submit(FakeSpec(), owner="alice")
    assert queue.get(alice.id).owner == "alice" and alice.to_dict()["owner"] == "alice"
    with pytest.raises(ConfigError, match="owner"):
        queue.submit(FakeSpec(), owner="  ")


def test_only_the_owner_or_an_admin_cancels_or_retries(queue: JobQueue, monkeypatch: pytest.MonkeyPatch) -> None:
    job = queue.submit(FakeSpec(), owner="alice")
    with pytest.raises(JobPermissionError, match="another user"):
        queue.request_cancel(job.id, user="bob")
    assert queue.get(job.id).state == "queued"
    assert queue.request_cancel(job.id, user="alice").state == "cancelled"
    with pytest.raises(JobPermissionError):
        queue.retry(job.id, user="bob")
    assert queue.get(job.id).state == "cancelled"
    assert queue.retry(job.id, user="local").state == "queued"  # the localhost session is an admin by default
    with pytest.raises(JobPermissionError):
        queue.request_cancel(job.id, user="carol")
    monkeypatch.setenv("FER_ADMINS", "carol, dave")
    assert queue.request_cancel(job.id, user="carol").state == "cancelled"
    assert queue.retry(job.id).state == "queued"  # no user: the machine's operator (the CLI)


def test_queued_jobs_per_user_are_capped_by_default_and_by_setting(queue: JobQueue,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    jobs = [queue.submit(FakeSpec(), owner="alice") for _ in range(10)]
    with pytest.raises(ConfigError, match="alice already has 10 queued jobs.*FER_JOB_MAX_QUEUED_PER_USER"):
        queue.submit(FakeSpec(), owner="alice")
    assert queue.submit(FakeSpec(), owner="bob").state == "queued"  # another user's quota is separate
    queue.request_cancel(jobs[0].id, user="alice")
    queue.submit(FakeSpec(), owner="alice")  # room again
    with pytest.raises(ConfigError, match="queued jobs"):
        queue.retry(jobs[0].id, user="alice")  # a retry queues a job too
    monkeypatch.setenv("FER_JOB_MAX_QUEUED_PER_USER", "2")
    queue.submit(FakeSpec(), owner="bob")
    with pytest.raises(ConfigError, match="bob already has 2 queued"):
        queue.submit(FakeSpec(), owner="bob")
    assert queue.counts()["queued"] == 12


@pytest.mark.parametrize("spec, message", [
    (dict(overrides={"epochs": 1_000_000}), "epochs=1000000 is above this server's cap of 500"),
    (dict(n_iter=1_000_000, search=True), "n_iter .* above .* cap of 200"),
    (dict(limit=5_000_000), "limit .* above .* cap of 1000000"),
    (dict(max_train=5_000_000), "max_train .* above"),
    (dict(cv=100), "cv .* above .* cap of 20"),
])
def test_job_sizes_are_capped_when_queued(queue: JobQueue, spec: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        queue.submit(PipelineSpec(data_path="fer2013.csv", preset="fast_cpu", **spec))
    assert queue.list() == []


def test_caps_come_from_the_environment(queue: JobQueue, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = PipelineSpec(data_path="fer2013.csv", preset="paper")  # the paper's 75 epochs
    spec.validate()
    monkeypatch.setenv("FER_JOB_MAX_EPOCHS", "50")
    with pytest.raises(ConfigError, match="epochs=75 .* cap of 50 .*FER_JOB_MAX_EPOCHS"):
        queue.submit(spec)
    monkeypatch.setenv("FER_JOB_MAX_EPOCHS", "lots")
    with pytest.raises(ConfigError, match="FER_JOB_MAX_EPOCHS must be a whole number"):
        spec.validate()


def test_an_index_from_before_owners_is_migrated(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    root.mkdir()
    with sqlite3.connect(root / "index.sqlite") as old:  # the jobs table as the first release created it
        old.executescript("""
            CREATE TABLE jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL DEFAULT '',
              spec_json TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'queued', num_devices INTEGER NOT NULL DEFAULT 1,
              created_at REAL NOT NULL, started_at REAL, finished_at REAL, worker_id TEXT, pid INTEGER, host TEXT,
              device TEXT, heartbeat_at REAL, progress_json TEXT NOT NULL DEFAULT '{}',
              attempts INTEGER NOT NULL DEFAULT 0, max_attempts INTEGER NOT NULL DEFAULT 3, error TEXT,
              log_path TEXT, run_id TEXT, cancel_requested INTEGER NOT NULL DEFAULT 0, lease TEXT);
            INSERT INTO jobs (name, spec_json, created_at) VALUES ('old', '{}', 1.0);""")
    queue = JobQueue(root)
    assert [(job.name, job.owner) for job in queue.list()] == [("old", "local")]
    JobQueue(root)  # a second open finds the column and changes nothing
    new = queue.submit(FakeSpec(), owner="alice")
    assert [job.owner for job in queue.list()] == ["alice", "local"] and new.owner == "alice"
    with sqlite3.connect(root / "index.sqlite") as check:
        indexes = [row[1] for row in check.execute("PRAGMA index_list(jobs)")]
    assert "jobs_by_owner" in indexes


def test_a_job_error_shown_to_users_is_one_safe_line(tmp_path: Path) -> None:
    leak = ValueError("Expected 2 columns, got 3: AWS_SECRET_ACCESS_KEY,abc,def\n  File /srv/secret.csv")
    assert job_reason(leak) == "internal error (ValueError); the job log has the details"
    assert job_reason(DataError("dataset is not a FER2013 csv\nrow 3: a,b,c")) == "dataset is not a FER2013 csv"
    assert job_reason(DataError("bad \x1b[31mred\x1b[0m name")) == "bad [31mred[0m name"
    no_space = OSError(28, "No space left on device", str(tmp_path / "state" / "last.pt"))
    assert job_reason(no_space) == "No space left on device (the job log has the details)"
    assert len(job_reason(DataError("x" * 5000))) == 300
