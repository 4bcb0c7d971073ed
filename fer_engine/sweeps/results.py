"""A trial's value: the best epoch of its run on the sweep's metric, read from the run's metrics.jsonl."""

from __future__ import annotations

import math

from fer_engine.runs.layout import RunPaths


def epoch_values(run: RunPaths, metric: str) -> list[tuple[int, float]]:
    """(epoch, value) for every epoch of the run that logged a finite `metric`."""
    values: list[tuple[int, float]] = []
    for record in run.read_metrics():
        value = record.get(metric)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            values.append((int(record.get("epoch", len(values) + 1)), float(value)))
    return values


def best_value(run: RunPaths, metric: str, direction: str) -> float | None:
    """The best `metric` over the run's epochs (max or min by `direction`), None when it logged none."""
    values = [value for _, value in epoch_values(run, metric)]
    if not values:
        return None
    return max(values) if direction == "maximize" else min(values)
