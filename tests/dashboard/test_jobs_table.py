"""A job reads the same in `fer jobs list|show` and in the Train page's jobs table: both use `fer_engine.jobs.summary`."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard.components.jobs_view import jobs_frame
from fer_engine.cli import main as cli
from fer_engine.jobs.progress import progress_fraction
from fer_engine.jobs.queue import FAILED, JobQueue
from fer_engine.jobs.summary import LOG_TAIL_BYTES, job_summary, log_tail
from support.runners import FakeSpec

TRAINING = {"step": "train", "epoch": 2, "total_epochs": 8, "metrics": {"val_loss": 1.25}}


@pytest.fixture
def queue(tmp_path: Path) -> JobQueue:
    return JobQueue(tmp_path / "runs")


def test_running_job_with_a_pending_cancel(queue: JobQueue, capsys: pytest.CaptureFixture) -> None:
    job = queue.submit(FakeSpec(name="cnn"))
    claimed = queue.claim("w1", ["cpu"])
    assert claimed is not None and claimed.id == job.id
    assert queue.update_progress(job.id, TRAINING, lease=claimed.lease)
    queue.request_cancel(job.id)

    summary = job_summary(queue.get(job.id))
    assert summary.state == "running (cancelling)"
    assert summary.fraction == pytest.approx(2 / 8)
    assert summary.progress == "train · epoch 2/8 · val_loss 1.25"
    assert (summary.name, summary.device, summary.attempts.endswith("/3")) == ("cnn", "cpu", True)

    row = jobs_frame([queue.get(job.id)]).iloc[0]
    assert (row["state"], row["detail"], row["progress"]) == (summary.state, summary.progress, summary.fraction)

    assert cli.main(["jobs", "list", "--runs-root", str(queue.root)]) == 0
    listed = capsys.readouterr().out
    assert "running (cancelling)" in listed and summary.progress in listed
    assert cli.main(["jobs", "show", str(job.id), "--runs-root", str(queue.root)]) == 0
    assert f"progress: {summary.progress}" in capsys.readouterr().out


def test_failed_job_error_is_one_short_line(queue: JobQueue, capsys: pytest.CaptureFixture) -> None:
    job = queue.submit(FakeSpec())
    claimed = queue.claim("w1", ["cpu"])
    assert claimed is not None
    reason = "dataset is not a FER2013 csv " + "x" * 400 + "\nsecond line"
    assert queue.finish(job.id, FAILED, reason, lease=claimed.lease)

    failed = queue.get(job.id)
    summary = job_summary(failed)
    assert "\n" not in summary.error and summary.error.startswith("dataset is not a FER2013 csv")
    assert len(summary.error) <= 300 and summary.fraction is None
    assert len(job_summary(failed, error_chars=60).error) == 60
    assert jobs_frame([failed]).iloc[0]["error"] == summary.error

    assert cli.main(["jobs", "list", "--runs-root", str(queue.root)]) == 0
    assert "second line" not in capsys.readouterr().out


@pytest.mark.parametrize(("progress", "state", "expected"), [
    (None, "queued", None),
    ({}, "succeeded", 1.0),
    ({"step": "heads", "fraction": 0.5}, "running", 0.5),
    ({"step": "heads", "epoch": 8, "total_epochs": 8}, "running", None),  # epochs measure the train step only
    ({"step": "train", "epoch": 9, "total_epochs": 8}, "running", 1.0),
])
def test_progress_fraction(progress: dict | None, state: str, expected: float | None) -> None:
    assert progress_fraction(progress, state) == expected


def test_log_tail_reads_only_the_end(tmp_path: Path) -> None:
    log = tmp_path / "job.log"
    assert log_tail(log) == "" and log_tail(None) == ""
    log.write_text("".join(f"line {i}\n" for i in range(LOG_TAIL_BYTES // 4)))
    tail = log_tail(log, lines=3)
    last = LOG_TAIL_BYTES // 4 - 1
    assert tail.splitlines() == [f"line {last - 2}", f"line {last - 1}", f"line {last}"]
    assert "line 0\n" not in log_tail(log, lines=10**6)  # bounded by bytes, not by the caller's line count
