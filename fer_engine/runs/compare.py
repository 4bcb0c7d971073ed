"""Side-by-side table of several runs: headline metrics, evaluation results and the config fields that differ."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any, Iterable

import pandas as pd

from fer_engine.errors import RunNotFoundError
from fer_engine.runs.layout import RunPaths

if TYPE_CHECKING:
    from fer_engine.runs.store import RunStore

IDENTITY_COLUMNS = ("run_id", "name", "status", "kind", "arch", "preset", "loss", "created_at")
_EVALUATION_PREFIX = "evaluation_"


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
    """`eval.<split>.<head>.<metric>` for every scalar of every reports/evaluation_<split>_<head>.json."""
    results: dict[str, Any] = {}
    if not run.reports_dir.is_dir():
        return results
    for path in sorted(run.reports_dir.glob(f"{_EVALUATION_PREFIX}*.json")):
        split_and_head = path.stem[len(_EVALUATION_PREFIX):]
        split, _, head = split_and_head.partition("_")
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if isinstance(data, dict):
            scalars = {k: v for k, v in data.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
            for metric, value in scalars.items():
                results[f"eval.{split}.{head or 'softmax'}.{metric}"] = value
    return results


def run_row(run: RunPaths, store: "RunStore | None" = None) -> tuple[dict[str, Any], dict[str, Any]]:
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
    row.update({f"summary.{k}": v for k, v in flatten_scalars(_read_json(run.summary)).items()})
    row.update(evaluation_results(run))
    return row, {f"config.{k}": v for k, v in flatten_scalars(config).items()}


def compare_runs(runs: Iterable[str | os.PathLike | RunPaths], *, store: "RunStore | None" = None,
                 all_config: bool = False) -> pd.DataFrame:
    """One row per run: identity, headline metrics, evaluation results, then config fields.

    By default only config fields whose values differ between the runs are kept (what explains the difference);
    `all_config=True` keeps every field.
    """
    if store is None:
        from fer_engine.runs.store import RunStore

        store = RunStore()
    resolved = [store.find(run) for run in runs]
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
