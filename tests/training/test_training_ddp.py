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
from pathlib import Path

import pytest
import torch

from fer_engine.runs.layout import RunPaths
from fer_engine.training import train

WORKER = Path(__file__).with_name("_ddp_train_worker.py")
REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_two_process_ddp_matches_single_process(tmp_path):
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", "OMP_NUM_THREADS": "1"}
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

    sys.path.insert(0, str(WORKER.parent))
    try:
        from _ddp_train_worker import CONFIG, tiny_dataset
    finally:
        sys.path.remove(str(WORKER.parent))
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        single = RunPaths(tmp_path / "single")
        train(CONFIG, tiny_dataset(), single)
    finally:
        torch.set_num_threads(previous)
    single_records = single.read_metrics()
    assert single.read_summary()["steps_per_epoch"] == distributed.read_summary()["steps_per_epoch"] == 4
    for mine, theirs in zip(records, single_records):
        for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr"):
            assert mine[key] == pytest.approx(theirs[key], rel=1e-5, abs=1e-6), key
    final = torch.load(distributed.resume_state, weights_only=True)["model"]
    initial = _initial_weights(CONFIG)
    moved = 0.0
    for name, tensor in _single_weights(single).items():
        assert torch.allclose(final[name], tensor, atol=1e-5), name
        moved = max(moved, float((tensor - initial[name]).abs().max()))
    assert moved > 1e-3  # training changed the weights far more than the tolerance


def _single_weights(run: RunPaths) -> dict[str, torch.Tensor]:
    return torch.load(run.resume_state, weights_only=True)["model"]


def _initial_weights(config) -> dict[str, torch.Tensor]:
    from fer_engine.models import create_model

    torch.manual_seed(config.seed)
    return create_model(config.arch, input_size=config.input_size).state_dict()
