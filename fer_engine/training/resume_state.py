"""The resume file state/last.pt: weights, optimizer, schedule, progress and RNG states, saved atomically and
loaded with `torch.load(weights_only=True)` (tensors and plain containers only, no pickled objects)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fer_engine.errors import ConfigError
from fer_engine.io_utils import atomic_write

STATE_VERSION = 1


@dataclass
class TrainingProgress:
    """Where training stands after an epoch: what resuming must restore besides weights and optimizer."""

    epoch: int = 0  # last completed epoch (1-based); 0 = none yet
    best_value: float | None = None
    best_epoch: int | None = None
    best_record: dict[str, Any] = field(default_factory=dict)
    epochs_without_improvement: int = 0
    stopped_early: bool = False
    elapsed_seconds: float = 0.0
    train_seconds: float = 0.0
    train_images: int = 0


def capture_rng_states() -> dict[str, Any]:
    """torch CPU / CUDA and numpy global RNG states, as tensors (loadable with weights_only=True)."""
    numpy_state = np.random.get_state(legacy=False)  # the typed dict form; the same numbers as the legacy tuple
    keys, position = numpy_state["state"]["key"], numpy_state["state"]["pos"]
    has_gauss, cached = numpy_state["has_gauss"], numpy_state["gauss"]
    states: dict[str, Any] = {
        "torch_cpu": torch.get_rng_state(),
        "numpy_keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
        "numpy_position": int(position),
        "numpy_has_gauss": int(has_gauss),
        "numpy_cached_gaussian": float(cached),
    }
    if torch.cuda.is_available():
        states["torch_cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(states: dict[str, Any]) -> None:
    """Put back the RNG states of `capture_rng_states` (CUDA ones only when the GPU count matches)."""
    torch.set_rng_state(states["torch_cpu"])
    np.random.set_state(
        (
            "MT19937",
            states["numpy_keys"].numpy().astype(np.uint32),
            states["numpy_position"],
            states["numpy_has_gauss"],
            states["numpy_cached_gaussian"],
        )
    )
    cuda_states = states.get("torch_cuda")
    if cuda_states and torch.cuda.is_available() and len(cuda_states) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda_states)


def save_resume_state(
    path: Path,
    *,
    model_state: dict,
    optimizer_state: dict,
    scheduler_state: dict,
    progress: TrainingProgress,
    config: dict[str, Any],
) -> None:
    """Write the resume file atomically (temp file + os.replace): a crash leaves the previous one intact."""
    state = {
        "version": STATE_VERSION,
        "model": model_state,
        "optimizer": optimizer_state,
        "scheduler": scheduler_state,
        "progress": _progress_to_dict(progress),
        "rng": capture_rng_states(),
        "config": config,
    }
    atomic_write(path, lambda tmp: torch.save(state, tmp))


def load_resume_state(path: Path, device: torch.device) -> dict[str, Any]:
    """Read a resume file without executing pickle; ConfigError when it is missing or unreadable."""
    if not Path(path).is_file():
        raise ConfigError(f"cannot resume: {path} does not exist (the run never finished an epoch)")
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:  # unreadable, truncated or foreign file
        raise ConfigError(f"cannot resume: {path} is not a readable resume state ({exc})") from exc
    if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
        raise ConfigError(f"cannot resume: {path} is not a fer_engine resume state (version {STATE_VERSION})")
    state["rng"]["torch_cpu"] = state["rng"]["torch_cpu"].cpu()
    if "torch_cuda" in state["rng"]:
        state["rng"]["torch_cuda"] = [s.cpu() for s in state["rng"]["torch_cuda"]]
    state["progress"] = TrainingProgress(**state["progress"])
    return state


def _progress_to_dict(progress: TrainingProgress) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(progress)
