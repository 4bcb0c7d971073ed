"""Fixtures of the sweep tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from fer_engine.data.synthetic import write_image_folder


@pytest.fixture
def tiny_zip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # job processes inherit it: 2 shared cores, no oversubscription
    return write_image_folder(tmp_path / "tiny", {"train": 8, "val": 3}, as_zip=True)
