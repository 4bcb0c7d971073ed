"""Score the softmax classifier and every fitted head of a run on each split, with protocol labels.

The softmax classifier was trained on train, so its train score is labelled as training accuracy too;
evaluation files go to `reports/evaluation_<split>_<head>.json`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fer_engine.classes import SPLIT_NAMES
from fer_engine.data.dataset import FerDataset
from fer_engine.embeddings.embedding_set import (
    EmbeddingSet,
    available_embedding_splits,
    checkpoint_sha256,
    load_embeddings,
)
from fer_engine.errors import ModelError
from fer_engine.heads.fitting import FIT_SPLIT, fitted_head_names, load_fitted_head
from fer_engine.io_utils import atomic_write_json
from fer_engine.runs.layout import RunPaths
from fer_engine.runs.resolve import run_of_checkpoint
from fer_engine.scoring.metrics import ClassificationMetrics, classification_metrics

SOFTMAX_HEAD = "softmax"


def run_protocol(run: RunPaths) -> dict[str, Any]:
    """Protocol labels of a run: checkpoint selected on val, pretrained or not, single model, checkpoint id."""
    config = run.read_config()
    card = _card(run.checkpoint_dir)
    pretrained = config.get("pretrained", card.extra.get("pretrained") if card else None)
    return {
        "selected_on": card.extra.get("selected_on", "val") if card else "val",
        "pretrained": bool(pretrained),
        "pretrained_weights": pretrained or None,
        "ensemble": False,
        "checkpoint": run.run_id,
        "checkpoint_epoch": card.extra.get("epoch") if card else None,
        "loss": config.get("loss", card.config.get("loss", "") if card else ""),
        "arch": config.get("arch", card.arch if card else ""),
    }


def _card(checkpoint_dir: Path):
    """The checkpoint's ModelCard, or None when the run has no checkpoint yet."""
    from fer_engine.models.checkpoint import CARD_FILE, read_card  # imports torch: only when needed

    return read_card(checkpoint_dir) if (Path(checkpoint_dir) / CARD_FILE).exists() else None


def has_trained_classifier(loss: str | None) -> bool:
    """False for a backbone trained with triplet loss alone: its softmax classifier never learned anything."""
    return loss != "triplet"


def softmax_metrics(embedding_set: EmbeddingSet, protocol: dict[str, Any] | None = None) -> ClassificationMetrics:
    """The network's own classifier (argmax of the logits); on train it is a training accuracy."""
    labels = {"tta": embedding_set.tta, "head_fitted_on": FIT_SPLIT}
    labels.update(protocol or {})
    return classification_metrics(
        embedding_set.labels,
        embedding_set.softmax_predictions,
        embedding_set.class_names,
        split=embedding_set.split,
        head=SOFTMAX_HEAD,
        fitted_on_split=embedding_set.split == FIT_SPLIT,
        protocol=labels,
    )


