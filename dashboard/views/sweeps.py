"""Sweeps: define a search space with widgets, launch an Optuna sweep whose trials are queued jobs, and watch it:
optimization history, parallel coordinates, parameter importances, slices, the trials table linked to
Experiments, "ship the best" and "compare the top 5". Not part of the public demo."""

from __future__ import annotations

import time
import typing
from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

import fer_engine.training.presets as presets
from dashboard.components.auth import current_user, require_full_mode
from dashboard.components.config_form import config_fields
from dashboard.components.engine import show_error
from dashboard.components.settings import data_path, runs_root, worker_autostart
from fer_engine.data.allowed_paths import resolve_dataset_path
from fer_engine.errors import FerError
from fer_engine.jobs.local_worker import ensure_local_worker
from fer_engine.jobs.queue import JobQueue
from fer_engine.models import available_models
from fer_engine.pipeline import PIPELINE_STEPS, PipelineSpec
from fer_engine.sweeps import SweepConfig, list_sweeps, parse_space, parse_space_text, start_sweep, top_up, view_sweep
from fer_engine.sweeps.manage import stop_sweep, top_trials
from fer_engine.sweeps.space import NOT_SEARCHABLE
from fer_engine.sweeps.storage import open_store
from fer_engine.sweeps.study import METRICS, PRUNERS, SAMPLERS, load_study
from fer_engine.training import config as config_module

COMPARE_KEY = "compare_run_ids"  # session key Experiments reads (once) to preselect runs to compare: run ids
SELECTED_SWEEP_KEY = "sweeps-selected"
CHOICE_FIELDS = {
    "optimizer": "OPTIMIZERS",
    "scheduler": "SCHEDULERS",
    "loss": "LOSSES",
    "class_weighting": "CLASS_WEIGHTINGS",
    "augment.crop": "CROP_MODES",
    "triplet.miner": "MINERS",
    "triplet.distance": "DISTANCES",
    "select_metric": "SELECT_METRICS",
    "eval_tta": "TTA_MODES",
}
DEFAULT_PARAMS = ("lr", "weight_decay", "label_smoothing")
SUGGESTED_RANGES = {
    "lr": (1e-3, 0.1, True),
    "weight_decay": (1e-5, 1e-3, True),
    "label_smoothing": (0.0, 0.2, False),
    "dropout": (0.0, 0.5, False),
    "momentum": (0.8, 0.99, False),
    "augment.random_erasing": (0.0, 0.5, False),
    "augment.rotation_degrees": (0.0, 20.0, False),
    "augment.translate": (0.0, 0.2, False),
    "batch_size": (32, 256, True),
    "epochs": (2, 10, False),
}
# (SUGGESTED_RANGES: the widgets' starting ranges for common parameters; others: half to twice the preset's value.)

require_full_mode()  # defence in depth: the public demo's navigation never lists this page
st.title("Sweeps")
st.caption(
    "An Optuna study searches training settings; each trial is an ordinary job in the queue, K at a time, "
    "pruned early when its validation curve lags behind (docs/sweeps.md)."
)


