"""Experiments: every run in one sortable table; pick two or more to compare metrics, curves, confusion and heads."""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from dashboard.components.charts import confusion_heatmap, curves, grouped_bar
from dashboard.components.engine import show_error
from dashboard.components.evaluations import evaluated_splits, run_evaluations
from dashboard.components.runs import has_checkpoint, run_store
from dashboard.components.settings import default_run_dir
from fer_engine.errors import FerError
from fer_engine.runs.layout import RunPaths

st.title("Experiments")

import fer_engine.evaluation.paper_results as paper
import fer_engine.runs.compare as compare

KEY_COLUMN = re.compile(r"^(eval\.(val|test)\.[^.]+\.(accuracy|macro_f1)|summary\.(best_\w+|total_seconds|device))$")
IDENTITY = ["name", "status", "kind", "arch", "preset", "loss", "created_at"]
METRIC_COLUMNS = ["accuracy", "balanced_accuracy", "macro_precision", "macro_recall", "macro_f1",
                  "weighted_precision", "weighted_recall", "weighted_f1", "n"]

store = run_store()
folders = {record.run_id: store.root / record.run_id for record in store.list() if (store.root / record.run_id).is_dir()}
shipped = RunPaths(default_run_dir())
if has_checkpoint(shipped) and shipped.run_id not in folders:
    folders[shipped.run_id] = shipped.root  # the shipped model compares like any run
if not folders:
    st.info(f"No runs under `{store.root}` yet. Queue one on the Train page (or set FER_RUNS_DIR).")
    st.stop()

try:
    table = compare.compare_runs([RunPaths(folder) for folder in folders.values()], store=store, all_config=False)
except FerError as exc:
    show_error(exc, "Reading the runs")
    st.stop()
if shipped.run_id in table.index and shipped.root == folders.get(shipped.run_id):
    table.loc[shipped.run_id, "status"] = "shipped"

filters = st.columns([2, 1, 1])
text = filters[0].text_input("filter (run id, name, arch, preset, loss contain)", key="runs-filter")
statuses = filters[1].multiselect("status", sorted(table["status"].dropna().unique()) if "status" in table else [],
                                  key="runs-status")
losses = filters[2].multiselect("loss", sorted(table["loss"].dropna().unique()) if "loss" in table else [],
                                key="runs-loss")
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
st.dataframe(shown[columns or default_columns], key="runs-table")
st.caption(f"{len(shown)} of {len(table)} run(s); click a column header to sort.")

st.divider()
st.subheader("Compare runs")
selected = st.multiselect("runs to compare (two or more)", list(shown.index), default=list(shown.index[:2]),
                          key="compare-runs")
if len(selected) < 2:
    st.info("Pick at least two runs to compare them.")
    st.stop()

runs = {run_id: RunPaths(folders[run_id]) for run_id in selected}
splits = sorted({split for run in runs.values() for split in evaluated_splits(run)},
                key=lambda s: ("val", "test", "train").index(s) if s in ("val", "test", "train") else 9)
split = st.radio("split", splits or ["val"], horizontal=True, key="compare-split",
                 help="val = PublicTest (used to select checkpoints and heads), test = PrivateTest")
evaluations = {run_id: run_evaluations(run, split) for run_id, run in runs.items()}
loss_of = {run_id: (table.loc[run_id, "loss"] if "loss" in table else "") for run_id in selected}

rows = []
for run_id, by_head in evaluations.items():
    for head, result in by_head.items():
        row = {"run": run_id, "head": head, "split": split, "score kind": result.score_kind,
               "tta": result.protocol.get("tta", "none")}
        row.update({name: getattr(result, name) for name in METRIC_COLUMNS})
        published = paper.paper_result(loss_of[run_id], head, split) if paper is not None else None
        row["paper accuracy"] = published.accuracy if published is not None and not published.leaked else None
        row["paper table"] = published.table if published is not None else ""
        rows.append(row)
comparison = pd.DataFrame(rows)

