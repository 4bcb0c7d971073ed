"""train() under torchrun with 2 CPU processes (gloo): both ranks train in step, rank 0 alone writes the run,
and the result equals a single-process run with the same global batch.

Semantics: `batch_size` is the global batch; each rank takes every 2nd image of it, so steps per epoch, data
order, augmentation and learning rates are those of one process. The model here has no batch norm: with batch
norm each rank normalises its own half batch, and results then agree only approximately."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from fer_engine.runs.layout import RunPaths
from support.paths import REPO_ROOT, TESTS_ROOT

WORKER = TESTS_ROOT / "support" / "ddp_train_worker.py"


@pytest.mark.slow
def test_two_process_ddp_matches_single_process(tmp_path):
    env = {**os.environ, "PYTHONPATH": f"{REPO_ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "OMP_NUM_THREADS": "1"}
    env.pop("WORLD_SIZE", None)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               str(WORKER), str(tmp_path)]
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    assert completed.returncode == 0, completed.stderr[-3000:]

    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    # Global batch 14 = 7 images per rank; 56 train images -> 4 steps per epoch on every rank.
    assert [r["world_size"] for r in ranks] == [2, 2] and [r["steps"] for r in ranks] == [4, 4]
    assert all(r["status"] == "succeeded" and r["epochs_completed"] == 1 for r in ranks)
    # Gradients were all-reduced: both ranks end with the same weights.
    assert ranks[0]["checksum"] == pytest.approx(ranks[1]["checksum"], rel=1e-6)

    distributed = RunPaths(tmp_path / "run")
    records = distributed.read_metrics()
    assert [r["epoch"] for r in records] == [1]  # one writer: no duplicate lines
    assert distributed.read_summary()["world_size"] == 2
    assert (distributed.checkpoint_dir / "model.safetensors").is_file()

    from support.ddp_train_worker import assert_same_training, single_process_run

    single = single_process_run(tmp_path / "single")
    assert single.read_summary()["steps_per_epoch"] == distributed.read_summary()["steps_per_epoch"] == 4
    assert_same_training(distributed, single)


@pytest.mark.slow
def test_fer_train_under_torchrun_creates_one_run_that_both_ranks_train(tmp_path):
    """`fer train` is the pipeline's train step: under torchrun rank 0 alone creates and indexes the run."""
    from fer_engine.data.synthetic import write_image_folder
    from fer_engine.runs.store import RunStore

    data = write_image_folder(tmp_path / "fer.zip", {"train": 8, "val": 3}, as_zip=True)
    env = {**os.environ, "PYTHONPATH": f"{REPO_ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "OMP_NUM_THREADS": "1"}
    env.pop("WORLD_SIZE", None)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               "-m", "fer_engine.cli.main", "train", "--data", str(data), "--preset", "fast_cpu", "--arch",
               "vgg19_bn_quarter", "--epochs", "1", "--precision", "fp32", "--device", "cpu", "--batch-size", "14",
               "--set", "warmup_epochs=0", "--runs-root", str(tmp_path / "runs")]
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    assert completed.returncode == 0, completed.stderr[-3000:]
    [record] = RunStore(tmp_path / "runs").list()
    assert record.status == "succeeded" and record.metrics["epochs_completed"] == 1
    run = RunPaths(tmp_path / "runs" / record.run_id)
    assert run.read_summary()["world_size"] == 2 and [r["epoch"] for r in run.read_metrics()] == [1]
    assert completed.stdout.count(f"run {record.run_id} done") == 1  # rank 0 alone reports
