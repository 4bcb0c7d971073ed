"""Where the product keeps caches and runs, overridable by environment variables."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CHECKPOINT_DIR = PROJECT_ROOT / "checkpoints" / "default"


def cache_dir() -> Path:
    """User cache folder (`FER_CACHE_DIR`, else `$XDG_CACHE_HOME/fer_engine`, else ~/.cache/fer_engine)."""
    explicit = os.environ.get("FER_CACHE_DIR")
    if explicit:
        path = Path(explicit)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        path = Path(base) / "fer_engine"
    path.mkdir(parents=True, exist_ok=True)
    return path


def runs_root(explicit: str | os.PathLike | None = None) -> Path:
    """Runs root: the argument, else `FER_RUNS_DIR`, else ./runs."""
    path = Path(explicit or os.environ.get("FER_RUNS_DIR") or "runs")
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_checkpoint_dir() -> Path:
    """The default model used by `fer predict` and the dashboard: `FER_DEFAULT_CHECKPOINT`, else checkpoints/default."""
    override = os.environ.get("FER_DEFAULT_CHECKPOINT")
    return Path(override) if override else DEFAULT_CHECKPOINT_DIR


def data_dir() -> Path:
    """The data folder datasets are read from by default (`FER_DATA_DIR`, else ./data); not created."""
    return Path(os.environ.get("FER_DATA_DIR") or "data")


def uploads_root() -> Path:
    """Where the dashboard saves uploaded files, one subfolder per kind (never inside the repository)."""
    path = cache_dir() / "dashboard-uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path
