"""`fer worker --backend ray` against a real Ray cluster started on this machine (2 CPUs, 200 MB object store,
stopped afterwards): a real training job with its run folder, progress and log; cancel, retry and resume; a Ray
worker process SIGKILLed mid-epoch; an unreachable cluster; Ray missing; the refused multi-host set-up."""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

import fer_engine.cli.main as cli
from fer_engine.cli import worker_cmd
from fer_engine.data.synthetic import write_image_folder
from fer_engine.errors import FerError
from fer_engine.jobs import JobQueue, Worker
from fer_engine.jobs.ray_backend import RayTarget, free_port
from support.processes import importable_path, kill_group, start_worker, wait_for
from support.runners import FAKE_RUNNER, FakeSpec, expected_total

pipeline = pytest.importorskip("fer_engine.pipeline")
pytestmark = pytest.mark.timeout(900)

TIMING_KEYS = {"epoch_seconds", "train_seconds", "images_per_second", "elapsed_seconds"}
FAST = dict(heartbeat_s=0.3, poll_s=0.1, grace_s=60.0)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory):
    """A one-node Ray cluster on 127.0.0.1 whose workers can import the project and these tests' job runners."""
    ray_backend = pytest.importorskip("fer_engine.jobs.ray_backend")
    pytest.importorskip("ray")
    env = {"PYTHONPATH": importable_path(), "OMP_NUM_THREADS": "1"}
    log = tmp_path_factory.mktemp("ray") / "cluster.log"
    with ray_backend.LocalCluster(num_cpus=2, object_store_bytes=200_000_000, env=env, log_path=log) as running:
        yield running


@pytest.fixture
def one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # job processes and their Ray workers: 2 shared cores


def _spec(data: Path, *, epochs: int) -> dict:
    return pipeline.PipelineSpec(
        data_path=str(data), preset="fast_cpu", steps=["train"], name="tiny",
        overrides={"arch": "vgg19_bn_quarter", "epochs": epochs, "batch_size": 14, "device": "cpu",
                   "precision": "fp32", "channels_last": False, "warmup_epochs": 0.0},
    ).to_dict()


def _epochs_without_timing(run_root: Path) -> list[dict]:
    lines = [json.loads(line) for line in (run_root / "metrics.jsonl").read_text().splitlines() if line.strip()]
    return [{k: v for k, v in line.items() if k not in TIMING_KEYS} for line in lines]


def _ray_pids(log_path: str) -> list[int]:
    """The Ray worker processes the job ran on, as its log names them."""
    text = Path(log_path).read_text() if Path(log_path).exists() else ""
    return [int(pid) for pid in re.findall(r"running on Ray worker pid (\d+)", text)]


