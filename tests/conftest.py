"""Shared test setup: isolate caches and runs in temp folders; real-data tests skip without FER2013_PATH."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test writes runs under its own temp folder; caches go to FER_CACHE_DIR or one session temp folder."""
    monkeypatch.setenv("FER_RUNS_DIR", str(tmp_path_factory.mktemp("runs")))
    if "FER_CACHE_DIR" not in os.environ:  # .ci/run may set a persistent cache; otherwise one per session
        monkeypatch.setenv("FER_CACHE_DIR", str(_session_cache(tmp_path_factory)))


_CACHE: dict[str, Path] = {}


def _session_cache(factory: pytest.TempPathFactory) -> Path:
    if "dir" not in _CACHE:
        _CACHE["dir"] = factory.mktemp("cache")
    return _CACHE["dir"]


@pytest.fixture
def fer2013_path() -> Path:
    """The real FER2013 source named by FER2013_PATH; the test is skipped when it is unset or missing."""
    value = os.environ.get("FER2013_PATH")
    if not value:
        pytest.skip("FER2013_PATH is not set")
    path = Path(value)
    if not path.exists():
        pytest.skip(f"FER2013_PATH={value} does not exist")
    return path
