"""One tiny data-parallel training, the same for torchrun and for Ray Train: a model without batch norm, 56 images,
a fixed config; each rank writes what it saw to `rank<N>.json`, so the tests compare ranks and a single process.

Run by torchrun as a script (`python -m torch.distributed.run ... ddp_train_worker.py OUT_DIR`); Ray Train workers
import `ddp_runner` as 'support.ddp_train_worker:ddp_runner'. Importing it registers the test-only architecture
`test_vgg19_plain_quarter`, so tests import it inside the test that needs it.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from fer_engine.data.dataset import FerDataset, Split
from fer_engine.data.synthetic import synthetic_images
from fer_engine.models import vgg
from fer_engine.models.registry import register_model
from fer_engine.runs.layout import RunPaths
from fer_engine.training import AugmentConfig, TrainConfig, train


@register_model("test_vgg19_plain_quarter")
def build_plain_quarter(num_classes: int = 7, input_size: int = 48, dropout: float = 0.0):
    """Quarter-width VGG-19 without batch norm: with it, DDP and one process must agree exactly
    (batch norm would normalise each rank's half batch on its own)."""
    return vgg._build(False, 0.25, num_classes, input_size, dropout)


def tiny_dataset() -> FerDataset:
    """8 train and 3 val images per class."""
    def split(n: int, seed: int) -> Split:
        images, labels = synthetic_images(n, seed=seed)
        return Split(images, labels, [f"{seed}/{i}" for i in range(len(labels))])

    return FerDataset({"train": split(8, 0), "val": split(3, 1)}, fingerprint="tiny", source="synthetic")


CONFIG = TrainConfig(
    arch="test_vgg19_plain_quarter", epochs=1, batch_size=14, lr=0.05, scheduler="cosine", warmup_epochs=0.5,
    select_metric="val_accuracy", augment=AugmentConfig(crop="pad", crop_padding=2, hflip=False),
    device="cpu", precision="fp32", eval_batch_size=64,
)


def train_and_report(run: RunPaths, out_dir: Path, *, on_event: Callable | None = None,
                     should_stop: Callable[[], bool] | None = None) -> RunPaths:
    """Train CONFIG on tiny_dataset() into `run`; write this rank's steps, status and weight checksum."""
    steps: list[int] = []
    on_epoch = None if on_event is None else (lambda record: on_event(
        {"event": "epoch", "stage": "train", "epoch": record["epoch"], "total_epochs": CONFIG.epochs}))
    result = train(CONFIG, tiny_dataset(), run, on_epoch=on_epoch, should_stop=should_stop,
                   on_step=lambda epoch, step, total, loss: steps.append(step), step_interval=1)
    checksum = sum(float(p.detach().double().sum()) for p in result.final_model.parameters())
    rank = int(os.environ["RANK"])
    (out_dir / f"rank{rank}.json").write_text(json.dumps({
        "rank": rank, "world_size": result.summary["world_size"], "steps": len(steps), "status": result.status,
        "checksum": checksum, "epochs_completed": result.epochs_completed, "pid": os.getpid(),
    }))
    return run


def single_process_run(root: Path) -> RunPaths:
    """The same training in this process on one thread: what the data-parallel ranks must reproduce."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        single = RunPaths(root)
        train(CONFIG, tiny_dataset(), single)
    finally:
        torch.set_num_threads(previous)
    return single


def assert_same_training(distributed: RunPaths, single: RunPaths) -> None:
    """Per-epoch metrics and final weights agree; the weights moved far more than the tolerance."""
    import pytest

    from fer_engine.models import create_model

    for mine, theirs in zip(distributed.read_metrics(), single.read_metrics(), strict=True):
        for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr"):
            assert mine[key] == pytest.approx(theirs[key], rel=1e-5, abs=1e-6), key
    final = torch.load(distributed.resume_state, weights_only=True)["model"]
    reference = torch.load(single.resume_state, weights_only=True)["model"]
    torch.manual_seed(CONFIG.seed)
    initial = create_model(CONFIG.arch, input_size=CONFIG.input_size).state_dict()
    moved = 0.0
    for name, tensor in reference.items():
        assert torch.allclose(final[name], tensor, atol=1e-5), name
        moved = max(moved, float((tensor - initial[name]).abs().max()))
    assert moved > 1e-3


@dataclass
class RankReportSpec:
    """A job spec: where each rank writes what it saw (`ddp_runner` trains the fixed CONFIG)."""

    out: str
    name: str = "ray-ddp"

    def validate(self) -> "RankReportSpec":
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def ddp_runner(spec: dict[str, Any], *, run: RunPaths, on_event: Callable, should_stop: Callable) -> RunPaths:
    """Job runner run by every Ray Train worker: the same training as under torchrun, reported per rank."""
    torch.set_num_threads(1)  # two ranks share the 2 cores
    return train_and_report(run, Path(spec["out"]), on_event=on_event, should_stop=should_stop)


if __name__ == "__main__":
    torch.set_num_threads(1)  # two ranks share the 2 cores
    out = Path(sys.argv[1])
    train_and_report(RunPaths(out / "run"), out)
