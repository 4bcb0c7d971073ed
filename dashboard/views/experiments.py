"""Experiments: every run in one sortable table; pick one run for its details, or several to compare them.

Runs are the shipped model, the example runs (checkpoints/examples) and, in full mode, the runs root's runs.
Every number comes from fer_engine (`fer_engine.runs.compare`, `fer_engine.evaluation.stored`,
`fer_engine.scoring.paper_results`).
"""

from __future__ import annotations

import re
from dataclasses import asdict

import pandas as pd
import streamlit as st

from dashboard.components.auth import app_mode
from dashboard.components.charts import confusion_heatmap, curves, grouped_bar
from dashboard.components.engine import show_error
from dashboard.components.runs import run_choices, run_store
from dashboard.components.settings import runs_root
from fer_engine.errors import FerError
from fer_engine.evaluation.stored import SPLIT_ORDER, evaluated_splits, run_evaluations
from fer_engine.runs import compare
from fer_engine.runs.layout import METRICS_FILE
from fer_engine.scoring import paper_results as paper

st.title("Experiments")

KEY_COLUMN = re.compile(
    r"^(eval\.(val|test)\.[^.]+\.(accuracy|macro_f1)|summary\.(epochs_completed|total_seconds|device))$"
)
IDENTITY = ["name", "kind", "status", "arch", "preset", "loss", "created_at", "val_accuracy", "val_macro_f1", "val_tta"]
METRIC_FORMAT = {
    name: st.column_config.NumberColumn(format="%.4f") for name in compare.METRIC_NAMES[:-1] + ("paper accuracy",)
}
public = app_mode() == "public"
SERVER_FIELD = re.compile(r"(data_path|data_source|source|command|runs_root)$")  # paths on the server: not in public

choices = run_choices()
if not choices:
    where = "" if public else f" under `{runs_root()}`"
    st.info(f"No runs{where} yet, and no shipped model or example runs. Queue one on the Train page.")
    st.stop()
by_label = {choice.label: choice for choice in choices}

try:
    table = compare.compare_runs([choice.paths for choice in choices], store=None if public else run_store())
except FerError as exc:
    show_error(exc, "Reading the runs")
    st.stop()
table.index = pd.Index(list(by_label), name="run")
for column in ("kind", "status"):  # absent (or all-NaN floats) when no run of the runs root is listed
    table[column] = table[column].astype(object) if column in table else None
for label, choice in by_label.items():
    if choice.kind != "run":
        table.loc[label, "kind"] = choice.kind
        table.loc[label, "status"] = "shipped" if choice.kind == "shipped" else "example"

filters = st.columns([2, 1, 1])
text = filters[0].text_input("filter (run, name, arch, preset, loss contain)", key="runs-filter")
statuses = filters[1].multiselect(
    "status", sorted(table["status"].dropna().unique()) if "status" in table else [], key="runs-status"
)
losses = filters[2].multiselect(
    "loss", sorted(table["loss"].dropna().unique()) if "loss" in table else [], key="runs-loss"
)
shown = table
if text:
    haystack = shown.index.to_series().astype(str)
    for column in ("name", "arch", "preset", "loss"):
        if column in shown:
            haystack = haystack + " " + shown[column].astype(str)
    shown = shown[haystack.str.contains(text, case=False, regex=False)]
if statuses:
    shown = shown[shown["status"].isin(statuses)]
if losses:
    shown = shown[shown["loss"].isin(losses)]
default_columns = [c for c in IDENTITY if c in table] + [c for c in table.columns if KEY_COLUMN.match(c)]
with st.expander("columns"):
    columns = st.multiselect("columns shown", list(table.columns), default=default_columns, key="runs-columns")
st.dataframe(
    shown[columns or default_columns],
    key="runs-table",
    column_config={
        "val_accuracy": st.column_config.NumberColumn("val accuracy", format="%.4f"),
        "val_macro_f1": st.column_config.NumberColumn("val macro F1", format="%.4f"),
    },
)
st.caption(
    f"{len(shown)} of {len(table)} run(s); click a column header to sort. val accuracy = the stored "
    "evaluation of each run's softmax on PublicTest (the same number on every page). Example runs are "
    "real runs of this project kept without weights (checkpoints/examples; FER_SHOW_EXAMPLES=0 hides them)."
)

st.divider()
st.subheader("Run details and comparison")
# The Sweeps page's "compare the top 5" (session state) and its trial links (?run=ID) preselect runs by id; the ids
# are only matched against the listed runs, never echoed.
wanted = st.session_state.pop("compare_run_ids", None) or (
    [st.query_params["run"]] if st.query_params.get("run") else None
)
if wanted:
    st.session_state["compare-runs"] = [label for label in shown.index if by_label[label].run_id in wanted]
selected = st.multiselect(
    "runs (one for its details, several to compare)",
    list(shown.index),
    default=None if wanted else list(shown.index[:4]),
    key="compare-runs",
)
if not selected:
    st.info("Pick a run to see its details, or several to compare them.")
    st.stop()

