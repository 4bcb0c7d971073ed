"""Train: a form with a preset and every training knob, its estimated training time, validated and queued as a
job under the current user; the jobs table with live progress below."""

from __future__ import annotations

from typing import Any

import streamlit as st

import fer_engine.jobs.queue as jobs_queue
import fer_engine.pipeline as pipeline
import fer_engine.training.presets as presets
from dashboard.components import cached
from dashboard.components.auth import current_user, require_full_mode
from dashboard.components.config_form import changed_fields, config_fields, field_widget
from dashboard.components.engine import show_error
from dashboard.components.jobs_view import render_jobs
from dashboard.components.settings import data_path, runs_root, worker_autostart
from fer_engine.data.allowed_paths import resolve_dataset_path
from fer_engine.errors import FerError
from fer_engine.inference import TTA_MODES
from fer_engine.jobs.local_worker import ensure_local_worker
from fer_engine.jobs.planning import TrainingEstimate, estimate_training, suggested_preset

require_full_mode()  # defence in depth: the public demo's navigation never lists this page
st.title("Train")
st.caption("Pick a preset, change any knob, and queue the run; a local worker trains it in the background.")

SECTIONS = {
    "Model": ("arch", "pretrained", "input_size", "dropout"),
    "Optimisation": (
        "epochs",
        "batch_size",
        "optimizer",
        "lr",
        "momentum",
        "nesterov",
        "weight_decay",
        "scheduler",
        "warmup_epochs",
        "plateau_patience",
        "plateau_factor",
        "early_stopping_patience",
        "select_metric",
        "label_smoothing",
        "seed",
        "limit",
    ),
    "Loss and triplets": ("loss", "class_weighting", "triplet."),
    "Augmentation": ("augment.",),
    "Hardware and evaluation": ("device", "precision", "channels_last", "compile", "eval_batch_size", "eval_tta"),
}
NOT_IN_FORM = ("preset", "data_path", "notes")  # set by the preset choice and the pipeline fields


def _section_of(name: str) -> str:
    for section, members in SECTIONS.items():
        if any(name == member or (member.endswith(".") and name.startswith(member)) for member in members):
            return section
    return "Other"


