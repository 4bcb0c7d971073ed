"""`train()`: one training run from a config and a dataset into a run folder, resumable and torchrun-aware.

Decoded splits stay uint8 tensors on the training device; every epoch is a seeded permutation sliced into
batches that are augmented in one batched call, so no per-image Python runs in the loop. Each epoch ends with
validation (`run_inference`), one line in metrics.jsonl, the best checkpoint, and state/last.pt for resuming.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from fer_engine.data.dataset import FerDataset
from fer_engine.device import autocast, device_name, resolve_device, resolve_precision
from fer_engine.errors import ConfigError
from fer_engine.io_utils import append_jsonl, atomic_write_json, atomic_write_text, read_jsonl
from fer_engine.models import create_model
from fer_engine.models.checkpoint import ModelCard, save_checkpoint
from fer_engine.models.vgg import FerVGG
from fer_engine.runs.layout import RunPaths
from fer_engine.runs.run_config import run_config_dict
from fer_engine.training.augment import augment_batch
from fer_engine.training.batches import (
    STREAM_AUGMENT,
    derived_seed,
    epoch_batches,
    global_batch_size,
    steps_per_epoch,
    training_splits,
)
from fer_engine.training.config import TrainConfig
from fer_engine.training.distributed import DistributedContext
from fer_engine.training.objectives import Objective, build_objective
from fer_engine.training.resume_state import (
    TrainingProgress,
    load_resume_state,
    restore_rng_states,
    save_resume_state,
)
from fer_engine.training.schedule import LrSchedule, build_optimizer, build_schedule, current_lr
from fer_engine.training.validation import Validator

log = logging.getLogger(__name__)

# Fields that may change when a run is resumed (the rest must stay as trained).
RESUMABLE_FIELDS = ("epochs", "device", "precision")
# Whether a larger value of each selection metric is better.
HIGHER_IS_BETTER = {"val_loss": False, "val_accuracy": True, "val_knn_accuracy": True}

EpochCallback = Callable[[dict[str, Any]], None]
StepCallback = Callable[[int, int, int, float], None]


@dataclass
class TrainResult:
    """How a run ended: 'succeeded' (all epochs or early stop) or 'interrupted' (resumable), and its best epoch."""

    status: str
    run: RunPaths
    epochs_completed: int
    best_epoch: int | None
    best_metrics: dict[str, Any] = field(default_factory=dict)
    stopped_early: bool = False
    total_seconds: float = 0.0
    images_per_second: float = 0.0
    summary: dict[str, Any] = field(default_factory=dict)
    final_model: nn.Module | None = field(default=None, repr=False)  # last-epoch weights (the best are in checkpoint/)

    @property
    def checkpoint_dir(self):
        return self.run.checkpoint_dir


class EmbeddingAndLogits(nn.Module):
    """Model wrapper whose forward returns (GAP embedding, logits), so DDP and torch.compile see one forward."""

    def __init__(self, model: FerVGG):
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        embedding = self.model.forward_features(images)
        return embedding, self.model.forward_head(embedding)


def check_training_inputs(
    config: TrainConfig, dataset: FerDataset, device: torch.device | None = None
) -> tuple[torch.device, str]:
    """Every check that can fail before training starts (config, device, splits, weights, objective).

    Returns the device (`device` when the caller resolved `config.device` already) and precision training will
    use. Raises FerError subclasses with what to fix.
    """
    config.validate()
    device = device if device is not None else resolve_device(config.device)
    precision = resolve_precision(config.precision, device)
    train_split, _ = training_splits(dataset, config)
    if config.pretrained:
        from fer_engine.models.imagenet_weights import resolve_weights_file

        resolve_weights_file(config.arch, config.pretrained)
    build_objective(config, train_split.labels, len(dataset.class_names))
    if config.loss != "ce":
        # The P x K sampler and k-NN scoring come from the metric-learning package: fail now if absent.
        epoch_batches(config, train_split.labels, 1)
    return device, precision


def check_resumable(trained: TrainConfig, requested: TrainConfig, run: RunPaths) -> None:
    """The one resume check: a run continues only with the config it was trained with, but for RESUMABLE_FIELDS.

    ConfigError naming the fields that differ."""
    same = trained.with_overrides(**{name: getattr(requested, name) for name in RESUMABLE_FIELDS})
    if same == requested:
        return
    before, after = same.to_dict(), requested.to_dict()
    changed = [f"{name} ({before[name]!r} -> {after[name]!r})" for name in after if before.get(name) != after[name]]
    raise ConfigError(
        f"cannot resume run {run.run_id}: it continues with the config it was trained with, and only "
        f"{', '.join(RESUMABLE_FIELDS)} may change; changed: {', '.join(changed)}"
    )


def train(
    config: TrainConfig,
    dataset: FerDataset,
    run: RunPaths,
    *,
    resume: bool = False,
    on_epoch: EpochCallback | None = None,
    on_step: StepCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    progress_bar: bool | None = None,
    step_interval: int = 10,
    device: torch.device | None = None,
) -> TrainResult:
    """Train `config` on `dataset` into `run` (resuming from state/last.pt if `resume`).

    `on_epoch(record)` gets each metrics.jsonl record; `on_step(epoch, step, steps_per_epoch, loss)` is called
    every `step_interval` steps and at each epoch's last step; `should_stop()` is polled before every step (every
    `step_interval` steps under torchrun) and ends the run as 'interrupted', resumable from the last completed
    epoch (the partial epoch is trained again). Under torchrun every rank calls this with the same arguments;
    `batch_size` is the global batch, rank 0 alone validates and writes files. `progress_bar` None shows tqdm
    only when stderr is a terminal. `device`: `config.device` already resolved by the caller (resolved here if None).
    """
    base_device, precision = check_training_inputs(config, dataset, device)
    context = DistributedContext.from_environment(base_device.type)
    try:
        session = _TrainingSession(config, dataset, run, context, base_device, precision)
        show_bar = (sys.stderr.isatty() if progress_bar is None else progress_bar) and context.is_main
        return session.run(resume, on_epoch, on_step, should_stop, show_bar, max(1, step_interval))
    finally:
        context.close()


class _TrainingSession:
    """The state of one `train()` call: model, optimizer, schedule, device-resident data, progress."""

    def __init__(
        self,
        config: TrainConfig,
        dataset: FerDataset,
        run: RunPaths,
        context: DistributedContext,
        base_device: torch.device,
        precision: str,
    ):
        self.config = config
        self.dataset = dataset
        self.run_paths = run
        self.context = context
        if base_device.type == "cuda" and context.enabled:
            base_device = torch.device("cuda", context.local_rank)
            torch.cuda.set_device(base_device)
        self.device = base_device
        self.precision = precision
        if context.enabled and global_batch_size(config) % context.world_size:
            raise ConfigError(
                f"the global batch ({global_batch_size(config)}) must divide evenly over {context.world_size} processes"
            )
        self.num_classes = len(dataset.class_names)
        train_split, val_split = training_splits(dataset, config)
        self.train_labels_np = train_split.labels.astype(np.int64)
        self.val_labels_np = val_split.labels.astype(np.int64)
        self.train_images = torch.from_numpy(np.ascontiguousarray(train_split.images)).to(self.device)
        self.train_labels = torch.from_numpy(self.train_labels_np).to(self.device)
        val_images = torch.from_numpy(np.ascontiguousarray(val_split.images)).to(self.device)
        self.steps_per_epoch = steps_per_epoch(config, len(self.train_labels_np))

        torch.manual_seed(config.seed)
        np.random.seed(config.seed % (2**32))
        self.model = create_model(
            config.arch,
            num_classes=self.num_classes,
            input_size=config.input_size,
            pretrained=config.pretrained,
            dropout=config.dropout,
        ).to(self.device)
        if config.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.objective: Objective = build_objective(config, self.train_labels_np, self.num_classes).to(self.device)
        self.optimizer = build_optimizer(config, self.model)
        self.schedule: LrSchedule = build_schedule(config, self.optimizer, self.steps_per_epoch)
        self.step_module = self._wrap_for_training()
        self.validator = Validator.create(
            config,
            val_images,
            self.val_labels_np,
            self.train_images,
            self.train_labels_np,
            self.num_classes,
            self.device,
            self.precision,
        )
        self.progress = TrainingProgress()

    def _wrap_for_training(self) -> nn.Module:
        module: nn.Module = EmbeddingAndLogits(self.model)
        if self.config.compile:
            # torch.compile of a Module returns an OptimizedModule (a Module); its stub says a plain callable
            module = torch.compile(module)  # type: ignore[assignment]
        if self.context.enabled:
            from torch.nn.parallel import DistributedDataParallel

            module = DistributedDataParallel(
                module,
                device_ids=[self.device.index] if self.device.type == "cuda" else None,
                # 'triplet' alone never uses the classifier head.
                find_unused_parameters=self.config.loss == "triplet",
            )
        return module

    # ---- the run -------------------------------------------------------------------------------

    def run(
        self,
        resume: bool,
        on_epoch: EpochCallback | None,
        on_step: StepCallback | None,
        should_stop: Callable[[], bool] | None,
        show_bar: bool,
        step_interval: int,
    ) -> TrainResult:
        paths = self.run_paths
        if resume:
            self._load_resume_state()
        elif self.context.is_main:
            paths.root.mkdir(parents=True, exist_ok=True)
            atomic_write_text(paths.metrics_log, "")
            if not paths.config.exists():
                atomic_write_json(paths.config, run_config_dict(self.config, self.dataset))
        self.context.barrier()
        status = "succeeded"
        start_epoch = self.progress.epoch + 1
        for epoch in range(start_epoch, self.config.epochs + 1):
            if self.progress.stopped_early:
                break
            record = self._train_epoch(epoch, on_step, should_stop, show_bar, step_interval)
            if record is None:
                status = "interrupted"
                break
            if on_epoch is not None and self.context.is_main:
                on_epoch(record)
        return self._finish(status)

    def _train_epoch(
        self,
        epoch: int,
        on_step: StepCallback | None,
        should_stop: Callable[[], bool] | None,
        show_bar: bool,
        step_interval: int,
    ) -> dict[str, Any] | None:
        """One epoch of steps, then validation and bookkeeping; None when `should_stop` interrupted it."""
        config, context = self.config, self.context
        started = time.perf_counter()
        self.epoch_start_lr = current_lr(self.optimizer)
        batches = epoch_batches(config, self.train_labels_np, epoch)
        generator = torch.Generator().manual_seed(derived_seed(config.seed, epoch, STREAM_AUGMENT))
        # Sums over the epoch: loss * n, correct, n, and the loss parts * n (ce, triplet).
        totals = torch.zeros(5, dtype=torch.float64, device=self.device)
        bar = _progress_bar(len(batches), f"epoch {epoch}/{config.epochs}", show_bar)
        # One host-to-device copy of the epoch's indices; each step slices it on the device.
        epoch_indices = torch.from_numpy(np.stack(batches)).to(self.device)
        self.step_module.train()
        for step, batch in enumerate(epoch_indices):
            # Under torchrun the ranks agree on stopping with a collective, so only every `step_interval` steps.
            if (not context.enabled or step % step_interval == 0) and context.any(
                bool(should_stop()) if should_stop is not None else False, self.device
            ):
                bar.close()
                return None
            loss, batch_totals = self._train_step(batch, generator)
            totals += batch_totals
            if on_step is not None and ((step + 1) % step_interval == 0 or step + 1 == len(batches)):
                on_step(epoch, step + 1, len(batches), float(loss))
            bar.update(1)
            if show_bar and (step + 1) % step_interval == 0:
                bar.set_postfix(loss=f"{float(loss):.4f}")
        bar.close()
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        train_seconds = time.perf_counter() - started
        epoch_totals: list[float] = context.sum(totals).cpu().tolist()
        val_metrics = context.broadcast(self.validator.evaluate(self.model) if context.is_main else None)
        epoch_seconds = time.perf_counter() - started
        return self._end_epoch(epoch, epoch_totals, val_metrics, train_seconds, epoch_seconds)

    def _train_step(self, indices: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Forward, backward and update on this rank's share of one global batch; returns (loss, sums)."""
        # The whole global batch is augmented with the shared generator and each rank keeps its share, so the
        # random draws (and so the images) are those of a single-process run; only BN batch statistics differ.
        world = self.context.world_size
        inputs = augment_batch(self.train_images[indices], self.config.augment, generator)
        if world > 1:
            indices, inputs = indices[self.context.rank :: world], inputs[self.context.rank :: world]
        labels = self.train_labels[indices]
        if self.config.channels_last:
            inputs = inputs.contiguous(memory_format=torch.channels_last)
        with autocast(self.device, self.precision):
            embeddings, logits = self.step_module(inputs)
        loss, parts = self.objective(embeddings, logits, labels)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.schedule.step_batch()
        with torch.no_grad():
            count = float(labels.numel())
            zero = torch.zeros((), device=self.device)
            sums = torch.stack(
                [
                    loss.detach().double() * count,
                    (logits.argmax(1) == labels).sum().double(),
                    torch.full((), count, dtype=torch.float64, device=self.device),
                    parts.get("ce_loss", zero).double() * count,
                    parts.get("triplet_loss", zero).double() * count,
                ]
            )
        return loss.detach(), sums

    def _end_epoch(
        self, epoch: int, totals: list[float], val_metrics: dict[str, Any], train_seconds: float, epoch_seconds: float
    ) -> dict[str, Any]:
        """Selection, schedule, early stopping, and the epoch's files (metrics line, checkpoint, resume state)."""
        config, progress = self.config, self.progress
        loss_sum, correct, count, ce_sum, triplet_sum = totals
        progress.elapsed_seconds += epoch_seconds
        progress.train_seconds += train_seconds
        progress.train_images += int(count)
        record: dict[str, Any] = {
            "epoch": epoch,
            "train_loss": loss_sum / count,
            "train_accuracy": correct / count if config.loss != "triplet" else None,
            **val_metrics,
            "lr": self.epoch_start_lr,  # the epoch's (first step's) learning rate
            "epoch_seconds": epoch_seconds,
            "train_seconds": train_seconds,
            "images_per_second": count / train_seconds if train_seconds > 0 else None,
            "elapsed_seconds": progress.elapsed_seconds,
        }
        if config.loss == "ce+triplet":
            record["train_ce_loss"] = ce_sum / count
            record["train_triplet_loss"] = triplet_sum / count
        value = record.get(config.select_metric)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            raise ConfigError(f"select_metric '{config.select_metric}' is not computed for loss '{config.loss}'")
        improved = progress.best_value is None or (
            value > progress.best_value if HIGHER_IS_BETTER[config.select_metric] else value < progress.best_value
        )
        record["is_best"] = improved
        if improved:
            progress.best_value, progress.best_epoch = float(value), epoch
            progress.best_record = dict(record)
            progress.epochs_without_improvement = 0
        else:
            progress.epochs_without_improvement += 1
        self.schedule.step_epoch(float(value))
        patience = config.early_stopping_patience
        progress.stopped_early = patience is not None and progress.epochs_without_improvement >= patience
        progress.epoch = epoch
        if self.context.is_main:
            append_jsonl(self.run_paths.metrics_log, record)
            if improved:
                self._save_checkpoint(record)
            save_resume_state(
                self.run_paths.resume_state,
                model_state=self.model.state_dict(),
                optimizer_state=self.optimizer.state_dict(),
                scheduler_state=self.schedule.state_dict(),
                progress=progress,
                config=config.to_dict(),
            )
            log.info("epoch %d: %s", epoch, _format_record(record))
        return record

    def _save_checkpoint(self, record: dict[str, Any]) -> None:
        """The best-so-far model, with a card saying how it was selected (on val, never on test)."""
        config = self.config
        metrics = {key: value for key, value in record.items() if key.startswith("val_") or key == "epoch"}
        metrics.update({"selected_on": "val", "select_metric": config.select_metric, "tta": config.eval_tta})
        card = ModelCard(
            arch=config.arch,
            num_classes=self.num_classes,
            class_names=list(self.dataset.class_names),
            input_size=config.input_size,
            embedding_dim=int(self.model.embedding_dim),
            config=config.to_dict(),
            data_fingerprint=self.dataset.fingerprint,
            metrics=metrics,
            extra={
                "pretrained": config.pretrained,
                "selected_on": "val",
                "epoch": record["epoch"],
                "ensemble": False,
                "run_id": self.run_paths.run_id,
            },
        )
        save_checkpoint(self.model, card, self.run_paths.checkpoint_dir)

    def _load_resume_state(self) -> None:
        """Continue after the last completed epoch: weights, optimizer, schedule, progress and RNG states."""
        state = load_resume_state(self.run_paths.resume_state, self.device)
        check_resumable(TrainConfig.from_dict(state["config"]), self.config, self.run_paths)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.schedule.load_state_dict(state["scheduler"])
        self.progress = state["progress"]
        restore_rng_states(state["rng"])
        if self.context.is_main:
            # Drop lines of an epoch that was logged but whose state was never saved (it is trained again).
            kept = [r for r in read_jsonl(self.run_paths.metrics_log) if r.get("epoch", 0) <= self.progress.epoch]
            atomic_write_text(self.run_paths.metrics_log, "".join(_json_line(r) for r in kept))

    def _finish(self, status: str) -> TrainResult:
        """Write summary.json (rank 0) and return the result."""
        progress, config = self.progress, self.config
        images_per_second = progress.train_images / progress.train_seconds if progress.train_seconds > 0 else 0.0
        best = progress.best_record
        summary = {
            "status": status,
            "run_id": self.run_paths.run_id,
            "best_epoch": progress.best_epoch,
            "select_metric": config.select_metric,
            "best_val_loss": best.get("val_loss"),
            "best_val_accuracy": best.get("val_accuracy"),
            "best_val_macro_f1": best.get("val_macro_f1"),
            "best_val_knn_accuracy": best.get("val_knn_accuracy"),
            "epochs_completed": progress.epoch,
            "epochs_planned": config.epochs,
            "stopped_early": progress.stopped_early,
            "total_seconds": progress.elapsed_seconds,
            "train_seconds": progress.train_seconds,
            "images_per_second": images_per_second,
            "device": str(self.device),
            "device_name": device_name(self.device),
            "precision": self.precision,
            "world_size": self.context.world_size,
            "torch_version": torch.__version__,
            "arch": config.arch,
            "preset": config.preset,
            "loss": config.loss,
            "pretrained": config.pretrained,
            "data_fingerprint": self.dataset.fingerprint,
            "num_train": int(len(self.train_labels_np)),
            "num_val": int(len(self.val_labels_np)),
            "steps_per_epoch": self.steps_per_epoch,
            "global_batch_size": global_batch_size(config),
        }
        if self.context.is_main:
            atomic_write_json(self.run_paths.summary, summary)
        self.context.barrier()
        return TrainResult(
            status=status,
            run=self.run_paths,
            epochs_completed=progress.epoch,
            best_epoch=progress.best_epoch,
            best_metrics=dict(best),
            stopped_early=progress.stopped_early,
            total_seconds=progress.elapsed_seconds,
            images_per_second=images_per_second,
            summary=summary,
            final_model=self.model,
        )


class _NoBar:
    def update(self, _n: int = 1) -> None:
        pass

    def set_postfix(self, **_kw: Any) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int, description: str, show: bool):
    """A tqdm bar on stderr, or a silent stand-in."""
    if not show:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=description, leave=False, dynamic_ncols=True)


def _format_record(record: dict[str, Any]) -> str:
    parts = []
    for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "val_macro_f1", "val_knn_accuracy", "lr"):
        if record.get(key) is not None:
            parts.append(f"{key}={record[key]:.4g}")
    return " ".join(parts)


def _json_line(record: dict[str, Any]) -> str:
    import json

    return json.dumps(record) + "\n"
