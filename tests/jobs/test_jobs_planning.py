"""Before queueing: the preset suited to the device and the training-time estimate from the measured figures."""

from __future__ import annotations

import pytest

from fer_engine.jobs import planning
from fer_engine.jobs.planning import CPU_TRAIN_IMAGES_PER_S, estimate_training, format_duration, suggested_preset
from fer_engine.training import get_preset


def test_the_suggested_preset_suits_the_device() -> None:
    assert suggested_preset(cuda_available=False) == "fast_cpu"
    assert suggested_preset(cuda_available=True) == "strong"
    import torch

    assert suggested_preset() == ("strong" if torch.cuda.is_available() else "fast_cpu")


def test_every_preset_arch_has_a_measured_cpu_figure() -> None:
    for name in ("paper", "strong", "fast_cpu"):
        assert get_preset(name).arch in CPU_TRAIN_IMAGES_PER_S


def test_the_estimate_is_epochs_times_images_over_the_measured_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(planning, "suggested_preset", lambda: "fast_cpu")  # as on a CPU-only machine
    strong = estimate_training("vgg19_bn", 60, 28_709, device="auto")
    assert strong.seconds == pytest.approx(60 * 28_709 / CPU_TRAIN_IMAGES_PER_S["vgg19_bn"])
    assert strong.text().startswith("Estimated training time: about 6 h") and "An estimate" in strong.text()
    limited = estimate_training("vgg19_bn_half", 20, 28_709, limit=1000, device="cpu")
    assert limited.images_per_epoch == 1000
    assert limited.seconds == pytest.approx(20 * 1000 / CPU_TRAIN_IMAGES_PER_S["vgg19_bn_half"])


def test_no_estimate_without_a_measured_figure(monkeypatch: pytest.MonkeyPatch) -> None:
    assert estimate_training("vgg19_bn_quarter", 5, 100).text() == \
        "No time estimate: no measured throughput for vgg19_bn_quarter."
    assert estimate_training("vgg19_bn", 5, 100, device="cuda:0").seconds is None
    monkeypatch.setattr(planning, "suggested_preset", lambda: "strong")  # a machine with a GPU
    assert "no measured GPU throughput" in estimate_training("vgg19_bn", 5, 100, device="auto").text()


def test_durations_read_naturally() -> None:
    assert [format_duration(s) for s in (5, 90, 3600, 7000)] == ["1 min", "2 min", "1 h 00 min", "1 h 57 min"]