runs = {label: by_label[label].paths for label in selected}
splits = sorted(
    {split for run in runs.values() for split in evaluated_splits(run)},
    key=lambda s: SPLIT_ORDER.index(s) if s in SPLIT_ORDER else len(SPLIT_ORDER),
)
split = st.radio(
    "split",
    splits or ["val"],
    horizontal=True,
    key="compare-split",
    help="val = PublicTest (used to select checkpoints and heads), test = PrivateTest",
)
evaluations = {label: run_evaluations(run, split) for label, run in runs.items()}
comparison = compare.evaluation_table(runs, split)

tabs = st.tabs(["Metrics", "Per-class F1", "Training curves", "Confusion matrices", "Heads", "Paper", "Config"])
with tabs[0]:
    if comparison.empty:
        st.info(f"None of these runs has an evaluation on '{split}' yet (run `fer evaluate`).")
    else:
        st.dataframe(comparison, hide_index=True, key="comparison-table", column_config=METRIC_FORMAT)
        st.download_button(
            "Download comparison CSV",
            comparison.to_csv(index=False).encode("utf-8"),
            file_name=f"comparison_{split}.csv",
            mime="text/csv",
            key="comparison-csv",
        )

heads_available = sorted(
    {head for by_head in evaluations.values() for head in by_head}, key=lambda head: (head != "softmax", head)
)
with tabs[1]:
    if heads_available:
        head = st.selectbox("head", heads_available, key="perclass-head")
        per_class = [
            {"run": label, "class": name, "f1": scores["f1"]}
            for label, by_head in evaluations.items()
            if head in by_head
            for name, scores in by_head[head].per_class.items()
        ]
        st.plotly_chart(
            grouped_bar(pd.DataFrame(per_class), x="class", y="f1", color="run", y_title=f"F1 on {split}"),
            key="perclass-chart",
        )
    else:
        st.info("No per-class results to show.")

with tabs[2]:
    histories = []
    for label, run in runs.items():
        frame = pd.DataFrame(run.read_metrics())
        if not frame.empty and "epoch" in frame:
            frame["run"] = label
            histories.append(frame)
    if histories:
        history = pd.concat(histories, ignore_index=True)
        candidates = [
            c for c in history.columns if c not in ("epoch", "run") and pd.api.types.is_numeric_dtype(history[c])
        ]
        default = [c for c in ("val_accuracy", "val_loss") if c in candidates] or candidates[:1]
        chosen = st.multiselect("metrics", candidates, default=default, key="curve-metrics")
        for metric in chosen:
            st.plotly_chart(curves(history, x="epoch", y=metric, color="run", title=metric), key=f"curve-{metric}")
        st.caption(
            "Per-epoch validation during training (the training-time weights); the tables above score "
            "the stored checkpoint."
        )
    else:
        st.info(f"None of these runs has a {METRICS_FILE} yet.")

with tabs[3]:
    if heads_available:
        head = st.selectbox("head", heads_available, key="confusion-head")
        normalized = st.toggle("row-normalised (recall per true class)", value=True, key="confusion-normalized")
        with_head = [(label, by_head[head]) for label, by_head in evaluations.items() if head in by_head]
        grid = st.columns(min(2, len(with_head)) or 1)
        for index, (label, result) in enumerate(with_head):
            matrix = result.confusion_matrix_normalized if normalized else result.confusion_matrix
            grid[index % len(grid)].plotly_chart(
                confusion_heatmap(matrix, result.class_names, normalized=normalized, title=label),
                key=f"confusion-{index}",
            )
    else:
        st.info("No confusion matrices to show.")

with tabs[4]:
    if comparison.empty:
        st.info("No heads evaluated.")
    else:
        metric = st.selectbox(
            "metric", ["accuracy", "macro_f1", "balanced_accuracy", "weighted_f1"], key="heads-metric"
        )
        st.plotly_chart(
            grouped_bar(comparison, x="head", y=metric, color="run", y_title=f"{metric} on {split}"), key="heads-chart"
        )

with tabs[5]:
    st.caption(
        f"Published results (DOI {paper.PAPER_DOI}). Accuracy as a fraction; the paper does not say "
        "whether its P/R/F1 are macro or weighted."
    )
    tables = st.multiselect(
        "tables",
        paper.PAPER_TABLES,
        default=list(dict.fromkeys(result.table for result in paper.published_results(split=split))),
        key="paper-tables",
        help="by default the paper's tables of the split shown above",
    )
    st.dataframe(
        pd.DataFrame([asdict(result) for result in paper.published_results(tables)]), hide_index=True, key="paper-table"
    )
    if not comparison.empty:
        st.markdown(f"**Ours on {split} vs the paper's matching row**")
        st.dataframe(
            comparison[["run", "head", "tta", "accuracy", "macro_f1", "paper accuracy", "paper table"]],
            hide_index=True,
            key="ours-vs-paper",
            column_config=METRIC_FORMAT,
        )

with tabs[6]:
    single = len(selected) == 1
    try:
        configs = compare.compare_runs(list(runs.values()), all_config=single, store=None if public else run_store())
    except FerError as exc:
        show_error(exc)
    else:
        configs.index = pd.Index(selected, name="run")
        shown_fields = [
            c for c in configs.columns if c.startswith("config.") and not (public and SERVER_FIELD.search(c))
        ]
        st.dataframe(configs[shown_fields].T.astype(str), key="config-diff")
        st.caption(
            "Every config field of this run."
            if single
            else "Config fields whose values differ between the selected runs."
        )
