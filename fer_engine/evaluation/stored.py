"""Reading a run's stored evaluation files, and the one headline number per metric every page shows.

Evaluations live in `reports/evaluation_<split>_<head>.json` (written by `fer evaluate`, `fer reproduce`
and `fer ship`). Pages and tables read them only through this module, so the Overview, the Experiments
page and the CLI never disagree about a run's accuracy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from fer_engine.runs.layout import RunPaths
from fer_engine.scoring.metrics import ClassificationMetrics

EVALUATION_PREFIX = "evaluation_"
SPLIT_ORDER = ("val", "test", "train")
SOFTMAX_HEAD = "softmax"
HEADLINE_SPLIT = "val"


def evaluated_splits(run: RunPaths) -> list[str]:
    """Splits with at least one evaluation file in the run's reports folder (val, test, train first)."""
    if not run.reports_dir.is_dir():
        return []
    found = {
        path.stem[len(EVALUATION_PREFIX) :].partition("_")[0]
        for path in run.reports_dir.glob(f"{EVALUATION_PREFIX}*.json")
    }
    return [split for split in SPLIT_ORDER if split in found] + sorted(found - set(SPLIT_ORDER))


def run_evaluations(run: RunPaths, split: str) -> dict[str, ClassificationMetrics]:
    """head -> ClassificationMetrics of every reports/evaluation_<split>_<head>.json, softmax first.

    An unreadable or malformed file is skipped (one damaged report must not hide the run's other results).
    """
    results: dict[str, ClassificationMetrics] = {}
    if not run.reports_dir.is_dir():
        return results
    prefix = f"{EVALUATION_PREFIX}{split}_"
    for path in sorted(run.reports_dir.glob(f"{prefix}*.json")):
        metrics = _read_metrics(path)
        if metrics is not None:
            results[path.stem[len(prefix) :]] = metrics
    return dict(sorted(results.items(), key=lambda item: (item[0] != SOFTMAX_HEAD, item[0])))


@dataclass(frozen=True)
class Headline:
    """A run's headline scores on one split and where they come from (`source` says it in words)."""

    split: str
    accuracy: float
    macro_f1: float | None
    tta: str
    source: str
    path: Path


def headline_metrics(run: RunPaths, split: str = HEADLINE_SPLIT) -> Headline | None:
    """The one accuracy (and macro F1) shown for a run everywhere: the stored evaluation of its softmax.

    That file scores the checkpoint as it is stored (the fp16 weights for a shipped model); the training
    log's best-epoch figure was measured on the fp32 weights during training and can differ by an image or
    two, so it is the fallback only for runs never evaluated. None when neither exists.
    """
    evaluation_file = run.evaluation_file(split, SOFTMAX_HEAD)
    metrics = _read_metrics(evaluation_file)
    if metrics is not None:
        return Headline(
            split,
            metrics.accuracy,
            metrics.macro_f1,
            str(metrics.protocol.get("tta", "none")),
            "evaluation of the stored checkpoint (softmax)",
            evaluation_file,
        )
    summary = _read_json(run.summary)
    accuracy = summary.get(f"best_{split}_accuracy")
    if isinstance(accuracy, (int, float)) and not isinstance(accuracy, bool):
        macro_f1 = summary.get(f"best_{split}_macro_f1")
        return Headline(
            split,
            float(accuracy),
            float(macro_f1) if isinstance(macro_f1, (int, float)) else None,
            "none",
            "training log, best epoch (not evaluated yet)",
            run.summary,
        )
    return None


def _read_metrics(path: Path) -> ClassificationMetrics | None:
    data = _read_json(path)
    if not data:
        return None
    try:
        return ClassificationMetrics.from_dict(data)
    except (TypeError, ValueError):
        return None


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
