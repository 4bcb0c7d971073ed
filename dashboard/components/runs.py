"""Choosing a run (the shipped model, an example or a run of the runs root) in a widget, mirrored in the URL
(`?run=<id>`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import streamlit as st

from dashboard.components.auth import app_mode
from dashboard.components.settings import default_run_dir, runs_root
from fer_engine.errors import RunNotFoundError
from fer_engine.runs.examples import example_name, visible_examples
from fer_engine.runs.layout import RunPaths
from fer_engine.runs.store import RunRecord, RunStore, validate_run_id

SHIPPED_LABEL = "shipped default model"
EXAMPLE_SUFFIX = " (example)"
RunKind = Literal["shipped", "example", "run"]


@dataclass(frozen=True)
class RunChoice:
    """A selectable run: the shipped model, an example run or a run of the runs root.

    `run_id` is the runs-root id (None for the shipped model and examples); `key` names the choice in the URL.
    """

    label: str
    run_id: str | None
    paths: RunPaths
    kind: RunKind = "run"

    @property
    def key(self) -> str | None:
        if self.kind == "example":
            return f"example-{self.paths.root.name}"
        return self.run_id


def run_store() -> RunStore:
    """The run index under the current runs root."""
    return RunStore(runs_root())


def list_runs() -> list[RunRecord]:
    """Every indexed run, newest first (empty when the runs root is new)."""
    return run_store().list()


def has_checkpoint(paths: RunPaths) -> bool:
    """True when the run holds trained weights (the layout decides which file that is)."""
    return paths.has_checkpoint()


def example_label(paths: RunPaths) -> str:
    """How an example run is named in every widget and table: '<name> (example)'."""
    return f"{example_name(paths)}{EXAMPLE_SUFFIX}"


def run_choices(*, include_shipped: bool = True, keep: Callable[[RunPaths], bool] | None = None) -> list[RunChoice]:
    """The shipped model, the example runs (unless FER_SHOW_EXAMPLES=0) and, in full mode, the indexed runs,
    each kept when its folder passes `keep`. Public mode lists no run of the runs root."""
    candidates: list[RunChoice] = []
    shipped = RunPaths(default_run_dir())
    if include_shipped and shipped.root.is_dir():
        candidates.append(RunChoice(SHIPPED_LABEL, None, shipped, "shipped"))
    candidates += [RunChoice(example_label(paths), None, paths, "example") for paths in visible_examples()]
    if app_mode() == "full":
        store = run_store()
        for record in store.list():
            paths = RunPaths(store.root / record.run_id)
            if paths.root.is_dir():
                title = record.run_id + (f"  [{record.status}]" if record.status != "succeeded" else "")
                candidates.append(RunChoice(title, record.run_id, paths, "run"))
    return [choice for choice in candidates if keep is None or keep(choice.paths)]


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


def pick_run(label: str, choices: list[RunChoice], *, key: str, sync_url: bool = True) -> RunChoice:
    """A selectbox over `choices` (callers show a notice instead when there are none), starting at the URL's run
    when it is one of them; the choice is written back."""
    if not choices:
        raise ValueError(f"no run to choose from for '{label}'")
    wanted = run_id_from_url() if sync_url else None
    index = next((i for i, choice in enumerate(choices) if wanted and choice.key == wanted), 0)
    chosen = st.selectbox(label, choices, index=index, format_func=lambda choice: choice.label, key=key)
    if sync_url:
        if chosen.key:
            st.query_params["run"] = chosen.key
        elif "run" in st.query_params:
            del st.query_params["run"]
    return chosen


def path_mtime(path: Path) -> float:
    """Modification time used as a cache key (0 when the path is absent)."""
    try:
        return Path(path).stat().st_mtime
    except OSError:
        return 0.0