def _field_choices() -> dict[str, list[str]]:
    """Allowed values of the choice fields, as the library declares them."""
    import torch

    from fer_engine.models import available_models
    from fer_engine.training import config as config_module

    names = {
        "optimizer": "OPTIMIZERS",
        "scheduler": "SCHEDULERS",
        "select_metric": "SELECT_METRICS",
        "loss": "LOSSES",
        "class_weighting": "CLASS_WEIGHTINGS",
        "eval_tta": "TTA_MODES",
        "precision": "PRECISIONS",
        "augment.crop": "CROP_MODES",
        "triplet.miner": "MINERS",
        "triplet.distance": "DISTANCES",
    }
    choices = {
        field: list(getattr(config_module, constant))
        for field, constant in names.items()
        if hasattr(config_module, constant)
    }
    choices["arch"] = available_models()
    choices["device"] = ["auto", "cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    return choices


def _train_images(dataset_text: str) -> int:
    """Training images of the dataset the form names (confined to the allowed folders; loaded once, cached)."""
    source = str(resolve_dataset_path(dataset_text))
    dataset = cached.load_dataset(source, cached.dataset_mtime(source))
    train = dataset.splits.get("train")
    return 0 if train is None else len(train.labels)


def _estimate(values: dict[str, Any], dataset_text: str) -> TrainingEstimate | str:
    """The estimated training time for the form's arch, epochs, limit and dataset (or why there is none)."""
    if not dataset_text.strip():
        return "No time estimate yet: give a dataset path."
    try:
        with st.spinner("Counting the dataset's training images for the time estimate..."):
            images = _train_images(dataset_text)
        return estimate_training(
            str(values.get("arch")),
            int(values.get("epochs") or 0),
            images,
            limit=values.get("limit"),
            device=str(values.get("device") or "cpu"),
        )
    except FerError as exc:
        return f"No time estimate: {exc}"


def _train_form(preset_name: str) -> None:
    base = presets.get_preset(preset_name)
    fields = [field for field in config_fields(base) if field[0] not in NOT_IN_FORM]
    choices = _field_choices()
    spec_defaults = pipeline.PipelineSpec()
    from fer_engine.heads.registry import HEAD_NAMES

    with st.form(f"train-form-{preset_name}", enter_to_submit=False):  # Enter in a field must not queue
        st.subheader("Run")
        left, right = st.columns(2)
        name = left.text_input("run name", value=preset_name, key=f"{preset_name}-name")
        dataset = right.text_input(
            "dataset path (FER2013 csv, zip or folder)", value=data_path(), key=f"{preset_name}-data"
        )
        left, right = st.columns(2)
        steps = left.multiselect(
            "steps", list(pipeline.PIPELINE_STEPS), default=spec_defaults.steps, key=f"{preset_name}-steps"
        )
        heads = right.multiselect(
            "heads fitted on the embeddings", list(HEAD_NAMES), default=spec_defaults.heads, key=f"{preset_name}-heads"
        )
        with st.expander("Heads, evaluation and data split"):
            columns = st.columns(3)
            search = columns[0].checkbox(
                "random search for the heads",
                value=spec_defaults.search,
                key=f"{preset_name}-search",
                help="the paper: 25 fits, CV inside train",
            )
            n_iter = columns[1].number_input(
                "search fits (n_iter)", min_value=1, value=spec_defaults.n_iter, key=f"{preset_name}-n_iter"
            )
            cv = columns[2].number_input(
                "search CV folds", min_value=2, value=spec_defaults.cv, key=f"{preset_name}-cv"
            )
            head_weight = columns[0].selectbox(
                "head class weight",
                ["none", "balanced"],
                index=0 if spec_defaults.class_weight is None else 1,
                key=f"{preset_name}-head-weight",
            )
            max_train = columns[1].number_input(
                "max train rows for the heads",
                min_value=1,
                value=spec_defaults.max_train,
                placeholder="all",
                key=f"{preset_name}-max-train",
            )
            tta = columns[2].selectbox(
                "test-time augmentation at evaluation",
                TTA_MODES,
                index=TTA_MODES.index(spec_defaults.tta),
                key=f"{preset_name}-tta",
            )
            val_fraction = columns[0].number_input(
                "val fraction when the source has no val split",
                0.0,
                0.9,
                spec_defaults.val_fraction,
                key=f"{preset_name}-val-fraction",
            )
        notes = st.text_input("notes", value=base.notes, key=f"{preset_name}-notes")
        values = {}
        for section in list(SECTIONS) + ["Other"]:
            members = [field for field in fields if _section_of(field[0]) == section]
            if not members:
                continue
            with st.expander(section, expanded=section == "Model"):
                columns = st.columns(3)
                for index, (field, annotation, value) in enumerate(members):
                    with columns[index % 3]:
                        values[field] = field_widget(
                            field, annotation, value, choices=choices.get(field), key=f"{preset_name}-{field}"
                        )
        estimate_slot = st.empty()
        left, right = st.columns(2)
        submitted = left.form_submit_button("Validate and queue", type="primary")
        right.form_submit_button("Update the time estimate", help="apply the form's values to the estimate only")
    estimate = _estimate(values, dataset)
    estimate_text = estimate if isinstance(estimate, str) else estimate.text()
    estimate_slot.info(estimate_text, icon=":material/schedule:")
    if not submitted:
        return
    overrides = changed_fields(values, fields)
    if notes != base.notes:
        overrides["notes"] = notes
    try:
        source = str(resolve_dataset_path(dataset))  # only the allowed dataset folders; never echoes contents
        spec = pipeline.PipelineSpec(
            data_path=source,
            preset=preset_name,
            overrides=overrides,
            steps=list(steps),
            heads=list(heads),
            search=search,
            n_iter=int(n_iter),
            cv=int(cv),
            class_weight=None if head_weight == "none" else head_weight,
            max_train=None if max_train is None else int(max_train),
            tta=tta,
            val_fraction=float(val_fraction),
            runs_root=str(runs_root()),
            name=name.strip(),
        )
        spec.validate()  # the library's own validation names the bad field (preset + overrides, caps included)
        job = jobs_queue.JobQueue(runs_root()).submit(spec, name=name, owner=current_user())
    except FerError as exc:
        show_error(exc, "Not queued")
        return
    st.success(f"Queued job {job.id} ({preset_name}, {len(overrides)} override(s)). {estimate_text}")
    if worker_autostart():
        try:
            ensure_local_worker(runs_root())
        except FerError as exc:
            show_error(exc, "The job is queued, but no local worker could be started")
    else:
        st.info("Worker auto-start is off (FER_DASHBOARD_AUTOSTART_WORKER=0): start one with `fer worker`.")


preset_names = list(presets.PRESETS)
default_preset = suggested_preset()  # fast_cpu on a CPU (strong would take hours), strong on a GPU
preset = st.selectbox(
    "preset",
    preset_names,
    index=preset_names.index(default_preset),
    help=f"A preset fills every field below; change what you need. The default suits this machine ({default_preset}).",
    key="train-preset",
)
try:
    _train_form(preset)
except FerError as exc:
    show_error(exc)

st.divider()
st.subheader("Jobs")
render_jobs(runs_root())
