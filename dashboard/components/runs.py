"""Choosing a run (or the shipped model) in a widget, with the choice mirrored in the URL (`?run=<id>`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from dashboard.components.settings import default_run_dir, runs_root
from fer_engine.errors import RunNotFoundError
from fer_engine.runs.layout import RunPaths
from fer_engine.runs.store import RunRecord, RunStore, validate_run_id

SHIPPED_LABEL = "shipped default model"


@dataclass(frozen=True)
class RunChoice:
    """A selectable run: `run_id` is None for the shipped default run folder."""

    label: str
    run_id: str | None
    paths: RunPaths


def run_store() -> RunStore:
    """The run index under the current runs root."""
    return RunStore(runs_root())


def list_runs() -> list[RunRecord]:
    """Every indexed run, newest first (empty when the runs root is new)."""
    return run_store().list()


def has_checkpoint(paths: RunPaths) -> bool:
    return (paths.checkpoint_dir / "model.safetensors").is_file()


def run_choices(*, include_shipped: bool = True, keep: Callable[[RunPaths], bool] | None = None) -> list[RunChoice]:
    """The shipped model (if present) and indexed runs whose folder passes `keep`."""
    choices: list[RunChoice] = []
    shipped = RunPaths(default_run_dir())
    if include_shipped and shipped.root.is_dir() and (keep is None or keep(shipped)):
        choices.append(RunChoice(f"{SHIPPED_LABEL} ({shipped.root})", None, shipped))
    store = run_store()
    for record in store.list():
        paths = RunPaths(store.root / record.run_id)
        if paths.root.is_dir() and (keep is None or keep(paths)):
            title = f"{record.run_id}" + (f"  [{record.status}]" if record.status != "succeeded" else "")
            choices.append(RunChoice(title, record.run_id, paths))
    return choices


def run_id_from_url() -> str | None:
    """The `run` query parameter, validated (a bad id shows a warning and is ignored)."""
    value = st.query_params.get("run")
    if not value:
        return None
    try:
        return validate_run_id(value)
    except RunNotFoundError as exc:
        st.warning(f"Ignoring the URL's run parameter: {exc}")
        return None


def pick_run(label: str, choices: list[RunChoice], *, key: str, sync_url: bool = True) -> RunChoice | None:
    """A selectbox over `choices`, starting at the URL's run when it is one of them; the choice is written back."""
    if not choices:
        return None
    wanted = run_id_from_url() if sync_url else None
    index = next((i for i, choice in enumerate(choices) if wanted and choice.run_id == wanted), 0)
    chosen = st.selectbox(label, choices, index=index, format_func=lambda choice: choice.label, key=key)
    if sync_url and chosen is not None:
        if chosen.run_id:
            st.query_params["run"] = chosen.run_id
        elif "run" in st.query_params:
            del st.query_params["run"]
    return chosen


def path_mtime(path: Path) -> float:
    """Modification time used as a cache key (0 when the path is absent)."""
    try:
        return Path(path).stat().st_mtime
    except OSError:
        return 0.0
