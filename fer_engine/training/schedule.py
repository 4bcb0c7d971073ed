"""Optimizer and learning-rate schedule from the config; per-step (cosine, one-cycle) or per-epoch (plateau)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from fer_engine.training.config import TrainConfig


def build_optimizer(config: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    """SGD (momentum, nesterov) or AdamW; weight decay on conv/linear weights only, not on biases or BN."""
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for parameter in model.parameters():
        if not parameter.requires_grad:
            continue
        (no_decay if parameter.ndim <= 1 else decay).append(parameter)
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            groups, lr=config.lr, momentum=config.momentum, nesterov=config.nesterov and config.momentum > 0
        )
    return torch.optim.AdamW(groups, lr=config.lr)


class WarmupCosine:
    """LR factor: linear warm-up over `warmup_steps`, then cosine decay to 0 (constant 1 when `cosine` is False)."""

    def __init__(self, warmup_steps: int, total_steps: int, cosine: bool = True):
        self.warmup_steps = int(warmup_steps)
        self.total_steps = int(total_steps)
        self.cosine = bool(cosine)

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        if not self.cosine:
            return 1.0
        progress = (step - self.warmup_steps) / max(1, self.total_steps - self.warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


@dataclass
class LrSchedule:
    """A torch scheduler and when it steps: after every optimizer step, or once per epoch on a val metric."""

    scheduler: torch.optim.lr_scheduler.LRScheduler | None  # ReduceLROnPlateau is one too
    per_step: bool

    def step_batch(self) -> None:
        if self.scheduler is not None and self.per_step:
            self.scheduler.step()

    def step_epoch(self, metric: float | None) -> None:
        """Plateau schedules step on the epoch's selection metric (NaN/None leaves them unchanged)."""
        if self.per_step or metric is None or math.isnan(metric):
            return
        if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            self.scheduler.step(metric)

    def state_dict(self) -> dict:
        return self.scheduler.state_dict() if self.scheduler is not None else {}

    def load_state_dict(self, state: dict) -> None:
        if self.scheduler is not None and state:
            self.scheduler.load_state_dict(state)


def build_schedule(config: TrainConfig, optimizer: torch.optim.Optimizer, steps_per_epoch: int) -> LrSchedule:
    """The scheduler named by `config.scheduler`; warm-up is in optimizer steps (`warmup_epochs * steps_per_epoch`)."""
    total_steps = max(1, config.epochs * steps_per_epoch)
    warmup_steps = int(round(config.warmup_epochs * steps_per_epoch))
    if config.scheduler == "plateau":
        mode: Literal["min", "max"] = "min" if config.select_metric == "val_loss" else "max"
        plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode=mode, factor=config.plateau_factor, patience=config.plateau_patience
        )
        return LrSchedule(plateau, per_step=False)
    if config.scheduler == "onecycle":
        pct_start = config.warmup_epochs / config.epochs if config.warmup_epochs > 0 else 0.3
        onecycle = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=config.lr, total_steps=total_steps, pct_start=pct_start, cycle_momentum=False
        )
        return LrSchedule(onecycle, per_step=True)
    if config.scheduler == "cosine" or warmup_steps > 0:
        factor = WarmupCosine(warmup_steps, total_steps, cosine=config.scheduler == "cosine")
        return LrSchedule(torch.optim.lr_scheduler.LambdaLR(optimizer, factor), per_step=True)
    return LrSchedule(None, per_step=True)


def current_lr(optimizer: torch.optim.Optimizer) -> float:
    """The learning rate of the first parameter group."""
    return float(optimizer.param_groups[0]["lr"])