def _field_type(annotation: Any) -> Any:
    """A config field's type without None (`float | None` -> float)."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    return args[0] if type(None) in typing.get_args(annotation) else annotation


def _searchable_fields(preset_name: str) -> list[tuple[str, Any, Any]]:
    """(name, type, preset value) of the fields a sweep may search (no (low, high) pairs, nothing in NOT_SEARCHABLE)."""
    fields = [
        (name, _field_type(annotation), value)
        for name, annotation, value in config_fields(presets.get_preset(preset_name))
    ]
    return [f for f in fields if f[0] not in NOT_SEARCHABLE and typing.get_origin(f[1]) is not tuple]


def _param_widgets(name: str, field_type: Any, value: Any) -> dict[str, Any]:
    """The range or choices of one parameter, from widgets typed by the config field (as the Train page's)."""
    key = f"sweep-space-{name}"
    if name in CHOICE_FIELDS or field_type in (bool, str):
        options = (
            list(getattr(config_module, CHOICE_FIELDS[name]))
            if name in CHOICE_FIELDS
            else available_models()
            if name == "arch"
            else [True, False]
            if field_type is bool
            else [value]
        )
        chosen = st.multiselect(name, options, default=[value] if value in options else options[:1], key=key)
        return {"choices": chosen}
    is_int = field_type is int
    base = value if isinstance(value, (int, float)) and not isinstance(value, bool) else (1 if is_int else 0.0)
    low_default, high_default, log_default = SUGGESTED_RANGES.get(
        name, (base / 2 if base > 0 else 0, base * 2 if base > 0 else (1 if is_int else 0.1), False)
    )
    if is_int:
        low_default, high_default = max(1, int(low_default)), max(2, int(high_default))
    columns = st.columns([2, 2, 1])
    typed = int if is_int else float
    step_format = {"step": 1} if is_int else {"format": "%g"}
    low = columns[0].number_input(f"{name} low", value=typed(low_default), key=f"{key}-low", **step_format)
    high = columns[1].number_input(f"{name} high", value=typed(high_default), key=f"{key}-high", **step_format)
    log = columns[2].checkbox("log", value=log_default, key=f"{key}-log")
    spec: dict[str, Any] = {"low": low, "high": high}
    if log:
        spec["log"] = True
    return spec


def _new_sweep_form() -> None:
    preset_names = list(presets.PRESETS)
    top = st.columns(3)
    preset_name = top[0].selectbox(
        "preset every trial starts from", preset_names, index=preset_names.index("fast_cpu"), key="sweep-preset"
    )
    name = top[1].text_input("sweep name", value=time.strftime("sweep-%Y%m%d-%H%M"), key="sweep-name")
    dataset = top[2].text_input("dataset path (FER2013 csv, zip or folder)", value=data_path(), key="sweep-data")
    fields = _searchable_fields(preset_name)
    by_name = {f[0]: f for f in fields}
    chosen = st.multiselect(
        "parameters to search", list(by_name), default=[p for p in DEFAULT_PARAMS if p in by_name], key="sweep-params"
    )
    space: dict[str, Any] = {}
    for field in chosen:
        space[field] = _param_widgets(*by_name[field])
    with st.expander("space as YAML (replaces the widgets above when filled; head parameters: head.svm.C, ...)"):
        yaml_text = st.text_area(
            "space",
            value="",
            height=120,
            key="sweep-yaml",
            placeholder="lr: {low: 0.001, high: 0.1, log: true}\noptimizer: [sgd, adamw]",
        )
    row = st.columns(4)
    trials = row[0].number_input("trials", min_value=1, max_value=1000, value=12, key="sweep-trials")
    parallel = row[1].number_input("in flight (K)", min_value=1, max_value=64, value=2, key="sweep-parallel")
    epochs = row[2].number_input("epochs per trial", min_value=1, value=3, key="sweep-epochs")
    limit = row[3].number_input(
        "images per split (limit)", min_value=7, value=None, placeholder="all", key="sweep-limit"
    )
    row = st.columns(4)
    metric = row[0].selectbox("metric", list(METRICS), key="sweep-metric")
    sampler = row[1].selectbox("sampler", SAMPLERS, key="sweep-sampler")
    pruner = row[2].selectbox("pruner", PRUNERS, key="sweep-pruner")
    startup = row[3].number_input("trials before pruning", min_value=0, value=5, key="sweep-startup")
    if not st.button("Validate and launch", type="primary", key="sweep-launch"):
        return
    try:
        parsed = (
            parse_space_text(yaml_text, source="the YAML space")
            if yaml_text.strip()
            else parse_space(space, preset=preset_name)
        )
        source = str(resolve_dataset_path(dataset))  # only the allowed dataset folders; never echoes contents
        base: dict[str, Any] = {
            "data_path": source,
            "preset": preset_name,
            "overrides": {"epochs": int(epochs)},
            "steps": ["train"],
            "heads": [],
            "runs_root": str(runs_root()),
        }
        if limit is not None:
            base["limit"] = int(limit)
        config = SweepConfig(
            name=name.strip(),
            space=parsed.to_dict(),
            trials=int(trials),
            parallel=int(parallel),
            metric=metric,
            direction=METRICS[metric],
            sampler=sampler,
            pruner=pruner,
            pruner_startup_trials=int(startup),
            base_spec=base,
            owner=current_user(),
        )
        queued = start_sweep(config, runs_root())
    except FerError as exc:
        show_error(exc, "Not launched")
        return
    st.session_state[SELECTED_SWEEP_KEY] = config.name
    st.success(f"Sweep {config.name} launched: {queued} trial(s) queued, {config.trials} in all.")
    _start_worker()


def _start_worker() -> None:
    if not worker_autostart():
        st.info("Worker auto-start is off (FER_DASHBOARD_AUTOSTART_WORKER=0): start one with `fer worker`.")
        return
    try:
        ensure_local_worker(runs_root())
    except FerError as exc:
        show_error(exc, "The trials are queued, but no local worker could be started")


def _plots(name: str, config: SweepConfig) -> None:
    """Optuna's own Plotly figures of the study; each needs enough finished trials, else a note says so."""
    import optuna.visualization as vis

    study = load_study(open_store(runs_root()), config, for_recording=True)
    complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    tabs = st.tabs(["optimization history", "parallel coordinates", "parameter importances", "slices"])
    makers: list[Callable[[Any], Any]] = [
        vis.plot_optimization_history,
        vis.plot_parallel_coordinate,
        vis.plot_param_importances,
        vis.plot_slice,
    ]
    needed = [1, 1, 2, 1]
    for tab, make, least, key in zip(tabs, makers, needed, ("history", "parallel", "importance", "slice")):
        with tab:
            if len(complete) < least:
                st.info(f"Needs at least {least} complete trial(s); {len(complete)} so far.")
                continue
            try:
                st.plotly_chart(make(study), key=f"sweep-plot-{key}")
            except (ValueError, RuntimeError) as exc:
                st.info(f"Not available yet: {exc}")


def _trials_table(view: Any) -> pd.DataFrame:
    rows = []
    for trial in view.trials:
        row = {
            "trial": trial["trial"],
            "state": trial["state"],
            "value": trial["value"],
            "epochs": trial["epochs_reported"],
            "job": trial["job_id"],
            "job state": trial["job_state"],
            "run": f"experiments?run={trial['run_id']}" if trial["run_id"] else None,
        }
        row.update({f"param {k}": v for k, v in trial["params"].items()})
        row["reason"] = trial["reason"]
        rows.append(row)
    return pd.DataFrame(rows)


def _ship_best(view: Any) -> None:
    """Finish the best trial's run (embed, heads, evaluate, report on its checkpoint) as a job; shipping it as the
    default model is then `fer ship RUN --data PATH` (an operator's command: it replaces the served model)."""
    best = view.best
    spec = PipelineSpec(
        data_path=view.row.config.base_spec.get("data_path", ""),
        preset=view.row.config.base_spec.get("preset", "fast_cpu"),
        steps=list(PIPELINE_STEPS),
        resume_run_id=best["run_id"],
        name=f"best-of-{view.row.name}",
    )
    job = JobQueue(runs_root()).submit(spec, name=f"best-of-{view.row.name}", owner=current_user())
    st.success(
        f"Queued job {job.id}: run {best['run_id']} gets its embeddings, heads, evaluation and report. "
        f"Then ship it with `fer ship {best['run_id']} --data <dataset>`."
    )
    _start_worker()


def _watch(name: str) -> None:
    try:
        top_up(runs_root(), sweep=name)  # this page moves the sweep along too (workers do it between jobs)
        view = view_sweep(name, runs_root())
    except FerError as exc:
        show_error(exc, "Reading the sweep")
        return
    config = view.row.config
    counts = view.counts()
    columns = st.columns(5)
    columns[0].metric("status", view.row.status)
    columns[1].metric("trials", f"{len(view.trials)} / {config.trials}")
    columns[2].metric("complete", counts.get("complete", 0))
    columns[3].metric("pruned", counts.get("pruned", 0))
    columns[4].metric(f"best {config.metric}", f"{view.best['value']:.4f}" if view.best else "-")
    st.caption(
        f"{config.sampler} sampler, {config.pruner} pruner, {config.parallel} in flight, "
        f"{config.direction} {config.metric} (each trial's best epoch on PublicTest = val)."
        + (f" Note: {view.row.message}" if view.row.message else "")
    )
    if view.best:
        params = ", ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in view.best["params"].items()
        )
        st.success(
            f"Best: trial {view.best['trial']}, {config.metric} = {view.best['value']:.4f} ({params}), "
            f"run {view.best['run_id']}"
        )
    if view.trials:
        st.dataframe(
            _trials_table(view),
            hide_index=True,
            key="sweep-trials",
            column_config={
                "run": st.column_config.LinkColumn("run (Experiments)", display_text=r"experiments\?run=(.*)"),
                "value": st.column_config.NumberColumn(format="%.4f"),
            },
        )
    _plots(name, config)
    actions = st.columns(3)
    top = top_trials(view, 5)
    if actions[0].button(
        "Ship the best",
        disabled=view.best is None or not view.best.get("run_id"),
        key="sweep-ship",
        help="evaluate the best trial's run in full, then `fer ship` it",
    ):
        try:
            _ship_best(view)
        except FerError as exc:
            show_error(exc, "Not queued")
    if actions[1].button(
        f"Compare the top {len(top) or 5}",
        disabled=not top,
        key="sweep-compare",
        help="open Experiments with these runs selected",
    ):
        st.session_state[COMPARE_KEY] = [t["run_id"] for t in top]
        st.switch_page("views/experiments.py")
    if view.row.status == "running" and actions[2].button(
        "Stop the sweep", key="sweep-stop", help="no new trials; those in flight finish"
    ):
        stop_sweep(name, runs_root(), user=current_user())
        st.rerun()
    st.button("Refresh", key="sweep-refresh")


with st.expander("New sweep", expanded=not list_sweeps(runs_root())):
    try:
        _new_sweep_form()
    except FerError as exc:
        show_error(exc)

sweeps = list_sweeps(runs_root())
if not sweeps:
    st.info("No sweeps yet: define one above.")
    st.stop()
names = [row.name for row in sweeps]
selected = st.session_state.get(SELECTED_SWEEP_KEY)
chosen = st.selectbox(
    "sweep",
    names,
    index=names.index(selected) if selected in names else 0,
    key="sweep-choice",
    format_func=lambda n: f"{n} ({next(r.status for r in sweeps if r.name == n)})",
)
_watch(chosen)
