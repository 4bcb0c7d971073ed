"""A batch update the 1 s progress-write throttle holds back still reaches the queue (the heartbeat writes it):
before, a job whose next event came later than its last held-back batch showed no batch at all for that stretch
(and a fast Ray test missed the mid-epoch moment it waited for)."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

from fer_engine.jobs import JobQueue
from fer_engine.jobs.run_job import JobProcess


def test_a_held_back_batch_update_is_written_by_the_next_heartbeat(tmp_path: Path, monkeypatch) -> None:
    # In-process, the job's stdout tee into run.log would fight pytest's capture; it is not what is tested here.
    monkeypatch.setattr(JobProcess, "_run_log", lambda self, run: contextlib.nullcontext())
    queue = JobQueue(tmp_path / "runs")
    job = queue.submit({"name": "progress-check", "steps": ["train"], "data_path": str(tmp_path / "unused.csv")})
    claimed = queue.claim("test-worker", ["cpu"])
    assert claimed is not None and claimed.id == job.id
    seen: dict[str, object] = {}

    def runner(spec: dict, *, run, on_event, should_stop):
        on_event({"event": "epoch", "stage": "train", "epoch": 1, "total_epochs": 3, "val_accuracy": 0.4})
        on_event({"event": "train_batch", "stage": "train", "epoch": 2, "batch": 10, "steps_per_epoch": 20,
                  "total_epochs": 3})  # within 1 s of the forced epoch write: held back
        seen["right_after"] = queue.get(job.id).progress.get("batch")
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline and queue.get(job.id).progress.get("batch") != 10:
            time.sleep(0.05)
        seen["later"] = queue.get(job.id).progress.get("batch")
        seen["epoch"] = queue.get(job.id).progress.get("epoch")
        return run

    state = JobProcess(queue, job.id, claimed.lease, runner=runner, heartbeat_s=0.2).run()
    assert state == "succeeded"
    assert seen["right_after"] is None  # the throttle held it back...
    assert seen["later"] == 10 and seen["epoch"] == 2  # ...and the heartbeat wrote it while the job still ran
