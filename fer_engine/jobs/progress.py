"""A job's progress, built from the pipeline's events: step, epoch, batch, ETA and the last metrics."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeGuard

# Event keys the pipeline/trainer may use for the same thing; the first present wins.
_STAGE_KEYS = ("stage", "pipeline_step", "phase")
_EPOCH_KEYS = ("epoch",)
_TOTAL_EPOCH_KEYS = ("total_epochs", "epochs", "num_epochs")
_BATCH_KEYS = ("batch", "step_in_epoch", "batch_index", "iteration")
_STEPS_PER_EPOCH_KEYS = ("steps_per_epoch", "batches_per_epoch", "num_batches", "total_batches")
_NAME_KEYS = ("event", "type", "kind")
_NOT_METRICS = set(
    _STAGE_KEYS
    + _EPOCH_KEYS
    + _TOTAL_EPOCH_KEYS
    + _BATCH_KEYS
    + _STEPS_PER_EPOCH_KEYS
    + _NAME_KEYS
    + ("step", "global_step", "time", "timestamp", "run_id", "epochs_completed", "fraction")
)


@dataclass
class JobProgress:
    """What a job is doing now; stored as the job's `progress_json`."""

    step: str | None = None  # pipeline step: train, embed, heads, evaluate, report
    epoch: int | None = None  # current (or last finished) epoch, 1-based as the trainer counts
    total_epochs: int | None = None
    batch: int | None = None  # optimizer step inside the epoch
    steps_per_epoch: int | None = None
    fraction: float | None = None  # of the current step, 0..1
    eta_seconds: float | None = None  # of the current step, from this attempt's speed
    metrics: dict[str, Any] = field(default_factory=dict)
    steps_done: list[str] = field(default_factory=list)  # pipeline steps finished in this attempt
    message: str | None = None
    updated_at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def event_dict(event: Any) -> dict[str, Any]:
    """An event as a dict, whether the pipeline sends dicts, dataclasses or plain objects."""
    if isinstance(event, dict):
        return event
    if dataclasses.is_dataclass(event) and not isinstance(event, type):
        return dataclasses.asdict(event)
    if hasattr(event, "__dict__"):
        return dict(vars(event))
    return {"message": str(event)}


