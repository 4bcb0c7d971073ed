"""The one resolver: a run id, a run folder, a checkpoint folder or its weights file -> the run (or checkpoint).

Every command, job and page that is handed "a run" goes through here, so the same text names the same run
everywhere: an id under the runs root first, then a path.
"""

from __future__ import annotations

import os
from pathlib import Path

from fer_engine.errors import ModelError, RunNotFoundError
from fer_engine.paths import runs_root as default_runs_root
from fer_engine.runs.layout import (
    CARD_FILE,
    CHECKPOINT_DIR,
    CONFIG_FILE,
    SUMMARY_FILE,
    WEIGHTS_FILE,
    RunPaths,
    is_run_folder,
    is_valid_run_id,
)

RunRef = str | os.PathLike | RunPaths


def resolve_run(ref: RunRef, runs_root: str | Path | None = None) -> RunPaths:
    """The run named by `ref`: a RunPaths, a run id under `runs_root` (default: $FER_RUNS_DIR), a run folder
    anywhere (the shipped model, an example), or a run's checkpoint folder or weights file.

    RunNotFoundError names what was given and what a run looks like."""
    if isinstance(ref, RunPaths):
        return ref
    text = os.fspath(ref)
    root = default_runs_root(runs_root)
    if is_valid_run_id(text) and (root / text).is_dir():
        return RunPaths(root / text)
    path = Path(text).expanduser()
    if is_run_folder(path):
        return RunPaths(path)
    checkpoint = _checkpoint_folder(path)
    run = run_of_checkpoint(checkpoint) if checkpoint is not None else None
    if run is not None:
        return run
    invalid = "" if is_valid_run_id(text) else " (not a valid run id: letters, digits, '_', '-', '.')"
    raise RunNotFoundError(
        f"no run '{text}': it is neither a run id under {root}{invalid} nor a run folder (a folder with {CONFIG_FILE}, "
        f"{SUMMARY_FILE} or {CHECKPOINT_DIR}/); see `fer runs list`")


def run_of_checkpoint(checkpoint_dir: str | Path) -> RunPaths | None:
    """The run a checkpoint folder belongs to (`<run>/checkpoint` of a folder with the run's config, summary or
    heads), or None for a bare checkpoint folder."""
    checkpoint_dir = Path(checkpoint_dir)
    run = RunPaths(checkpoint_dir.parent)
    if checkpoint_dir.name != CHECKPOINT_DIR:
        return None
    if run.config.is_file() or run.summary.is_file() or run.heads_dir.is_dir():
        return run
    return None


def resolve_checkpoint_dir(ref: RunRef, runs_root: str | Path | None = None) -> Path:
    """The checkpoint folder named by `ref`: that folder, its weights file, a run (folder, RunPaths or id).

    ModelError when no folder with the weights and the card is found."""
    if isinstance(ref, RunPaths):
        text, path = str(ref.root), ref.checkpoint_dir
    else:
        text = os.fspath(ref)
        path = Path(text).expanduser()
    found = _checkpoint_folder(path) or _checkpoint_folder(path / CHECKPOINT_DIR)
    if found is None and (runs_root is not None or not path.exists()) and is_valid_run_id(text):
        found = _checkpoint_folder(default_runs_root(runs_root) / text / CHECKPOINT_DIR)
    if found is None:
        raise ModelError(f"no checkpoint at '{text}': expected a folder with {WEIGHTS_FILE} and {CARD_FILE}, or a run")
    return found


def _checkpoint_folder(path: Path) -> Path | None:
    """`path` itself (a folder holding the weights) or its folder (`path` is the weights file), else None."""
    if path.is_file():
        path = path.parent
    return path if (path / WEIGHTS_FILE).is_file() else None
