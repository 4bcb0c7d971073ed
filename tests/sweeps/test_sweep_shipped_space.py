"""The space of the FER2013 sweep reported in docs/results.md (scripts/sweeps/) stays valid as TrainConfig moves."""

from __future__ import annotations

from pathlib import Path

from fer_engine.sweeps.space import load_space_file

SPACE = Path(__file__).resolve().parents[2] / "scripts" / "sweeps" / "fast_cpu_space.yaml"


def test_the_reported_sweep_space_parses_and_names_its_five_parameters() -> None:
    space = load_space_file(SPACE)
    assert [param.name for param in space.params] == [
        "lr", "weight_decay", "label_smoothing", "augment.random_erasing", "augment.rotation_degrees"]
    assert space.head_names == []