def evaluate_run(
    run: RunPaths,
    *,
    splits: list[str] | None = None,
    heads: list[str] | None = None,
    only_outdated: bool = False,
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> list[ClassificationMetrics]:
    """Score softmax + fitted heads on every split with embeddings, writing one evaluation file per pair.

    With `only_outdated`, pairs whose evaluation file is newer than their embeddings and head are kept as is.
    """
    protocol = run_protocol(run)
    split_names = splits or available_embedding_splits(run)
    head_names = list(heads if heads is not None else fitted_head_names(run))
    if has_trained_classifier(protocol["loss"]):
        head_names.insert(0, SOFTMAX_HEAD)
    fitted: dict[str, Any] = {}
    results = []
    for split in split_names:
        todo = [head for head in head_names if not (only_outdated and _is_current(run, split, head))]
        if not todo:
            continue
        embedding_set = load_embeddings(run, split)
        split_results = []
        for head in todo:
            if head == SOFTMAX_HEAD:
                split_results.append(softmax_metrics(embedding_set, protocol))
                continue
            if head not in fitted:
                fitted[head] = load_fitted_head(run, head)
            split_results.append(fitted[head].score(embedding_set, protocol))
        for metrics in split_results:
            atomic_write_json(run.evaluation_file(split, metrics.head), metrics.to_dict())
            if on_event:
                on_event(
                    {
                        "event": "evaluated",
                        "split": split,
                        "head": metrics.head,
                        "accuracy": metrics.accuracy,
                        "score_kind": metrics.score_kind,
                    }
                )
        results += split_results
    return results


def _is_current(run: RunPaths, split: str, head: str) -> bool:
    """True when the evaluation file exists and is newer than the embeddings (and head record) it scores."""
    evaluation = run.evaluation_file(split, head)
    if not evaluation.exists():
        return False
    inputs = [run.embeddings_file(split)]
    if head != SOFTMAX_HEAD:
        inputs.append(run.heads_dir / f"{head}.json")
    return all(path.exists() and path.stat().st_mtime <= evaluation.stat().st_mtime for path in inputs)


def read_evaluation(run: RunPaths, split: str, head: str = SOFTMAX_HEAD) -> ClassificationMetrics | None:
    """A stored evaluation, or None when that (split, head) was not evaluated."""
    path = run.evaluation_file(split, head)
    if not path.exists():
        return None
    return ClassificationMetrics.from_dict(json.loads(path.read_text()))


def stored_evaluations(run: RunPaths) -> dict[tuple[str, str], ClassificationMetrics]:
    """Every stored evaluation of the run, keyed by (split, head)."""
    found = {}
    for split in SPLIT_NAMES:
        for path in sorted(run.reports_dir.glob(f"evaluation_{split}_*.json")):
            metrics = ClassificationMetrics.from_dict(json.loads(path.read_text()))
            found[(metrics.split, metrics.head)] = metrics
    return found


def evaluate_checkpoint(
    checkpoint: str | Path,
    dataset: FerDataset,
    split: str,
    *,
    head: str = SOFTMAX_HEAD,
    tta: str = "none",
    device: str = "auto",
    batch_size: int = 512,
    runs_root: str | Path | None = None,
) -> ClassificationMetrics:
    """Embed `split` of `dataset` with a checkpoint (a folder, a run folder or a run id) and score one head on it."""
    from fer_engine.embeddings.extract import embed_splits
    from fer_engine.models.checkpoint import load_checkpoint, resolve_checkpoint_dir

    checkpoint_dir = resolve_checkpoint_dir(checkpoint, runs_root)
    dataset.split(split)  # DataError naming the absent split before any model work
    run = run_of_checkpoint(checkpoint_dir)
    fitted = None
    if head != SOFTMAX_HEAD:
        if run is None:
            raise ModelError(
                f"head '{head}' needs a run folder with fitted heads; {checkpoint_dir} is a bare checkpoint"
            )
        fitted = load_fitted_head(run, head)
    model, card = load_checkpoint(checkpoint_dir)
    embedding_set = embed_splits(model, dataset, [split], device=device, batch_size=batch_size, tta=tta)[split]
    embedding_set.checkpoint_sha256 = checkpoint_sha256(checkpoint_dir)
    protocol = (
        run_protocol(run)
        if run is not None
        else {
            "selected_on": card.extra.get("selected_on", "val"),
            "pretrained": bool(card.extra.get("pretrained")),
            "ensemble": False,
            "checkpoint": str(checkpoint_dir),
            "arch": card.arch,
        }
    )
    protocol["data_source"] = dataset.source
    if fitted is not None:
        return fitted.score(embedding_set, protocol)
    if not has_trained_classifier(card.config.get("loss")):
        raise ModelError(
            f"{checkpoint_dir} was trained with triplet loss alone, so its softmax classifier is "
            "untrained: evaluate a head instead (--head svm|xgboost|rf|mlp)"
        )
    return softmax_metrics(embedding_set, protocol)
