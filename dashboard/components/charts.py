"""Plotly figures used by several pages (counts, curves, confusion matrices, probabilities)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go


def grouped_bar(frame: pd.DataFrame, *, x: str, y: str, color: str, title: str = "", y_title: str = "") -> go.Figure:
    """Bars of `y` per `x`, one colour per `color` value, side by side."""
    figure = px.bar(frame, x=x, y=y, color=color, barmode="group", title=title or None)
    figure.update_layout(yaxis_title=y_title or y, legend_title_text=color, margin=dict(t=40 if title else 10, b=10))
    return figure


def curves(frame: pd.DataFrame, *, x: str, y: str, color: str, title: str = "") -> go.Figure:
    """Line chart of `y` against `x`, one line per `color` value (runs or metrics)."""
    figure = px.line(frame, x=x, y=y, color=color, markers=True, title=title or None)
    figure.update_layout(margin=dict(t=40 if title else 10, b=10))
    return figure


def confusion_heatmap(
    matrix: Sequence[Sequence[float]], class_names: Sequence[str], *, normalized: bool, title: str = ""
) -> go.Figure:
    """Heatmap of a confusion matrix (rows true class, columns predicted), values written in the cells."""
    values = np.asarray(matrix, dtype=float)
    text = np.vectorize(lambda v: f"{v:.2f}" if normalized else f"{round(v)}")(values) if values.size else values
    figure = go.Figure(
        go.Heatmap(
            z=values,
            x=list(class_names),
            y=list(class_names),
            colorscale="Blues",
            text=text,
            texttemplate="%{text}",
            showscale=False,
            zmin=0,
            zmax=1 if normalized else None,
        )
    )
    figure.update_layout(
        title=title or None,
        xaxis_title="predicted",
        yaxis_title="true",
        yaxis_autorange="reversed",
        margin=dict(t=40 if title else 10, b=10),
        height=420,
    )
    return figure


def probability_bars(probabilities: Sequence[float], class_names: Sequence[str], *, title: str = "") -> go.Figure:
    """Horizontal bars of class probabilities, the winning class highlighted."""
    values = np.asarray(probabilities, dtype=float)
    best = int(values.argmax()) if values.size else -1
    colors = ["#d62728" if i == best else "#1f77b4" for i in range(len(values))]
    figure = go.Figure(
        go.Bar(
            x=values,
            y=list(class_names),
            orientation="h",
            marker_color=colors,
            text=[f"{v:.0%}" for v in values],
            textposition="auto",
        )
    )
    figure.update_layout(
        title=title or None,
        xaxis=dict(range=[0, 1], tickformat=".0%"),
        yaxis_autorange="reversed",
        height=260,
        margin=dict(t=30 if title else 10, b=10, l=10, r=10),
    )
    return figure
