"""`--pruner-warmup-epochs W`: the first W epochs of a trial are never pruned (epochs are reported as steps 1, 2, ...).
A sweep on FER2013 ran with W = 1 and had trials pruned after their first epoch: Optuna counts warm-up in steps
from 0, and the setting was passed through unchanged."""

from __future__ import annotations

import optuna
import pytest

from fer_engine.sweeps import SweepConfig
from fer_engine.sweeps.study import make_pruner


def _pruned_at(warmup_epochs: int) -> list[int]:
    """Epochs at which a clearly worse second trial is pruned, after one complete trial."""
    config = SweepConfig(name="w", space={"lr": {"low": 0.01, "high": 0.1}}, trials=2, parallel=1,
                         pruner="median", pruner_startup_trials=1, pruner_warmup_epochs=warmup_epochs,
                         base_spec={"data_path": "unused.zip", "preset": "fast_cpu", "overrides": {"epochs": 3}})
    study = optuna.create_study(direction="maximize", pruner=make_pruner(config))
    good = study.ask()
    for epoch in (1, 2, 3):
        good.report(0.5 + epoch / 10, epoch)
    study.tell(good, 0.8)
    bad = study.ask()
    pruned = []
    for epoch in (1, 2, 3):
        bad.report(0.1, epoch)
        if bad.should_prune():
            pruned.append(epoch)
    return pruned


@pytest.mark.parametrize(("warmup_epochs", "first_prunable"), [(0, 1), (1, 2), (2, 3)])
def test_the_first_warmup_epochs_are_never_pruned(warmup_epochs: int, first_prunable: int) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    assert _pruned_at(warmup_epochs)[0] == first_prunable
