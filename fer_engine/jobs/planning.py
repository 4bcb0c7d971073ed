"""Before a job is queued: the preset that suits this machine, and how long its training should take.

The throughput figures are measured, kept here only: training images per second of the shipped runs and the
README's paper run on this project's 2-core CPU in bf16 (`metrics.jsonl` of each run). An estimate is only as
good as that match: another CPU, fp32, or a busy machine changes it.
"""

from __future__ import annotations

from dataclasses import dataclass

CPU_TRAIN_IMAGES_PER_S: dict[str, float] = {"vgg19_bn": 72.0, "vgg19_bn_half": 200.0, "vgg19": 74.0}
MEASURED_ON = "the project's 2-core CPU in bf16"
CPU_PRESET, GPU_PRESET = "fast_cpu", "strong"


def suggested_preset(cuda_available: bool | None = None) -> str:
    """`strong` when a CUDA GPU is visible, else `fast_cpu` (strong takes about 7 h on a 2-core CPU)."""
    if cuda_available is None:
        import torch

        cuda_available = torch.cuda.is_available()
    return GPU_PRESET if cuda_available else CPU_PRESET


@dataclass(frozen=True)
class TrainingEstimate:
    """Estimated training time of a config on this machine's CPU, or why there is none."""

    seconds: float | None
    images_per_epoch: int
    epochs: int
    images_per_second: float | None
    note: str

    def text(self) -> str:
        """One line for people, saying it is an estimate and what it covers."""
        if self.seconds is None:
            return f"No time estimate: {self.note}."
        return (
            f"Estimated training time: about {format_duration(self.seconds)} ({self.epochs} epochs x "
            f"{self.images_per_epoch:,} images at ~{self.images_per_second:.0f} images/s, {self.note}). "
            "An estimate: validation, embeddings and heads add to it."
        )


def estimate_training(
    arch: str, epochs: int, train_images: int, *, limit: int | None = None, device: str = "cpu"
) -> TrainingEstimate:
    """Training seconds = epochs x images per epoch / the measured images/s of `arch` (CPU figures only)."""
    images = min(train_images, limit) if limit else train_images
    if not str(device).startswith(("cpu", "auto")):
        return TrainingEstimate(None, images, epochs, None, f"no measured throughput on {device}")
    if str(device).startswith("auto") and suggested_preset() == GPU_PRESET:
        return TrainingEstimate(None, images, epochs, None, "no measured GPU throughput (this machine has a GPU)")
    rate = CPU_TRAIN_IMAGES_PER_S.get(arch)
    if rate is None:
        return TrainingEstimate(None, images, epochs, None, f"no measured throughput for {arch}")
    return TrainingEstimate(epochs * images / rate, images, epochs, rate, f"measured on {MEASURED_ON}")


def format_duration(seconds: float) -> str:
    """90 -> '2 min', 7000 -> '1 h 57 min'."""
    minutes = max(1, round(seconds / 60))
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"