tabs = st.tabs(["Metrics", "Per-class F1", "Training curves", "Confusion matrices", "Heads", "Paper", "Config"])
with tabs[0]:
    if comparison.empty:
        st.info(f"None of these runs has an evaluation on '{split}' yet (run `fer evaluate`).")
    else:
        st.dataframe(comparison, hide_index=True, key="comparison-table",
                     column_config={name: st.column_config.NumberColumn(format="%.4f")
                                    for name in METRIC_COLUMNS[:-1] + ["paper accuracy"]})
        st.download_button("Download comparison CSV", comparison.to_csv(index=False).encode("utf-8"),
                           file_name=f"comparison_{split}.csv", mime="text/csv", key="comparison-csv")

heads_available = sorted({head for by_head in evaluations.values() for head in by_head},
                         key=lambda head: (head != "softmax", head))
with tabs[1]:
    if heads_available:
        head = st.selectbox("head", heads_available, key="perclass-head")
        per_class = [{"run": run_id, "class": name, "f1": scores["f1"]}
                     for run_id, by_head in evaluations.items() if head in by_head
                     for name, scores in by_head[head].per_class.items()]
        st.plotly_chart(grouped_bar(pd.DataFrame(per_class), x="class", y="f1", color="run",
                                    y_title=f"F1 on {split}"), key="perclass-chart")
    else:
        st.info("No per-class results to show.")

with tabs[2]:
    histories = []
    for run_id, run in runs.items():
        frame = pd.DataFrame(run.read_metrics())
        if not frame.empty and "epoch" in frame:
            frame["run"] = run_id
            histories.append(frame)
    if histories:
        history = pd.concat(histories, ignore_index=True)
        candidates = [c for c in history.columns if c not in ("epoch", "run") and pd.api.types.is_numeric_dtype(history[c])]
        default = [c for c in ("val_accuracy", "val_loss") if c in candidates] or candidates[:1]
        chosen = st.multiselect("metrics", candidates, default=default, key="curve-metrics")
        for metric in chosen:
            st.plotly_chart(curves(history, x="epoch", y=metric, color="run", title=metric), key=f"curve-{metric}")
    else:
        st.info("None of these runs has a metrics.jsonl yet.")

with tabs[3]:
    if heads_available:
        head = st.selectbox("head", heads_available, key="confusion-head")
        normalized = st.toggle("row-normalised (recall per true class)", value=True, key="confusion-normalized")
        with_head = [(run_id, by_head[head]) for run_id, by_head in evaluations.items() if head in by_head]
        columns = st.columns(min(3, len(with_head)) or 1)
        for index, (run_id, result) in enumerate(with_head):
            matrix = result.confusion_matrix_normalized if normalized else result.confusion_matrix
            columns[index % len(columns)].plotly_chart(
                confusion_heatmap(matrix, result.class_names, normalized=normalized, title=run_id),
                key=f"confusion-{run_id}")
    else:
        st.info("No confusion matrices to show.")

with tabs[4]:
    if comparison.empty:
        st.info("No heads evaluated.")
    else:
        metric = st.selectbox("metric", ["accuracy", "macro_f1", "balanced_accuracy", "weighted_f1"], key="heads-metric")
        st.plotly_chart(grouped_bar(comparison, x="head", y=metric, color="run", y_title=f"{metric} on {split}"),
                        key="heads-chart")

with tabs[5]:
    st.caption(f"Published results (DOI {paper.PAPER_DOI}). Accuracy as a fraction; the paper does not say "
               "whether its P/R/F1 are macro or weighted.")
    published = pd.DataFrame([vars(result) for result in paper.PAPER_RESULTS])
    tables = st.multiselect("tables", sorted(published["table"].unique(), key=lambda t: int(t.split()[-1])),
                            default=["Table 8", "Table 9", "Table 10"], key="paper-tables")
    st.dataframe(published[published["table"].isin(tables)], hide_index=True, key="paper-table")
    if not comparison.empty:
        st.markdown(f"**Ours on {split} vs the paper's matching row**")
        st.dataframe(comparison[["run", "head", "accuracy", "macro_f1", "paper accuracy", "paper table"]],
                     hide_index=True, key="ours-vs-paper")


with tabs[6]:
    try:
        differing = compare.compare_runs(list(runs.values()), store=store, all_config=False)
        st.dataframe(differing[[c for c in differing.columns if c.startswith("config.")]].T.astype(str), key="config-diff")
        st.caption("Config fields whose values differ between the selected runs.")
    except FerError as exc:
        show_error(exc)
