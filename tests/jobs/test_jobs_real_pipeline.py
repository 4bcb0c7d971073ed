"""Jobs that run the real pipeline on a tiny generated dataset (vgg19_bn_quarter, a few CPU epochs): success,
failures found only at run time, and a SIGKILLed worker whose training resumes and ends exactly like an
uninterrupted run."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
import torch

import fer_engine.cli.main as cli
from fer_engine.data.synthetic import write_image_folder
from fer_engine.jobs import JobQueue, Worker
from support.processes import kill_group, start_worker, wait_for

pipeline = pytest.importorskip("fer_engine.pipeline")
pytestmark = pytest.mark.timeout(600)  # job processes import torch + the pipeline; slow on a loaded machine

FAST = dict(heartbeat_s=0.3, poll_s=0.1, grace_s=60.0)
TIMING_KEYS = {"epoch_seconds", "train_seconds", "images_per_second", "elapsed_seconds"}


@pytest.fixture
def tiny_zip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # job processes inherit it: 2 shared cores, no oversubscription
    return write_image_folder(tmp_path / "tiny", {"train": 4, "val": 2}, as_zip=True)


def _spec(data: Path, *, epochs: int, steps: list[str], heads: list[str] | None = None, **overrides) -> dict:
    return pipeline.PipelineSpec(
        data_path=str(data), preset="fast_cpu", steps=steps, heads=heads or [], name="tiny",
        overrides={"arch": "vgg19_bn_quarter", "epochs": epochs, "batch_size": 14, "device": "cpu",
                   "precision": "fp32", "channels_last": False, "warmup_epochs": 0.0, **overrides},
    ).to_dict()


def _epochs_without_timing(run_root: Path) -> list[dict]:
    lines = [json.loads(line) for line in (run_root / "metrics.jsonl").read_text().splitlines() if line.strip()]
    return [{k: v for k, v in line.items() if k not in TIMING_KEYS} for line in lines]


@pytest.mark.slow  # real training in job processes
def test_real_pipeline_job_trains_embeds_fits_and_reports(tmp_path: Path, tiny_zip: Path) -> None:
    queue = JobQueue(tmp_path / "runs")
    job = queue.submit(_spec(tiny_zip, epochs=1, steps=["train", "embed", "heads", "evaluate", "report"],
                             heads=["svm"]))
    Worker(queue.root, ["cpu"], once=True, **FAST).run()
    done = queue.get(job.id)
    assert done.state == "succeeded", done.error
    run = queue.store.paths(done.run_id)
    assert queue.store.get(done.run_id).status == "succeeded"
    assert run.read_summary()["epochs_completed"] == 1
    assert (run.checkpoint_dir / "model.safetensors").is_file() and run.report_markdown.is_file()
    assert done.progress["epoch"] == 1 and done.progress["total_epochs"] == 1
    assert "job" in run.log_file.read_text() and "epoch 1/1" in Path(done.log_path).read_text()
    assert queue.store.get(done.run_id).arch == "vgg19_bn_quarter"


@pytest.mark.slow  # real training in job processes
def test_problems_found_only_at_run_time_fail_the_job_with_the_reason(tmp_path: Path, tiny_zip: Path) -> None:
    queue = JobQueue(tmp_path / "runs")
    missing = queue.submit(_spec(tmp_path / "absent.zip", epochs=1, steps=["train"]))
    cuda = None if torch.cuda.is_available() else queue.submit(_spec(tiny_zip, epochs=1, steps=["train"],
                                                                     device="cuda"))
    started = time.monotonic()
    Worker(queue.root, ["cpu"], once=True, **FAST).run()
    print(f"\ntwo failing jobs served in {time.monotonic() - started:.1f} s")
    failed = queue.get(missing.id)
    assert failed.state == "failed" and "absent.zip" in failed.error and "Traceback" not in failed.error
    if cuda is not None:
        cuda_failed = queue.get(cuda.id)
        assert cuda_failed.state == "failed" and "CUDA" in cuda_failed.error


def test_submit_validates_pipeline_specs(tmp_path: Path, tiny_zip: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("jobs",))
    root = str(tmp_path / "runs")
    assert cli.main(["jobs", "submit", "--preset", "fast_cpu", "--data", str(tiny_zip), "--steps", "train",
                     "--set", "epochs=1", "--set", "warmup_epochs=0", "--set", "arch=vgg19_bn_quarter",
                     "--runs-root", root]) == 0
    [job] = JobQueue(root).list()
    assert job.spec["overrides"] == {"epochs": 1, "warmup_epochs": 0, "arch": "vgg19_bn_quarter"} and job.spec["steps"] == ["train"]
    assert cli.main(["jobs", "submit", "--preset", "nope", "--data", str(tiny_zip), "--runs-root", root]) == 2
    assert cli.main(["jobs", "submit", "--data", str(tiny_zip), "--set", "not_a_field=1", "--runs-root", root]) == 2
    assert "fer: error:" in capsys.readouterr().err
    assert len(JobQueue(root).list()) == 1  # invalid specs never reach the queue


@pytest.mark.slow
def test_sigkilled_worker_training_resumes_and_matches_an_uninterrupted_run(tmp_path: Path, tiny_zip: Path) -> None:
    epochs = 5
    reference_queue = JobQueue(tmp_path / "reference")
    reference = reference_queue.submit(_spec(tiny_zip, epochs=epochs, steps=["train"]))
    Worker(reference_queue.root, ["cpu"], once=True, **FAST).run()
    reference_run = reference_queue.root / reference_queue.get(reference.id).run_id

    queue = JobQueue(tmp_path / "runs")
    job = queue.submit(_spec(tiny_zip, epochs=epochs, steps=["train"]))
    worker = start_worker(queue.root, "fer_engine.jobs.runners:run_pipeline_job", "--heartbeat-s", "0.3",
                          log=tmp_path / "worker.log")

    def epochs_logged() -> int:
        run_id = queue.get(job.id).run_id
        path = queue.root / run_id / "metrics.jsonl" if run_id else None
        return len(path.read_text().splitlines()) if path and path.exists() else 0

    try:
        wait_for(lambda: epochs_logged() >= 2, 200, "two finished epochs")
    finally:
        kill_group(worker)  # SIGKILL the worker and its job process mid-training
    killed_at = time.monotonic()
    run_root = queue.root / queue.get(job.id).run_id
    from fer_engine.training.resume_state import load_resume_state

    saved_epoch = load_resume_state(run_root / "state" / "last.pt", torch.device("cpu"))["progress"].epoch
    assert 1 <= saved_epoch < epochs
    assert queue.get(job.id).state == "running"  # only the stale heartbeat tells

    rescuer = Worker(queue.root, ["cpu"], max_jobs=1, orphan_timeout_s=3.0, **FAST)
    thread = threading.Thread(target=rescuer.run, daemon=True)
    thread.start()
    wait_for(lambda: queue.get(job.id).worker_id == rescuer.worker_id, 60, "the orphan to be re-claimed")
    detected_after = time.monotonic() - killed_at
    thread.join(timeout=240)
    assert not thread.is_alive()
    done = queue.get(job.id)
    assert done.state == "succeeded", done.error
    assert done.attempts == 1 and rescuer.report.orphans_requeued == [job.id]
    print(f"\norphan re-claimed {detected_after:.1f} s after SIGKILL (timeout 3 s); resumed after epoch {saved_epoch}")

    resumed, uninterrupted = _epochs_without_timing(run_root), _epochs_without_timing(reference_run)
    assert [line["epoch"] for line in resumed] == list(range(1, epochs + 1))
    assert resumed == uninterrupted  # same losses and accuracies, epoch by epoch
    from safetensors.torch import load_file

    resumed_weights = load_file(run_root / "checkpoint" / "model.safetensors")
    reference_weights = load_file(reference_run / "checkpoint" / "model.safetensors")
    assert all(torch.equal(resumed_weights[k], reference_weights[k]) for k in reference_weights)
    for path in run_root.rglob("*.json"):
        json.loads(path.read_text())  # nothing half-written
    load_resume_state(run_root / "state" / "last.pt", torch.device("cpu"))
    assert not list(run_root.rglob("*.tmp"))


@pytest.mark.slow
def test_cancel_stops_real_training_at_a_step_and_keeps_the_run_resumable(tmp_path: Path, tiny_zip: Path) -> None:
    queue = JobQueue(tmp_path / "runs")
    job = queue.submit(_spec(tiny_zip, epochs=30, steps=["train"]))
    worker = Worker(queue.root, ["cpu"], once=True, **FAST)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    wait_for(lambda: (queue.get(job.id).progress.get("epoch") or 0) >= 1, 200, "a trained epoch")
    asked = time.monotonic()
    queue.request_cancel(job.id)
    wait_for(lambda: queue.get(job.id).state == "cancelled", 120, "the job to be cancelled")
    print(f"\nreal training cancelled {time.monotonic() - asked:.1f} s after the request")
    thread.join(timeout=60)
    assert not thread.is_alive()
    done = queue.get(job.id)
    assert done.error == "cancelled by user" and done.progress["epoch"] < 30
    assert queue.store.get(done.run_id).status == "cancelled"
    from fer_engine.training.resume_state import load_resume_state

    state = load_resume_state(queue.root / done.run_id / "state" / "last.pt", torch.device("cpu"))
    assert 1 <= state["progress"].epoch < 30
