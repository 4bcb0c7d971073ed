"""Overview: what the dashboard is working with (shipped model, runs root, dataset, device) and where to go."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import streamlit as st

from dashboard.components.auth import app_mode, page_allowed
from dashboard.components.engine import show_error
from dashboard.components.runs import has_checkpoint, list_runs
from dashboard.components.settings import data_path, default_run_dir, runs_root
from fer_engine.errors import FerError
from fer_engine.evaluation.stored import headline_metrics
from fer_engine.runs.examples import example_name, visible_examples
from fer_engine.runs.layout import RunPaths

st.title("Facial expression recognition on FER2013")
st.caption("VGG-19 embeddings, triplet loss and classical heads: train, compare, explore and predict.")
public = app_mode() == "public"

model_column, state_column = st.columns([3, 2], gap="large")

with model_column:
    st.subheader("Shipped model")
    shipped = RunPaths(default_run_dir())
    if has_checkpoint(shipped):
        from fer_engine.models.checkpoint import read_card

        try:
            card = read_card(shipped.checkpoint_dir)
        except FerError as exc:
            show_error(exc, "The shipped model card" + ("" if public else f" at {shipped.checkpoint_dir}"))
        else:
            summary = shipped.read_summary()
            st.markdown(
                f"**{card.arch}** · {card.num_classes} classes · {card.input_size}x{card.input_size} grayscale input · "
                f"{card.embedding_dim}-d embedding · weights {card.weights_dtype}"
            )
            headline = headline_metrics(shipped)
            if headline is not None:
                columns = st.columns(3)
                columns[0].metric("val accuracy", f"{headline.accuracy:.4f}")
                if headline.macro_f1 is not None:
                    columns[1].metric("val macro F1", f"{headline.macro_f1:.4f}")
                columns[2].metric("best epoch", summary.get("best_epoch", card.metrics.get("epoch", "?")))
                st.caption(
                    f"PublicTest (val), {headline.source}, TTA {headline.tta}: the number the Experiments "
                    "page shows too."
                )
            if summary:
                st.caption(
                    f"Trained on {summary.get('device', '?')} for {summary.get('epochs_completed', '?')} epoch(s)."
                )
            card_md = shipped.card_markdown
            if card_md.is_file() and not public:  # the card names server paths (data, command line)
                with st.expander(f"Model card ({card_md.name})"):
                    st.markdown(card_md.read_text(encoding="utf-8"))
            if not public:
                st.caption(f"Folder: `{shipped.root}`")
    else:
        st.info(
            "No shipped model here yet."
            if public
            else f"No shipped model at `{shipped.root}` yet. Train one on the Train page, or point "
            "`FER_DEFAULT_CHECKPOINT` at a run folder with a `checkpoint/` inside."
        )

with state_column:
    st.subheader("Workspace")
    examples = visible_examples()
    st.markdown(
        f"**Example runs:** {len(examples)} ({', '.join(example_name(e) for e in examples) or 'none'}): "
        "real runs kept without weights, to compare on the Experiments and Embeddings pages."
    )
    if public:
        st.markdown(
            "**Public demo:** the shipped model and the example runs; training and datasets are not part of it."
        )
    else:
        root = runs_root()
        try:
            runs = list_runs()
        except (FerError, sqlite3.Error, OSError) as exc:  # a broken index should not hide the rest of the page
            show_error(exc, f"Reading the run index in {root}")
            runs = []
        finished = sum(1 for run in runs if run.status == "succeeded")
        st.markdown(f"**Runs root:** `{root.resolve()}` · {len(runs)} run(s), {finished} succeeded")
        path = data_path()
        if not path:
            st.markdown("**Dataset:** none chosen (set `FER2013_PATH`, or open the Data page)")
        elif Path(path).exists():
            st.markdown(f"**Dataset:** `{path}` (found)")
        else:
            st.warning(f"Dataset path `{path}` does not exist.")
    import torch

    from fer_engine.device import resolve_device

    device = resolve_device("auto")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    st.markdown(f"**Device:** `{device}` ({name}) · torch {torch.__version__} · streamlit {st.__version__}")

st.divider()
st.subheader("Pages")
links = [
    ("views/data.py", "Data", ":material/dataset:", "class counts per split, sample faces, audit"),
    ("views/train.py", "Train", ":material/model_training:", "presets and every knob; jobs with live progress"),
    ("views/experiments.py", "Experiments", ":material/compare:", "runs table; compare metrics, curves, confusion"),
    ("views/embeddings.py", "Embeddings", ":material/scatter_plot:", "UMAP / PCA / t-SNE of the GAP embeddings"),
    ("views/predict.py", "Predict", ":material/face:", "upload a photo or use the camera; every face labelled"),
]
links = [link for link in links if page_allowed(link[0])]
page_columns = st.columns(len(links))
for column, (page, label, icon, help_text) in zip(page_columns, links):
    with column:
        st.page_link(page, label=label, icon=icon)
        st.caption(help_text)
