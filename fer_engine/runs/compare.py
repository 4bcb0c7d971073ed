"""Side-by-side table of several runs: headline metrics, evaluation results and the config fields that differ."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import Any

import pandas as pd

from fer_engine.errors import RunNotFoundError
from fer_engine.evaluation.stored import EVALUATION_PREFIX, evaluated_splits, headline_metrics, run_evaluations
from fer_engine.runs.examples import EXAMPLE_FIELD
from fer_engine.runs.layout import RunPaths
from fer_engine.runs.resolve import RunRef, resolve_run
from fer_engine.runs.store import RunStore
from fer_engine.scoring.paper_results import paper_result

IDENTITY_COLUMNS = ("run_id", "name", "status", "kind", "arch", "preset", "loss", "created_at",
                    "val_accuracy", "val_macro_f1", "val_tta")
METRIC_NAMES = ("accuracy", "balanced_accuracy", "macro_precision", "macro_recall", "macro_f1",
                "weighted_precision", "weighted_recall", "weighted_f1", "n")


def flatten_scalars(data: dict[str, Any], prefix: str = "", max_depth: int = 4) -> dict[str, Any]:
    """Dotted keys -> scalar values (numbers, strings, booleans, None) of nested dicts; lists are skipped."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and max_depth > 0:
            flat.update(flatten_scalars(value, f"{name}.", max_depth - 1))
        elif value is None or isinstance(value, (bool, int, float, str)):
            flat[name] = value
    return flat


def evaluation_results(run: RunPaths) -> dict[str, Any]:
    """`eval.<split>.<head>.<metric>` for every scalar of every reports/evaluation_<split>_<head>.json.

    Read as plain JSON scalars (not as full ClassificationMetrics) so a partial file still shows what it has."""
    results: dict[str, Any] = {}
    for split in evaluated_splits(run):
        prefix = f"{EVALUATION_PREFIX}{split}_"
        for path in sorted(run.reports_dir.glob(f"{prefix}*.json")):
            data = _read_json(path)
            for metric, value in data.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    results[f"eval.{split}.{path.stem[len(prefix):]}.{metric}"] = value
    return results


def headline_columns(run: RunPaths) -> dict[str, Any]:
    """`val_accuracy`, `val_macro_f1`, the TTA they used and their source: the one number per metric every page
    shows (`fer_engine.evaluation.stored.headline_metrics`)."""
    headline = headline_metrics(run)
    if headline is None:
        return {}
    return {"val_accuracy": headline.accuracy, "val_macro_f1": headline.macro_f1, "val_tta": headline.tta,
            "val_source": headline.source}


def run_row(run: RunPaths, store: RunStore | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(headline row, flattened config) of one run: index record, summary.json, evaluation reports, config.json."""
    row: dict[str, Any] = {"run_id": run.run_id}
    config = _read_json(run.config)
    record = None
    if store is not None and run.root.parent.resolve() == store.root.resolve():
        try:
            record = store.get(run.run_id)
        except RunNotFoundError:
            record = None
    if record is not None:
        row.update(name=record.name, status=record.status, kind=record.kind, arch=record.arch,
                   preset=record.preset, loss=record.loss,
                   created_at=pd.Timestamp(record.created_at, unit="s"))
        row.update({f"metric.{k}": v for k, v in flatten_scalars(record.metrics).items()})
    for key in ("arch", "preset", "loss"):
        if not row.get(key) and isinstance(config.get(key), str):
            row[key] = config[key]
    summary = _read_json(run.summary)
    if summary.get(EXAMPLE_FIELD) is True:
        row.update(name=row.get("name") or summary.get("example_name", run.run_id), kind="example",
                   status=row.get("status") or summary.get("status"))
    row.update(headline_columns(run))
    row.update({f"summary.{k}": v for k, v in flatten_scalars(summary).items()})
    row.update(evaluation_results(run))
    return row, {f"config.{k}": v for k, v in flatten_scalars(config).items()}


def compare_runs(runs: Iterable[RunRef], *, store: RunStore | None = None,
                 all_config: bool = False) -> pd.DataFrame:
    """One row per run: identity, headline metrics, evaluation results, then config fields.

    Runs given as RunPaths are read as they are (no run index needed: the shipped model, examples); ids and
    paths are found in `store` (default: the runs root).

    By default only config fields whose values differ between the runs are kept (what explains the difference);
    `all_config=True` keeps every field.
    """
    runs = list(runs)
    if store is None and not all(isinstance(run, RunPaths) for run in runs):
        store = RunStore()
    resolved = [resolve_run(run, store.root if store is not None else None) for run in runs]
    if not resolved:
        raise RunNotFoundError("name at least one run to compare (see `fer runs list`)")
    headline_rows, config_rows = zip(*(run_row(run, store) for run in resolved))
    headline = pd.DataFrame(list(headline_rows))
    config = pd.DataFrame(list(config_rows), index=headline.index)
    if not all_config and len(resolved) > 1 and not config.empty:
        differing = [c for c in config.columns if config[c].astype(str).nunique(dropna=False) > 1]
        config = config[differing]
    ordered = [c for c in IDENTITY_COLUMNS if c in headline.columns]
    ordered += sorted(c for c in headline.columns if c not in ordered)
    table = pd.concat([headline[ordered], config], axis=1)
    return table.set_index("run_id")


def _read_json(path: os.PathLike) -> dict[str, Any]:
    try:
        data = json.loads(open(path, encoding="utf-8").read())
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def evaluation_table(runs: dict[str, RunPaths], split: str) -> pd.DataFrame:
    """One row per (run label, head) evaluated on `split`: every metric, and the paper's matching published
    accuracy and table (None where the paper has no such row or its number is a documented leak)."""
    rows = []
    for label, run in runs.items():
        loss = str(run.read_config().get("loss") or "")
        for head, metrics in run_evaluations(run, split).items():
            published = paper_result(loss, head, split)
            row: dict[str, Any] = {"run": label, "head": head, "split": split, "score kind": metrics.score_kind,
                                   "tta": metrics.protocol.get("tta", "none")}
            row.update({name: getattr(metrics, name) for name in METRIC_NAMES})
            row["paper accuracy"] = published.accuracy if published is not None and not published.leaked else None
            row["paper table"] = published.table if published is not None else ""
            rows.append(row)
    return pd.DataFrame(rows)
