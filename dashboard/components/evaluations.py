"""A run's evaluation results as fer_engine ClassificationMetrics, keyed by head, for one split."""

from __future__ import annotations

import json

from fer_engine.runs.layout import RunPaths

EVALUATION_PREFIX = "evaluation_"


def evaluated_splits(run: RunPaths) -> list[str]:
    """Splits with at least one evaluation file in the run's reports folder."""
    if not run.reports_dir.is_dir():
        return []
    found = {path.stem[len(EVALUATION_PREFIX):].partition("_")[0] for path in run.reports_dir.glob(f"{EVALUATION_PREFIX}*.json")}
    return [split for split in ("train", "val", "test") if split in found] + sorted(found - {"train", "val", "test"})


def run_evaluations(run: RunPaths, split: str) -> dict:
    """head -> ClassificationMetrics of every reports/evaluation_<split>_<head>.json (unreadable files skipped)."""
    from fer_engine.evaluation.metrics import ClassificationMetrics

    results = {}
    if not run.reports_dir.is_dir():
        return results
    for path in sorted(run.reports_dir.glob(f"{EVALUATION_PREFIX}{split}_*.json")):
        head = path.stem[len(f"{EVALUATION_PREFIX}{split}_"):]
        try:
            results[head] = ClassificationMetrics.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            continue
    return dict(sorted(results.items(), key=lambda item: (item[0] != "softmax", item[0])))
