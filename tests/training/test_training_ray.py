"""A 2-device job through `fer worker --backend ray`: Ray Train's TorchTrainer runs 2 CPU workers (gloo), the trainer
joins the process group Ray set up, and the result equals a single-process run with the same global batch (the
torchrun test's model, data and config: tests/training/test_training_ddp.py)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from support.processes import importable_path

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def test_two_worker_torch_trainer_job_matches_single_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("ray")
    from fer_engine.jobs import JobQueue, Worker
    from fer_engine.jobs.ray_backend import LocalCluster, RayTarget
    from support.ddp_train_worker import RankReportSpec, assert_same_training, single_process_run

    path = importable_path()
    monkeypatch.setenv("PYTHONPATH", path)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    queue = JobQueue(tmp_path / "runs")
    job = queue.submit(RankReportSpec(out=str(tmp_path)), num_devices=2)
    with LocalCluster(num_cpus=2, env={"PYTHONPATH": path, "OMP_NUM_THREADS": "1"},
                      log_path=tmp_path / "cluster.log") as cluster:
        worker = Worker(queue.root, once=True, job_runner="support.ddp_train_worker:ddp_runner",
                        ray=RayTarget(cluster.address), ray_workers=2, heartbeat_s=0.3, poll_s=0.1)
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        thread.join(timeout=600)
        assert not thread.is_alive()
    done = queue.get(job.id)
    log = Path(done.log_path).read_text()
    assert done.state == "succeeded", (done.error, log[-4000:])
    assert done.device == "ray,ray" and done.progress["epoch"] == 1  # rank 0's events reached the queue

    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    # Global batch 14 = 7 images per rank; 56 train images -> 4 steps per epoch on every rank.
    assert [r["world_size"] for r in ranks] == [2, 2] and [r["steps"] for r in ranks] == [4, 4]
    assert all(r["status"] == "succeeded" for r in ranks) and ranks[0]["pid"] != ranks[1]["pid"]
    assert ranks[0]["checksum"] == pytest.approx(ranks[1]["checksum"], rel=1e-6)  # gradients were all-reduced

    distributed = queue.store.paths(done.run_id)
    records = distributed.read_metrics()
    assert [r["epoch"] for r in records] == [1]  # one writer: no duplicate lines
    assert distributed.read_summary()["world_size"] == 2

    assert_same_training(distributed, single_process_run(tmp_path / "single"))
