"""Named training recipes as data: `paper` (the article's settings), `strong` (from scratch), `fast_cpu`."""

from __future__ import annotations

from collections.abc import Callable

from fer_engine.errors import ConfigError
from fer_engine.training.config import AugmentConfig, TrainConfig


def paper_preset() -> TrainConfig:
    """The paper's recipe (section 3.3): VGG-19, SGD lr 0.001 momentum 0.9, ReduceLROnPlateau(min, patience 3)
    on val loss, up to 75 epochs, early stopping patience 10 on val loss, best on val loss.

    The paper starts from ImageNet weights; none can be downloaded here, so `pretrained` stays None and
    `fer train --pretrained PATH|cache` turns it on. Batch size, input size and augmentation are not given
    in the paper: batch 64, 48x48 input and horizontal flips only are our choices.
    """
    return TrainConfig(
        arch="vgg19",
        pretrained=None,
        input_size=48,
        epochs=75,
        batch_size=64,
        optimizer="sgd",
        lr=0.001,
        momentum=0.9,
        nesterov=False,
        weight_decay=0.0,
        scheduler="plateau",
        warmup_epochs=0.0,
        plateau_patience=3,
        plateau_factor=0.1,
        early_stopping_patience=10,
        select_metric="val_loss",
        label_smoothing=0.0,
        class_weighting="none",
        loss="ce",
        augment=AugmentConfig(crop="none", hflip=True),
        preset="paper",
        notes="paper settings; ImageNet initialisation only with --pretrained PATH|cache (no download here)",
    )


def strong_preset() -> TrainConfig:
    """VGG-19-BN from scratch with a modern recipe: nesterov SGD, warm-up + cosine, label smoothing, crops,
    flips, small rotations and random erasing; best epoch on val accuracy."""
    return TrainConfig(
        arch="vgg19_bn",
        pretrained=None,
        input_size=48,
        epochs=60,
        batch_size=128,
        optimizer="sgd",
        lr=0.02,
        momentum=0.9,
        nesterov=True,
        weight_decay=5e-4,
        scheduler="cosine",
        warmup_epochs=2.0,
        early_stopping_patience=None,
        select_metric="val_accuracy",
        label_smoothing=0.1,
        class_weighting="none",
        loss="ce",
        augment=AugmentConfig(crop="pad", crop_padding=4, hflip=True, rotation_degrees=10.0, random_erasing=0.25),
        eval_tta="none",
        preset="strong",
        notes="from scratch; --tta tencrop evaluates each epoch with ten-crop test-time augmentation",
    )


def fast_cpu_preset() -> TrainConfig:
    """The strong recipe on the half-width VGG-19-BN (about 1/4 of the FLOPs) and 20 epochs, for CPU users."""
    return strong_preset().with_overrides(
        arch="vgg19_bn_half",
        epochs=20,
        warmup_epochs=1.0,
        preset="fast_cpu",
        notes="strong recipe at half width and 20 epochs, for CPU training",
    )


PRESETS: dict[str, Callable[[], TrainConfig]] = {
    "paper": paper_preset,
    "strong": strong_preset,
    "fast_cpu": fast_cpu_preset,
}


def get_preset(name: str) -> TrainConfig:
    """A fresh copy of the named preset (ConfigError listing the names for an unknown one)."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset '{name}'; available: {', '.join(PRESETS)}")
    return PRESETS[name]()
