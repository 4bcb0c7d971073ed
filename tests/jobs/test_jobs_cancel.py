"""Cancel stops a real pipeline job within seconds in every step, including one long head fit (issue 14: the
heads step used to run to its end, 46 s, before a cancel took effect); the progress names the step it is in."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from fer_engine.data.synthetic import write_image_folder
from fer_engine.heads.fitting import head_record_file
from fer_engine.jobs import JobQueue, Worker
from fer_engine.jobs.progress import describe_progress
from fer_engine.pipeline import PipelineSpec
from support.processes import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def test_cancel_during_the_heads_step_stops_the_job_and_the_step_never_finishes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # job processes inherit it: 2 shared cores
    data = write_image_folder(tmp_path / "tiny", {"train": 4, "val": 2}, as_zip=True)
    queue = JobQueue(tmp_path / "runs")
    spec = PipelineSpec(
        data_path=str(data), preset="fast_cpu", steps=["train", "embed", "heads", "evaluate", "report"],
        heads=["rf"], head_params={"rf": {"n_estimators": 1_000_000}},  # one head fit that would take hours
        overrides={"arch": "vgg19_bn_quarter", "epochs": 1, "batch_size": 14, "device": "cpu", "precision": "fp32",
                   "warmup_epochs": 0.0}, name="cancel-me")
    job = queue.submit(spec, owner="alice")
    worker = Worker(queue.root, ["cpu"], heartbeat_s=0.5, poll_s=0.2)  # default grace periods, as users get them
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        in_heads = wait_for(lambda: (lambda j: j if j.progress.get("step") == "heads" else None)(queue.get(job.id)),
                            400, "the job to reach the heads step")
        assert "fitting rf (1 of 1)" in describe_progress(in_heads.progress), in_heads.progress
        assert "epoch" not in describe_progress(in_heads.progress)
        time.sleep(2.0)  # well inside the fit
        asked = time.monotonic()
        queue.request_cancel(job.id, user="alice")
        done = wait_for(lambda: (lambda j: j if j.finished else None)(queue.get(job.id)), 60, "the job to stop")
        stopped_after = time.monotonic() - asked
    finally:
        worker.request_stop()
        thread.join(timeout=120)
    print(f"cancel during the heads step: job {done.state} {stopped_after:.1f} s after the request")
    assert done.state == "cancelled", done.error
    assert stopped_after < 15.0  # a correctness bound (the fit alone would take hours), not a speed claim
    assert "heads" not in done.progress.get("steps_done", []) and done.progress["step"] == "heads"
    run = queue.store.paths(done.run_id)
    assert not head_record_file(run, "rf").exists()  # the step never finished
    assert queue.store.get(done.run_id).status == "cancelled"
    assert describe_progress(done.progress, done.state).startswith("stopped in heads")
