"""Data: point at FER2013 (path or uploaded zip/csv); class counts per split beside the paper's, samples, audit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from dashboard.components import cached
from dashboard.components.auth import require_full_mode
from dashboard.components.data_view import render_audit, render_counts
from dashboard.components.engine import show_error
from dashboard.components.settings import DATASET_TYPES, MAX_DATASET_MB, data_path, set_data_path, uploads_dir
from dashboard.components.uploads import prune_storage_once, save_upload
from fer_engine.data.allowed_paths import allowed_roots, resolve_dataset_path
from fer_engine.errors import FerError
from fer_engine.scoring.paper_results import PAPER_CLASS_TOTALS

require_full_mode()  # defence in depth: the public demo's navigation never lists this page
st.title("Data")
st.caption(
    "FER2013 as the Kaggle CSV (fer2013.csv / icml_face_data.csv), the image-folder zip, or any "
    "`<class>/<image>` folder, inside the dataset folders this dashboard may read."
)
prune_storage_once()

path_column, upload_column = st.columns(2, gap="large")
with path_column:
    typed = st.text_input(
        "dataset path on this machine",
        value=data_path(),
        key="data-path-input",
        placeholder="fer2013.zip (relative to the data folder) or an absolute path",
        help="Allowed folders: " + ", ".join(str(root) for root in allowed_roots()),
    )
    if st.button("Use this path", key="data-path-button") and typed:
        try:
            set_data_path(resolve_dataset_path(typed))
        except FerError as exc:
            show_error(exc, "Dataset path")
with upload_column:
    upload = st.file_uploader(
        f"or upload a zip / csv (up to {MAX_DATASET_MB} MB)",
        type=DATASET_TYPES,
        max_upload_size=MAX_DATASET_MB,
        key="data-upload",
    )
    if upload is not None:
        try:
            saved = save_upload(upload, uploads_dir("datasets"), allowed_suffixes=DATASET_TYPES, max_mb=MAX_DATASET_MB)
        except FerError as exc:
            show_error(exc, "Upload")
        else:
            if data_path() != str(saved):
                set_data_path(saved)
            st.caption(f"Saved as `{saved}`")

if not data_path():
    st.info("No dataset chosen. Type a path, upload a file, or set FER2013_PATH before starting the dashboard.")
    st.stop()
try:  # checked again on every run: the session's path may come from an older page state or the environment
    source = str(resolve_dataset_path(data_path()))
except FerError as exc:
    show_error(exc, "Dataset path")
    st.stop()

mtime = cached.dataset_mtime(source)
try:
    with st.spinner(f"Reading {source} (the first time takes a while; later loads come from the cache)..."):
        dataset = cached.load_dataset(source, mtime)
except FerError as exc:
    show_error(exc, "Loading the dataset")
    st.stop()

st.success(
    f"`{source}` · format {dataset.source_format} · fingerprint `{dataset.fingerprint[:16]}` · "
    + ", ".join(f"{name} {len(split):,}" for name, split in dataset.splits.items())
)
for drawn_split, how in dataset.drawn_splits.items():
    st.info(f"Split '{drawn_split}' is not in the source: {how}")
if dataset.absent_splits:
    st.caption(f"Absent splits: {', '.join(dataset.absent_splits)} (never replaced by another split).")

counts_tab, samples_tab, audit_tab = st.tabs(["Class counts", "Sample faces", "Audit"])
with counts_tab:
    try:
        render_counts(cached.dataset_summary(source, mtime), PAPER_CLASS_TOTALS)
    except FerError as exc:
        show_error(exc, "Summarising the dataset")

with samples_tab:
    controls = st.columns(3)
    split_name = controls[0].selectbox("split", list(dataset.splits), key="samples-split")
    per_class = controls[1].slider("faces per class", 1, 16, 8, key="samples-per-class")
    seed = controls[2].number_input("shuffle seed", 0, 10_000, 0, key="samples-seed")
    split = dataset.split(split_name)
    rng = np.random.default_rng(int(seed))
    for class_id, class_name in enumerate(dataset.class_names):
        rows = np.flatnonzero(split.labels == class_id)
        st.markdown(f"**{class_name}** · {len(rows):,} in {split_name}")
        if len(rows) == 0:
            continue
        picked = rng.choice(rows, size=min(per_class, len(rows)), replace=False)
        st.image(
            [split.images[row] for row in picked],
            width=72,
            caption=[str(Path(str(split.keys[row])).name)[:14] for row in picked],
        )

with audit_tab:
    if st.session_state.get("audit-source") != source and not st.button("Run the audit", key="audit-button"):
        st.caption(
            "Finds exact and near duplicates (within and across splits, conflicting labels) and blank, "
            "dark or bright images. About a minute on the full FER2013 with 2 CPU cores; cached afterwards."
        )
    else:
        st.session_state["audit-source"] = source
        try:
            with st.spinner("Auditing (duplicates within and across splits, blank, dark and bright images)..."):
                report = cached.dataset_audit(source, mtime)
            render_audit(report, face_lookup=lambda key: cached.face_by_key(source, key))
        except FerError as exc:
            show_error(exc, "Auditing the dataset")
