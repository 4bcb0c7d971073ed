"""The training flags `fer train`, `fer reproduce` and `fer jobs submit` share, defined once, and the one
`--set KEY=VALUE` parser: the same flag has the same meaning, help and typing in every command."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from fer_engine.errors import ConfigError

# Common flag (argparse dest) -> the TrainConfig field it sets.
COMMON_FIELDS: dict[str, str] = {
    "arch": "arch",
    "epochs": "epochs",
    "limit": "limit",
    "seed": "seed",
    "device": "device",
}

LIMIT_HELP = (
    "at most N images per split (train and val each; N >= 7): a stratified subsample drawn with the "
    "training seed, for short runs (default: every image)"
)


def add_training_options(
    parser: argparse.ArgumentParser,
    *,
    preset_default: str | None,
    preset_default_text: str | None = None,
    threads: bool = True,
) -> None:
    """Add --data, --preset, --arch, --epochs, --limit, --seed, --device, --name, --set (and --threads).

    Every default but the preset's is None: "the preset's value" (and, for a job, the spec file's)."""
    from fer_engine.training.presets import PRESETS

    parser.add_argument(
        "--data", default=None, metavar="PATH", help="FER2013 source: a fer2013.csv, an image folder or a .zip"
    )
    parser.add_argument(
        "--preset",
        default=preset_default,
        metavar="NAME",
        help=f"training recipe: {', '.join(PRESETS)} (default: {preset_default_text or preset_default})",
    )
    parser.add_argument("--arch", default=None, help="architecture (see `fer model list`; default: the preset's)")
    parser.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="epochs to train (default: the preset's; its warm-up, if longer than half of them, is shortened to fit)",
    )
    parser.add_argument("--limit", type=int, default=None, metavar="N", help=LIMIT_HELP)
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="training seed: initialisation, batch order, augmentation and --limit subsample "
        "(default: the preset's, 0)",
    )
    parser.add_argument("--device", default=None, help="training device: auto, cpu, cuda or cuda:N (default: auto)")
    parser.add_argument("--name", default=None, help="run name, part of the run id (default: the preset's name)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override any training config field, typed by the field; dotted keys for nested "
        "ones, e.g. --set lr=0.01 --set triplet.margin=0.3 --set augment.hflip=false",
    )
    if threads:
        parser.add_argument(
            "--threads",
            type=int,
            default=None,
            help="CPU threads for torch (default: torch's choice; 1 can be faster on a busy machine)",
        )


def parse_set_overrides(items: Sequence[str]) -> dict[str, Any]:
    """['epochs=5', 'triplet.margin=0.3'] -> {'epochs': 5, 'triplet.margin': 0.3}: each value typed by its field.

    ConfigError for an item without '=', an unknown field or a value its field cannot take."""
    from fer_engine.training.config import typed_override

    parsed: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set expects KEY=VALUE (e.g. --set lr=0.01), got '{item}'")
        parsed[key] = typed_override(key, text.strip())
    return parsed


def training_overrides(args: argparse.Namespace, flag_fields: dict[str, str] = COMMON_FIELDS) -> dict[str, Any]:
    """TrainConfig overrides from `--set` and the flags in `flag_fields` (flag dest -> field) that were given.

    A flag and a `--set` of the same field with different values is a ConfigError (neither silently wins)."""
    overrides = parse_set_overrides(getattr(args, "overrides", None) or [])
    for dest, field in flag_fields.items():
        value = getattr(args, dest, None)
        if value is None:
            continue
        if field in overrides and overrides[field] != value:
            raise ConfigError(f"--{dest.replace('_', '-')} {value} contradicts --set {field}={overrides[field]}")
        overrides[field] = value
    return overrides


def apply_threads(threads: int | None) -> None:
    """`--threads N`: torch's CPU thread count for this process (unchanged when None)."""
    if threads is None:
        return
    if threads < 1:
        raise ConfigError(f"--threads must be >= 1, got {threads}")
    import torch

    torch.set_num_threads(threads)
