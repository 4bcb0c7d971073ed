"""Rendering of fer_engine.data's DatasetSummary and AuditReport (tables, a Plotly chart and thumbnails)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from dashboard.components.charts import grouped_bar


def counts_frame(summary: Any) -> pd.DataFrame:
    """class x split counts with total and share columns, from DatasetSummary.splits / class_totals."""
    frame = pd.DataFrame(summary.splits).reindex(summary.class_names).fillna(0).astype(int)
    frame["total"] = pd.Series(summary.class_totals)
    frame["share"] = frame["total"] / max(1, summary.total)
    frame.index.name = "class"
    return frame


def render_counts(summary: Any, paper_totals: dict[str, int]) -> None:
    """Per-split per-class counts (table + grouped bars) beside the paper's Table 1 class totals."""
    frame = counts_frame(summary)
    table_column, paper_column = st.columns([3, 2], gap="large")
    with table_column:
        st.markdown("**This dataset**")
        st.dataframe(
            frame, column_config={"share": st.column_config.NumberColumn(format="percent")}, key="counts-table"
        )
        if summary.imbalance_ratio is not None:
            st.caption(f"train imbalance (largest / smallest class): {summary.imbalance_ratio:.1f}x")
    with paper_column:
        st.markdown("**Paper, Table 1 (all 35,887 FER2013 images)**")
        paper = pd.DataFrame({"paper total": pd.Series(paper_totals)}).reindex(summary.class_names)
        paper["paper share"] = paper["paper total"] / paper["paper total"].sum()
        paper["ours / paper"] = frame["total"] / paper["paper total"]
        st.dataframe(
            paper,
            column_config={
                "paper share": st.column_config.NumberColumn(format="percent"),
                "ours / paper": st.column_config.NumberColumn(format="%.3f"),
            },
            key="paper-counts-table",
        )
    long = frame[list(summary.splits)].reset_index().melt(id_vars="class", var_name="split", value_name="images")
    st.plotly_chart(grouped_bar(long, x="class", y="images", color="split", y_title="images"), key="counts-chart")
    if summary.skipped_count:
        st.warning(
            f"{summary.skipped_count:,} item(s) were skipped while loading, e.g. "
            + "; ".join(f"{item['where']}: {item['reason']}" for item in summary.skipped_examples[:3])
        )


def render_audit(report: Any, face_lookup: Callable[[str], np.ndarray | None] | None = None) -> None:
    """The audit's counts (duplicates, leaks into val/test, blank/dark/bright) and example faces."""
    columns = st.columns(6)
    for column, (label, value) in zip(
        columns,
        [
            ("images", report.total_images),
            ("exact duplicate groups", report.exact_duplicates.groups),
            ("near duplicate groups", report.near_duplicates.groups),
            ("blank", report.blank.count),
            ("dark", report.dark.count),
            ("bright", report.bright.count),
        ],
    ):
        column.metric(label, f"{value:,}")
    rows = []
    for found in (report.exact_duplicates, report.near_duplicates):
        rows.append(
            {
                "kind": found.kind,
                "groups": found.groups,
                "images": found.images,
                "pairs": found.pairs,
                "within one split": found.within_split_groups,
                "across splits": found.cross_split_groups,
                "conflicting labels": found.conflicting_label_groups,
                "val/test copies of train": ", ".join(f"{s} {n:,}" for s, n in found.leaked_from_train.items())
                or "none",
            }
        )
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="audit-duplicates")
    st.caption(
        f"near = 16x16 thumbnail correlation >= {report.config.near_duplicate_min_correlation}; "
        f"blank = std < {report.config.blank_max_std}; dark = mean < {report.config.dark_max_mean}; "
        f"bright = mean > {report.config.bright_min_mean}. Audit took {report.seconds:.1f} s."
    )
    examples = [
        (found.kind, group)
        for found in (report.exact_duplicates, report.near_duplicates)
        for group in found.examples[:3]
    ]
    if examples and face_lookup is not None:
        st.markdown("**Example duplicate groups** (cross-split and conflicting-label groups first)")
        for kind, group in examples:
            faces = [face_lookup(key) for key in group.keys[:6]]
            shown = [
                (face, f"{split} · {label}")
                for face, split, label in zip(faces, group.splits, group.labels)
                if face is not None
            ]
            if shown:
                st.image([face for face, _ in shown], width=72, caption=[f"{kind}: {c}" for _, c in shown])
    for flagged in (report.blank, report.dark, report.bright):
        if flagged.examples and face_lookup is not None:
            flagged_faces = [face for face in (face_lookup(key) for key in flagged.examples[:8]) if face is not None]
            if flagged_faces:
                st.markdown(f"**{flagged.check}** ({flagged.count:,})")
                st.image(flagged_faces, width=72)
