"""Run by torchrun (2 processes) from test_training_ddp.py: train a tiny model and report what this rank saw."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import torch

torch.set_num_threads(1)

from fer_engine.data.dataset import FerDataset, Split  # noqa: E402
from fer_engine.data.synthetic import synthetic_images  # noqa: E402
from fer_engine.models import vgg  # noqa: E402
from fer_engine.models.registry import register_model  # noqa: E402
from fer_engine.runs.layout import RunPaths  # noqa: E402
from fer_engine.training import AugmentConfig, TrainConfig, train  # noqa: E402


@register_model("test_vgg19_plain_quarter")
def build_plain_quarter(num_classes: int = 7, input_size: int = 48, dropout: float = 0.0):
    """Quarter-width VGG-19 without batch norm: with it, DDP and one process must agree exactly
    (batch norm would normalise each rank's half batch on its own)."""
    return vgg._build(False, 0.25, num_classes, input_size, dropout)


def tiny_dataset() -> FerDataset:
    def split(n: int, seed: int) -> Split:
        images, labels = synthetic_images(n, seed=seed)
        return Split(images, labels, [f"{seed}/{i}" for i in range(len(labels))])

    return FerDataset({"train": split(8, 0), "val": split(3, 1)}, fingerprint="tiny", source="synthetic")


CONFIG = TrainConfig(
    arch="test_vgg19_plain_quarter", epochs=1, batch_size=14, lr=0.05, scheduler="cosine", warmup_epochs=0.5,
    select_metric="val_accuracy", augment=AugmentConfig(crop="pad", crop_padding=2, hflip=False),
    device="cpu", precision="fp32", eval_batch_size=64,
)


def main(out_dir: Path) -> None:
    steps: list[int] = []
    result = train(CONFIG, tiny_dataset(), RunPaths(out_dir / "run"),
                   on_step=lambda epoch, step, total, loss: steps.append(step), step_interval=1)
    checksum = sum(float(p.detach().double().sum()) for p in result.final_model.parameters())
    rank = int(os.environ["RANK"])
    (out_dir / f"rank{rank}.json").write_text(json.dumps({
        "rank": rank, "world_size": result.summary["world_size"], "steps": len(steps), "status": result.status,
        "checksum": checksum, "epochs_completed": result.epochs_completed,
    }))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