@pytest.mark.slow
def test_ray_worker_runs_a_training_job_with_progress_logs_and_run_folder(tmp_path: Path, cluster, one_thread,
                                                                          capsys: pytest.CaptureFixture) -> None:
    data = write_image_folder(tmp_path / "tiny", {"train": 4, "val": 2}, as_zip=True)
    root = tmp_path / "runs"
    queue = JobQueue(root)
    job = queue.submit(_spec(data, epochs=2))
    worker = start_worker(root, "fer_engine.jobs.runners:run_pipeline_job", "--backend", "ray", "--address",
                          cluster.address, "--once", "--heartbeat-s", "0.5", log=tmp_path / "worker.log")
    try:
        seen = wait_for(lambda: queue.get(job.id).progress.get("epoch"), 300, "training progress in the queue")
        assert queue.get(job.id).state in ("running", "succeeded") and seen >= 1
        assert worker.wait(timeout=300) == 0
    finally:
        kill_group(worker)
    done = queue.get(job.id)
    assert done.state == "succeeded", (done.error, Path(done.log_path).read_text()[-3000:])
    assert done.device == "ray" and done.progress["epoch"] == 2 and done.progress["total_epochs"] == 2
    assert done.progress["metrics"].get("val_accuracy") is not None
    run = queue.store.paths(done.run_id)
    assert [line["epoch"] for line in _epochs_without_timing(run.root)] == [1, 2]
    assert (run.checkpoint_dir / "model.safetensors").is_file() and run.resume_state.is_file()
    assert queue.store.get(done.run_id).status == "succeeded"
    [ray_pid] = _ray_pids(done.log_path)
    assert ray_pid not in (worker.pid, os.getpid())  # the training ran in a Ray worker process
    assert "epoch 2/2" in run.log_file.read_text()
    capsys.readouterr()
    assert cli.main(["jobs", "logs", str(job.id), "--runs-root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "running on Ray worker pid" in out and "epoch 2/2" in out


@pytest.mark.slow
def test_ray_job_cancel_then_retry_resumes_from_its_last_epoch(tmp_path: Path, cluster) -> None:
    queue = JobQueue(tmp_path / "runs")
    job = queue.submit(FakeSpec(kind="epochs", epochs=4, epoch_s=3.0))
    worker = Worker(queue.root, job_runner=FAKE_RUNNER,
                    ray=RayTarget(cluster.address), **FAST)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: (queue.get(job.id).progress.get("epoch") or 0) >= 2, 240, "epoch 2 running")
        asked = time.monotonic()
        queue.request_cancel(job.id)
        wait_for(lambda: queue.get(job.id).state == "cancelled", 60, "the cancel")
        cancelled_after = time.monotonic() - asked
        run = queue.store.paths(queue.get(job.id).run_id)
        saved = json.loads((run.root / "state" / "fake.json").read_text())
        assert 1 <= saved["epoch"] < 4 and saved["starts"] == 1
        assert "stopping in epoch" in Path(queue.get(job.id).log_path).read_text()  # the Ray worker's own output

        queue.retry(job.id)
        wait_for(lambda: queue.get(job.id).state == "succeeded", 240, "the retried job")
    finally:
        worker.request_stop()
        thread.join(timeout=120)
    summary = json.loads(run.summary.read_text())
    # Resumed, not restarted: two starts, every epoch's steps counted exactly once.
    assert summary == {"epochs": 4, "total": expected_total(4), "starts": 2}
    assert len(_ray_pids(queue.get(job.id).log_path)) == 2
    print(f"\nRay job cancelled {cancelled_after:.1f} s after the request")


@pytest.mark.slow
def test_killed_ray_worker_mid_epoch_resumes_and_matches_an_uninterrupted_run(tmp_path: Path, cluster,
                                                                              one_thread) -> None:
    epochs = 3
    # 100 steps an epoch (progress every 10): epochs long enough (seconds even on a fast machine) that the kill
    # lands inside epoch 2, whatever the progress writes' 1 s throttle lets through. With 20 steps an epoch a fast
    # machine finished the whole run between two polls.
    data = write_image_folder(tmp_path / "tiny", {"train": 200, "val": 2}, as_zip=True)
    reference_queue = JobQueue(tmp_path / "reference")
    reference = reference_queue.submit(_spec(data, epochs=epochs))
    Worker(reference_queue.root, ["cpu"], once=True, **FAST).run()
    assert reference_queue.get(reference.id).state == "succeeded"
    reference_run = reference_queue.root / reference_queue.get(reference.id).run_id

    queue = JobQueue(tmp_path / "runs")
    job = queue.submit(_spec(data, epochs=epochs))
    worker = Worker(queue.root, once=True, job_runner="fer_engine.jobs.runners:run_pipeline_job",
                    ray=RayTarget(cluster.address), **FAST)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()

    def epochs_logged() -> int:
        run_id = queue.get(job.id).run_id
        path = queue.root / run_id / "metrics.jsonl" if run_id else None
        return len(path.read_text().splitlines()) if path and path.exists() else 0

    try:
        wait_for(lambda: epochs_logged() >= 1 and queue.get(job.id).progress.get("batch"), 300,
                 "a finished epoch and the next one's first batches")
        [ray_pid] = _ray_pids(queue.get(job.id).log_path)
        os.kill(ray_pid, signal.SIGKILL)  # the Ray worker process running the training, mid-epoch
        killed_after = epochs_logged()
        thread.join(timeout=600)
    finally:
        worker.request_stop()
        thread.join(timeout=60)
    done = queue.get(job.id)
    log = Path(done.log_path).read_text()
    assert done.state == "succeeded", (done.error, log[-3000:])
    assert 1 <= killed_after < epochs and "Ray worker lost" in log and "restart 1 of 3" in log
    assert len(_ray_pids(done.log_path)) == 2 and done.attempts == 0
    run_root = queue.root / done.run_id
    resumed, uninterrupted = _epochs_without_timing(run_root), _epochs_without_timing(reference_run)
    assert [line["epoch"] for line in resumed] == list(range(1, epochs + 1))  # nothing lost, nothing twice
    assert resumed == uninterrupted
    print(f"\nRay worker killed after {killed_after} finished epoch(s); the job resumed and matched")


def test_unreachable_cluster_leaves_jobs_queued_and_the_worker_serving(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    queue = JobQueue(tmp_path / "runs")
    waiting = queue.submit(FakeSpec(kind="marker", marker=str(tmp_path / "marker")))
    other = queue.submit(FakeSpec(kind="marker", marker=str(tmp_path / "marker")))
    worker = Worker(queue.root, job_runner=FAKE_RUNNER,
                    ray=RayTarget(f"127.0.0.1:{free_port()}"), **FAST)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: queue.live_workers(30), 30, "the worker to register")
        time.sleep(2.0)
        assert queue.get(waiting.id).state == "queued" and queue.get(waiting.id).attempts == 0
        assert worker._ray_problem is not None and "unreachable" in worker._ray_problem
        queue.request_cancel(other.id)  # the queue keeps working while the cluster is down
        assert queue.get(other.id).state == "cancelled"
        assert thread.is_alive() and queue.live_workers(30)
    finally:
        worker.request_stop()
        thread.join(timeout=30)
    assert not thread.is_alive() and worker.report.jobs_started == []


def test_ray_backend_without_ray_says_how_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    code = worker_cmd.main(["--runs-root", str(tmp_path / "runs"), "--backend", "ray", "--address", "auto", "--once"])
    assert code == 2
    assert "pip install -e .[ray]" in capsys.readouterr().err


def test_a_second_host_sharing_the_runs_root_is_refused_with_a_pointer_to_ray(tmp_path: Path) -> None:
    queue = JobQueue(tmp_path / "runs")
    queue.register_worker("far-away-1", ["cuda:0"], pid=1, host="another-machine")
    with pytest.raises(FerError, match="--backend ray") as refused:
        Worker(queue.root, ["cpu"], once=True, **FAST).run()
    assert "another-machine" in str(refused.value)
    assert [w.worker_id for w in queue.live_workers(60)] == ["far-away-1"]  # the refused worker never registered


@pytest.mark.slow
def test_a_cluster_lost_mid_job_fails_it_with_the_reason_and_the_worker_keeps_serving(tmp_path: Path) -> None:
    ray_backend = pytest.importorskip("fer_engine.jobs.ray_backend")
    pytest.importorskip("ray")
    env = {"PYTHONPATH": importable_path()}
    own = ray_backend.LocalCluster(num_cpus=1, env=env, log_path=tmp_path / "cluster.log").start()
    queue = JobQueue(tmp_path / "runs")
    job = queue.submit(FakeSpec(kind="epochs", epochs=40, epoch_s=2.0))
    worker = Worker(queue.root, job_runner=FAKE_RUNNER, ray=RayTarget(own.address), **FAST)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: (queue.get(job.id).progress.get("epoch") or 0) >= 1, 240, "a finished epoch")
        own.stop()  # the whole cluster goes away mid-job
        wait_for(lambda: queue.get(job.id).state != "running", 180, "the job to end")
        failed = queue.get(job.id)
        assert failed.state == "failed" and "lost the Ray cluster" in failed.error and "retry" in failed.error
        later = queue.submit(FakeSpec(kind="epochs", epochs=1, epoch_s=0.1))  # the queue still takes jobs
        time.sleep(2.0)
        assert thread.is_alive() and queue.get(later.id).state == "queued"  # it waits for the cluster
    finally:
        own.stop()
        worker.request_stop()
        thread.join(timeout=120)
    run = queue.store.paths(failed.run_id)
    saved = json.loads((run.root / "state" / "fake.json").read_text())
    assert saved["epoch"] >= 1  # what retry resumes from once the cluster is back


@pytest.mark.slow  # starts a worker process
def test_the_auto_started_worker_uses_the_cluster_named_by_fer_ray_address(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("ray")
    from fer_engine.jobs import ensure_local_worker

    address = f"127.0.0.1:{free_port()}"  # nobody listens: the worker waits for it and says so
    monkeypatch.setenv("FER_RAY_ADDRESS", address)
    root = tmp_path / "runs"
    pid = ensure_local_worker(root, devices="cpu", idle_exit_s=2)
    try:
        log = root / "worker.log"
        wait_for(lambda: f"on the Ray cluster at {address}" in log.read_text(), 60, "the worker to serve via Ray")
        wait_for(lambda: f"the Ray cluster at {address} is unreachable" in log.read_text(), 60, "its first probe")
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError, TypeError):
            pass
