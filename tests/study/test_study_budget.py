"""Budget planning: epochs first, then the image limit, so the estimate fits the budget."""

from __future__ import annotations

import pytest

from fer_engine.study.budget import (
    MIN_EPOCHS, CellWorkload, Throughput, estimate_cell_seconds, measure_throughput, plan_study,
)

SPEED = Throughput(train_images_per_second=100.0, eval_images_per_second=400.0, arch="x", batch_size=112, device="cpu")
FULL = CellWorkload(n_train=28_709, n_val=3_589, n_test=0, knn_reference_images=5_000, n_heads=4)


def test_estimate_counts_training_validation_embedding_and_heads():
    one_epoch = estimate_cell_seconds(FULL, SPEED, 1, None)
    two_epochs = estimate_cell_seconds(FULL, SPEED, 2, None)
    per_epoch = 28_709 / 100 + (3_589 + 5_000) / 400
    assert two_epochs - one_epoch == pytest.approx(per_epoch)
    assert estimate_cell_seconds(FULL, SPEED, 1, 1000) < one_epoch


def test_a_generous_budget_keeps_the_preset_epochs_and_all_images():
    plan = plan_study(FULL, 6, SPEED, budget_seconds=6 * 20 * 3600, max_epochs=20)
    assert (plan.epochs, plan.limit) == (20, None)
    assert plan.estimated_total_seconds <= plan.budget_seconds


def test_a_tight_budget_lowers_epochs_then_the_limit():
    medium = plan_study(FULL, 6, SPEED, budget_seconds=6 * 3000, max_epochs=20)
    assert MIN_EPOCHS <= medium.epochs < 20 and medium.limit is None
    assert medium.estimated_seconds_per_cell <= 3000
    tight = plan_study(FULL, 6, SPEED, budget_seconds=3600, max_epochs=20)
    assert tight.epochs == MIN_EPOCHS and tight.limit is not None and tight.limit < 28_709
    assert tight.estimated_total_seconds <= 3600
    # The limit is the largest that fits: one more image per split would not.
    assert estimate_cell_seconds(FULL, SPEED, tight.epochs, tight.limit + 1) * 6 > 3600


def test_fixed_epochs_are_kept_and_the_limit_absorbs_the_budget():
    plan = plan_study(FULL, 2, SPEED, budget_seconds=1200, max_epochs=20, epochs=5)
    assert plan.epochs == 5 and plan.limit is not None
    assert plan.estimated_total_seconds <= 1200


def test_throughput_is_measured_on_the_named_model(monkeypatch):
    import torch

    import fer_engine.models as models

    built = []

    def tiny_model(arch, **kwargs):
        built.append(arch)
        return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(48 * 48, 7))

    monkeypatch.setattr(models, "create_model", tiny_model)
    speed = measure_throughput("vgg19_bn_quarter", batch_size=8, steps=2)
    assert built == ["vgg19_bn_quarter"]
    assert speed.train_images_per_second > 0 and speed.eval_images_per_second > 0
    assert (speed.arch, speed.batch_size, speed.device) == ("vgg19_bn_quarter", 8, "cpu")


@pytest.mark.slow
def test_measured_throughput_of_a_real_backbone_is_positive():
    speed = measure_throughput("vgg19_bn_quarter", batch_size=4, steps=1)
    assert speed.train_images_per_second > 0 and speed.eval_images_per_second > speed.train_images_per_second / 10
