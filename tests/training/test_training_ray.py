"""A 2-device job through `fer worker --backend ray`: Ray Train's TorchTrainer runs 2 CPU workers (gloo), the trainer
joins the process group Ray set up, and the result equals a single-process run with the same global batch (the
torchrun test's model, data and config: tests/training/test_training_ddp.py)."""

from __future__ import annotations

import json
import os
import sys
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import pytest
import torch

from fer_engine.runs.layout import RunPaths
from fer_engine.training import train

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@dataclass
class RankReportSpec:
    """The job's spec: where each rank writes what it saw (the runner below trains a fixed tiny config)."""

    out: str
    name: str = "ray-ddp"

    def validate(self) -> "RankReportSpec":
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def ddp_runner(spec: dict[str, Any], *, run: RunPaths, on_event: Callable, should_stop: Callable) -> RunPaths:
    """Job runner run by every Ray Train worker: train the torchrun test's config, report this rank's view."""
    sys.path.insert(0, str(HERE))
    from _ddp_train_worker import CONFIG, tiny_dataset

    steps: list[int] = []
    result = train(CONFIG, tiny_dataset(), run, should_stop=should_stop,
                   on_epoch=lambda record: on_event({"event": "epoch", "stage": "train", "epoch": record["epoch"],
                                                     "total_epochs": CONFIG.epochs}),
                   on_step=lambda epoch, step, total, loss: steps.append(step), step_interval=1)
    checksum = sum(float(p.detach().double().sum()) for p in result.final_model.parameters())
    rank = int(os.environ["RANK"])
    (Path(spec["out"]) / f"rank{rank}.json").write_text(json.dumps({
        "rank": rank, "world_size": result.summary["world_size"], "steps": len(steps), "status": result.status,
        "checksum": checksum, "pid": os.getpid(),
    }))
    return run


def test_two_worker_torch_trainer_job_matches_single_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("ray")
    from fer_engine.jobs import JobQueue, Worker
    from fer_engine.jobs.ray_backend import LocalCluster, RayTarget

    path = os.pathsep.join([str(REPO), str(HERE)])
    monkeypatch.setenv("PYTHONPATH", path)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.syspath_prepend(str(HERE))
    queue = JobQueue(tmp_path / "runs")
    job = queue.submit(RankReportSpec(out=str(tmp_path)), num_devices=2)
    with LocalCluster(num_cpus=2, env={"PYTHONPATH": path, "OMP_NUM_THREADS": "1"},
                      log_path=tmp_path / "cluster.log") as cluster:
        worker = Worker(queue.root, once=True, job_runner=f"{__name__}:ddp_runner", ray=RayTarget(cluster.address),
                        ray_workers=2, heartbeat_s=0.3, poll_s=0.1)
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

    from _ddp_train_worker import CONFIG, tiny_dataset

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        single = RunPaths(tmp_path / "single")
        train(CONFIG, tiny_dataset(), single)
    finally:
        torch.set_num_threads(previous)
    for mine, theirs in zip(records, single.read_metrics()):
        for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr"):
            assert mine[key] == pytest.approx(theirs[key], rel=1e-5, abs=1e-6), key
    final = torch.load(distributed.resume_state, weights_only=True)["model"]
    reference = torch.load(single.resume_state, weights_only=True)["model"]
    initial = _initial_weights(CONFIG)
    moved = 0.0
    for name, tensor in reference.items():
        assert torch.allclose(final[name], tensor, atol=1e-5), name
        moved = max(moved, float((tensor - initial[name]).abs().max()))
    assert moved > 1e-3  # training changed the weights far more than the tolerance


def _initial_weights(config) -> dict[str, torch.Tensor]:
    from fer_engine.models import create_model

    torch.manual_seed(config.seed)
    return create_model(config.arch, input_size=config.input_size).state_dict()