def _first(data: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        if data.get(key) is not None:
            return data[key]
    return None


class ProgressTracker:
    """Folds pipeline events into a `JobProgress` and estimates the time left from this attempt's pace."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.progress = JobProgress()
        self._clock = clock
        self._pace_start: tuple[float, float] | None = None  # (time, fraction) when the current step was first seen

    def update(self, event: Any) -> JobProgress:
        """Apply one event and return the updated progress."""
        data = event_dict(event)
        progress = self.progress
        stage = _first(data, _STAGE_KEYS)
        if stage is None and isinstance(data.get("step"), str) and data.get("event") != "step_skipped":
            stage = data["step"]
        if stage is not None and stage != progress.step:
            # Epoch counts stay (how far training got); the pace and position inside a step start over.
            progress.step, progress.fraction, progress.eta_seconds, progress.batch = str(stage), None, None, None
            progress.message = None
            self._pace_start = None
        name = _first(data, _NAME_KEYS)
        if name == "step_done" and isinstance(data.get("step"), str) and data["step"] not in progress.steps_done:
            progress.steps_done.append(data["step"])
        for attribute, keys in (
            ("epoch", _EPOCH_KEYS),
            ("total_epochs", _TOTAL_EPOCH_KEYS),
            ("batch", _BATCH_KEYS),
            ("steps_per_epoch", _STEPS_PER_EPOCH_KEYS),
        ):
            value = _first(data, keys)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                setattr(progress, attribute, int(value))
        metrics = data.get("metrics")
        if isinstance(metrics, dict):
            progress.metrics.update({k: v for k, v in metrics.items() if _is_number(v)})
        progress.metrics.update({k: v for k, v in data.items() if k not in _NOT_METRICS and _is_number(v)})
        if isinstance(data.get("message"), str):
            progress.message = data["message"]
        if is_epoch_end(data):
            progress.batch = None
        self._estimate(data)
        progress.updated_at = time.time()
        return progress

    def _estimate(self, data: dict[str, Any]) -> None:
        progress = self.progress
        fraction = self._fraction(data)
        if fraction is None:
            return
        progress.fraction = fraction
        now = self._clock()
        if self._pace_start is None:
            self._pace_start = (now, fraction)
            return
        started_at, start_fraction = self._pace_start
        done = fraction - start_fraction
        if done > 0 and now > started_at:
            progress.eta_seconds = max(0.0, (1.0 - fraction) * (now - started_at) / done)

    def _fraction(self, data: dict[str, Any]) -> float | None:
        progress = self.progress
        if isinstance(data.get("fraction"), (int, float)):
            return min(1.0, max(0.0, float(data["fraction"])))
        if progress.step not in (None, "train") or not progress.total_epochs or progress.epoch is None:
            return None  # epochs measure the train step only; other steps report their own fraction
        epochs_done = progress.epoch if is_epoch_end(data) else max(progress.epoch - 1, 0)
        within = 0.0
        if not is_epoch_end(data) and progress.batch is not None and progress.steps_per_epoch:
            within = min(progress.batch / progress.steps_per_epoch, 1.0)
        return min(1.0, (epochs_done + within) / progress.total_epochs)


def is_epoch_end(data: dict[str, Any]) -> bool:
    """An end-of-epoch event: named so, or carrying validation metrics (the trainer's on_epoch record)."""
    name = str(_first(data, _NAME_KEYS) or "")
    if name:
        return name in ("epoch", "epoch_end", "epoch_done")
    metrics = data.get("metrics")
    keys = metrics if isinstance(metrics, dict) else data
    return any(str(k).startswith("val_") for k in keys)


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def progress_fraction(progress: dict[str, Any] | None, state: str = "running") -> float | None:
    """How far the job's current step is, in [0, 1]: the stored fraction, else epoch / total_epochs while
    training; 1 for a succeeded job, None where nothing measures it."""
    if state == "succeeded":
        return 1.0
    if not progress:
        return None
    if _is_number(progress.get("fraction")):
        return max(0.0, min(1.0, float(progress["fraction"])))
    if progress.get("step") not in (None, "train"):
        return None
    epoch, total = progress.get("epoch"), progress.get("total_epochs")
    if _is_number(epoch) and _is_number(total) and total > 0:
        return max(0.0, min(1.0, epoch / total))
    return None


def describe_progress(progress: dict[str, Any] | None, state: str = "running") -> str:
    """One line for people: the current step and where it is (epochs and time left only while training).

    After training, a job never reads 'train · epoch 2/2 · ~0.0 min left': each step names itself.
    """
    if not progress:
        return ""
    step = progress.get("step")
    done = [name for name in progress.get("steps_done") or [] if isinstance(name, str)]
    if state == "succeeded":
        return "done" + (f": {', '.join(done)}" if done else "")
    parts = [str(step)] if step else []
    if step == "train" and progress.get("epoch") is not None:
        total = progress.get("total_epochs")
        parts.append(f"epoch {progress['epoch']}" + (f"/{total}" if total else ""))
    if progress.get("message"):
        parts.append(str(progress["message"]))
    if state == "running" and _is_number(progress.get("eta_seconds")):
        parts.append(f"~{progress['eta_seconds'] / 60:.1f} min left in this step")
    if step == "train":
        metrics = progress.get("metrics") or {}
        parts += [f"{name} {value:.4g}" for name, value in list(metrics.items())[:3] if _is_number(value)]
    if state in ("failed", "cancelled") and step:
        parts[0] = f"stopped in {step}"
    return " · ".join(parts)
