"""The learning-rate schedule of a short run of the default preset (its warm-up shortened to fit)."""

from __future__ import annotations

import pytest
import torch

from fer_engine.training import get_preset
from fer_engine.training.schedule import build_schedule, current_lr


@pytest.mark.parametrize("epochs", [1, 2, 3])
def test_short_runs_warm_up_then_decay_within_their_epochs(epochs):
    config = get_preset("strong").with_overrides(epochs=epochs)
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=config.lr)
    steps_per_epoch = 10
    schedule = build_schedule(config, optimizer, steps_per_epoch)
    rates = []
    for _ in range(epochs * steps_per_epoch):
        rates.append(current_lr(optimizer))
        optimizer.step()
        schedule.step_batch()
    peak_step = rates.index(max(rates))
    assert peak_step == round(config.warmup_epochs * steps_per_epoch) - 1  # the warm-up ends at the peak
    assert max(rates) == pytest.approx(config.lr) and rates[0] < config.lr / 2
    assert rates[-1] < config.lr * 0.1  # the cosine decays over the rest of the run
