"""Checkpoints: weights as safetensors plus a JSON card (arch, classes, input size, config, data, metrics).

Layout: a directory holding the weights and the card (file names in `fer_engine.runs.layout`). A run keeps its
best model in `<run>/checkpoint/`; `resolve_checkpoint_dir` (from `fer_engine.runs.resolve`) finds it from a run
id, run folder or the folder itself. Loading never executes pickle.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from fer_engine.classes import FER_CLASS_NAMES
from fer_engine.errors import ModelError
from fer_engine.io_utils import atomic_write, atomic_write_json
from fer_engine.runs.layout import CARD_FILE, WEIGHTS_FILE
from fer_engine.runs.resolve import resolve_checkpoint_dir

__all__ = [
    "CARD_FILE",
    "WEIGHTS_FILE",
    "ModelCard",
    "load_checkpoint",
    "read_card",
    "resolve_checkpoint_dir",
    "save_checkpoint",
]

FORMAT_VERSION = 1


@dataclass
class ModelCard:
    """What a checkpoint is: enough to rebuild the model and to say how it was obtained."""

    arch: str
    num_classes: int = 7
    class_names: list[str] = field(default_factory=lambda: list(FER_CLASS_NAMES))
    input_size: int = 48
    embedding_dim: int = 512
    weights_dtype: str = "float32"
    config: dict[str, Any] = field(default_factory=dict)
    data_fingerprint: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelCard:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


def save_checkpoint(model: nn.Module, card: ModelCard, directory: str | Path, *, half: bool = False) -> Path:
    """Write the weights (fp16 if `half`) and the card atomically into `directory`."""
    from safetensors.torch import save_file

    directory = Path(directory)
    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    if half:
        state = {k: (v.half() if v.is_floating_point() else v) for k, v in state.items()}
    card.weights_dtype = "float16" if half else "float32"
    atomic_write(directory / WEIGHTS_FILE, lambda tmp: save_file(state, str(tmp), metadata={"arch": card.arch}))
    atomic_write_json(directory / CARD_FILE, asdict(card))
    return directory


def read_card(directory: str | Path) -> ModelCard:
    """Read and validate a checkpoint's JSON card."""
    card_path = Path(directory) / CARD_FILE
    try:
        data = json.loads(card_path.read_text())
    except FileNotFoundError as exc:
        raise ModelError(f"{card_path} is missing: a checkpoint needs its card to be rebuilt") from exc
    except json.JSONDecodeError as exc:
        raise ModelError(f"{card_path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or "arch" not in data:
        raise ModelError(f"{card_path} is not a fer_engine model card (no 'arch')")
    return ModelCard.from_dict(data)


def load_checkpoint(path_or_run: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, ModelCard]:
    """Rebuild the model from its card and load its safetensors weights (as float32), in eval mode."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from fer_engine.models.registry import create_model

    directory = resolve_checkpoint_dir(path_or_run)
    card = read_card(directory)
    model = create_model(card.arch, num_classes=card.num_classes, input_size=card.input_size)
    try:
        state = load_file(str(directory / WEIGHTS_FILE))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelError(f"{directory / WEIGHTS_FILE} is not a readable safetensors file: {exc}") from exc
    state = {k: (v.float() if v.is_floating_point() else v) for k, v in state.items()}
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ModelError(
            f"{directory / WEIGHTS_FILE} does not fit architecture '{card.arch}' "
            f"({card.num_classes} classes): {str(exc).splitlines()[0]}"
        ) from exc
    return model.to(device).eval(), card
