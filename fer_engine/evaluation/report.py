"""The run report in the paper's layout: one row per method, our scores beside the published ones, per split.

Rows: the network's softmax classifier and each head (ANN/MLP, SVM, RF, XGBoost); columns: accuracy and
macro precision / recall / F1 (plus weighted F1 and balanced accuracy) on val (PublicTest), test
(PrivateTest) and, clearly labelled, the training accuracy. Then per-class scores and confusion matrices.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fer_engine.embeddings.embedding_set import available_embedding_splits
from fer_engine.evaluation.evaluate import (
    SOFTMAX_HEAD,
    evaluate_run,
    has_trained_classifier,
    run_protocol,
    stored_evaluations,
)
from fer_engine.heads.fitting import HeadRecord, head_record_file
from fer_engine.heads.registry import HEAD_SPECS
from fer_engine.io_utils import atomic_write_text
from fer_engine.runs.layout import RunPaths
from fer_engine.scoring.metrics import TRAINING_ACCURACY_LABEL, ClassificationMetrics
from fer_engine.scoring.paper_results import LEAK_NOTE, PAPER_DOI, PaperResult, paper_loss_family, paper_result

METHODS = (SOFTMAX_HEAD, "mlp", "svm", "rf", "xgboost")
REPORT_SPLITS = ("val", "test", "train")
SPLIT_TITLES = {
    "val": "Validation (PublicTest)",
    "test": "Test (PrivateTest)",
    "train": f"Train: {TRAINING_ACCURACY_LABEL}, not a validation score",
}
LOSS_TITLES = {"ce": "cross-entropy", "triplet": "triplet loss", "ce+triplet": "cross-entropy + triplet loss"}


def build_report(run: RunPaths, *, evaluate_outdated: bool = True) -> str:
    """The Markdown report of a run (evaluating softmax/heads first where an evaluation is missing or outdated)."""
    if evaluate_outdated and available_embedding_splits(run):
        evaluate_run(run, only_outdated=True)
    evaluations = stored_evaluations(run)
    protocol = run_protocol(run)
    config = run.read_config()
    loss = str(config.get("loss", protocol.get("loss", "")) or "")
    lines = _header(run, config, protocol, loss, evaluations)
    arch = str(protocol.get("arch") or config.get("arch") or "VGG19")
    for split in REPORT_SPLITS:
        lines += _split_section(run, split, loss, evaluations, config, arch)
    lines += _per_class_section(evaluations)
    lines += _confusion_section(evaluations)
    lines += _heads_section(run)
    lines += _notes(loss)
    return "\n".join(lines).rstrip() + "\n"


def write_report(run: RunPaths) -> Path:
    """Build the report and write it to `reports/report.md` atomically; returns the path."""
    return atomic_write_text(run.report_markdown, build_report(run))


# ---- sections ---------------------------------------------------------------------------------------


def _header(
    run: RunPaths,
    config: dict[str, Any],
    protocol: dict[str, Any],
    loss: str,
    evaluations: dict[tuple[str, str], ClassificationMetrics],
) -> list[str]:
    arch = protocol.get("arch") or config.get("arch", "?")
    tta = next((m.protocol.get("tta", "none") for m in evaluations.values()), "none")
    heads_line = "heads fitted on train (scikit-learn / XGBoost on the GAP embeddings), compared on val"
    records = _head_records(run)
    if any(record.search for record in records.values()):
        searched = next(record.search for record in records.values() if record.search)
        heads_line += f"; random search ({searched['n_iter']} candidates, {searched['cv_folds']}-fold CV inside train)"
    protocol_items = [
        f"checkpoint selected on {protocol.get('selected_on', 'val')} (PublicTest), never on test",
        f"TTA: {'no' if tta == 'none' else 'yes (' + tta + ')'}",
        f"ImageNet-pretrained: {'yes' if protocol.get('pretrained') else 'no'}",
        "single model (no ensemble)",
        "embeddings: global-average-pool output (forward hook)",
        heads_line,
    ]
    lines = [
        f"# Run `{run.run_id}`: {arch} + {LOSS_TITLES.get(loss, loss or 'unknown loss')}",
        "",
        f"**Protocol:** {'; '.join(protocol_items)}.",
        "",
    ]
    data = _data_line(config, evaluations)
    if data:
        lines += [f"**Data:** {data}", ""]
    lines += [
        f"Paper columns: the published numbers of DOI {PAPER_DOI} for the "
        f"{'triplet' if paper_loss_family(loss) == 'triplet' else 'cross-entropy'} backbone "
        "(accuracy %, precision / recall / F1 as printed; the paper does not say macro or weighted).",
        "",
    ]
    return lines


def _data_line(config: dict[str, Any], evaluations: dict[tuple[str, str], ClassificationMetrics]) -> str:
    parts = []
    source = config.get("data_source") or config.get("data_path")
    if source:
        parts.append(f"`{source}`")
    if config.get("data_fingerprint"):
        parts.append(f"fingerprint {str(config['data_fingerprint'])[:12]}")
    sizes = {split: m.n for (split, head), m in evaluations.items() if head == SOFTMAX_HEAD}
    if sizes:
        parts.append(", ".join(f"{split} {sizes[split]:,}" for split in ("train", "val", "test") if split in sizes))
    if config.get("limit"):
        parts.append(f"limited to {config['limit']} images per split")
    drawn = (config.get("data_splits") or {}).get("drawn") or {}
    for split, how in drawn.items():
        parts.append(f"{split} drawn: {how}")
    return "; ".join(parts)


def _split_section(
    run: RunPaths,
    split: str,
    loss: str,
    evaluations: dict[tuple[str, str], ClassificationMetrics],
    config: dict[str, Any],
    arch: str,
) -> list[str]:
    lines = [f"## {SPLIT_TITLES[split]}", ""]
    present = any(s == split for s, _ in evaluations)
    if not present:
        absent = (config.get("data_splits") or {}).get("absent") or []
        reason = (
            "absent from this run's data"
            if split in absent or run.embeddings_file("train").exists()
            else "not evaluated"
        )
        lines += [f"*{split} split {reason}*: no scores of ours; the paper's numbers are shown alone.", ""]
    lines += [
        "| method | acc | macro P | macro R | macro F1 | weighted F1 | balanced acc | paper acc | paper P | paper R"
        " | paper F1 | paper source |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for method in METHODS:
        ours = evaluations.get((split, method))
        paper = paper_result(loss, method, split)
        if method == SOFTMAX_HEAD and not has_trained_classifier(loss):
            continue  # triplet loss alone trains no classifier (the paper has no such row either)
        lines.append(f"| {_method_title(method, loss, arch)} | {_our_cells(ours, present)} | {_paper_cells(paper)} |")
    lines.append("")
    return lines


def _method_title(method: str, loss: str, arch: str) -> str:
    if method == SOFTMAX_HEAD:
        return f"{arch} + {LOSS_TITLES.get(loss, loss or '?')} (softmax)"
    return f"+ {HEAD_SPECS[method].title}"


def _our_cells(metrics: ClassificationMetrics | None, split_present: bool) -> str:
    if metrics is None:
        return " | ".join(["absent" if not split_present else "not fitted"] + ["-"] * 5)
    values = [f"{metrics.accuracy * 100:.2f}%"] + [
        f"{value:.3f}"
        for value in (
            metrics.macro_precision,
            metrics.macro_recall,
            metrics.macro_f1,
            metrics.weighted_f1,
            metrics.balanced_accuracy,
        )
    ]
    if metrics.fitted_on_split:
        values[0] += " (fitted on this split)"
    return " | ".join(values)


def _paper_cells(paper: PaperResult | None) -> str:
    if paper is None:
        return " | ".join(["-"] * 4 + ["not in the paper"])
    accuracy = f"{paper.accuracy * 100:.2f}%"
    source = paper.table
    if paper.leaked:
        accuracy += " (leak!)"
        source += ": documented error, a training accuracy (see notes)"
    return " | ".join([accuracy, f"{paper.precision:.2f}", f"{paper.recall:.2f}", f"{paper.f1:.2f}", source])


def _evaluated_methods(evaluations: dict[tuple[str, str], ClassificationMetrics], split: str) -> list[str]:
    return [method for method in METHODS if (split, method) in evaluations]


def _per_class_section(evaluations: dict[tuple[str, str], ClassificationMetrics]) -> list[str]:
    lines: list[str] = []
    for split in ("val", "test"):
        methods = _evaluated_methods(evaluations, split)
        if not methods:
            continue
        class_names = evaluations[(split, methods[0])].class_names
        lines += [
            f"## Per-class F1 (precision / recall), {SPLIT_TITLES[split]}",
            "",
            "| class | support | " + " | ".join(_short(m) for m in methods) + " |",
            "|---|---:|" + "---:|" * len(methods),
        ]
        for name in class_names:
            support = evaluations[(split, methods[0])].per_class[name]["support"]
            cells = []
            for method in methods:
                scores = evaluations[(split, method)].per_class[name]
                cells.append(f"{scores['f1']:.3f} ({scores['precision']:.2f} / {scores['recall']:.2f})")
            lines.append(f"| {name} | {support} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def _confusion_section(evaluations: dict[tuple[str, str], ClassificationMetrics]) -> list[str]:
    val_methods = _evaluated_methods(evaluations, "val")
    if not val_methods:
        return []
    # The method is chosen on val accuracy (never on test), then shown on val and on test.
    best = max(val_methods, key=lambda method: evaluations[("val", method)].accuracy)
    lines: list[str] = []
    for split in ("val", "test"):
        metrics = evaluations.get((split, best))
        if metrics is None:
            continue
        names = metrics.class_names
        lines += [
            f"## Confusion matrix, {SPLIT_TITLES[split]}: {_short(best)} (best on val)",
            "",
            "Rows: true class; columns: predicted class; counts, then row-normalised %.",
            "",
            "| true \\ predicted | " + " | ".join(names) + " |",
            "|---|" + "---:|" * len(names),
        ]
        for name, counts, fractions in zip(names, metrics.confusion_matrix, metrics.confusion_matrix_normalized):
            cells = [f"{count} ({fraction * 100:.0f}%)" for count, fraction in zip(counts, fractions)]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def _head_records(run: RunPaths) -> dict[str, HeadRecord]:
    records = {}
    for name in HEAD_SPECS:
        path = head_record_file(run, name)
        if path.exists():
            records[name] = HeadRecord.from_dict(json.loads(path.read_text()))
    return records


def _heads_section(run: RunPaths) -> list[str]:
    records = _head_records(run)
    if not records:
        return []
    lines = [
        "## Heads",
        "",
        "| head | n train | fit seconds | training accuracy (fitted on this split) | class weight | settings |",
        "|---|---:|---:|---:|---|---|",
    ]
    for name, record in records.items():
        if record.search:
            settings = f"random search, best CV acc {record.search['best_cv_accuracy']:.3f}: " + _format_params(
                record.search["best_params"]
            )
        else:
            spec = HEAD_SPECS[name]
            settings = _format_params({key: record.params[key] for key in spec.key_params if key in record.params})
        lines.append(
            f"| {HEAD_SPECS[name].title} | {record.n_train:,} | {record.fit_seconds:.1f} | "
            f"{record.training_accuracy * 100:.2f}% | {record.class_weight or 'none'} | {settings} |"
        )
    lines.append("")
    return lines


def _format_params(params: dict[str, Any]) -> str:
    return ", ".join(f"{key.split('__')[-1]}={value}" for key, value in params.items())


def _short(method: str) -> str:
    return "softmax" if method == SOFTMAX_HEAD else HEAD_SPECS[method].title


def _notes(loss: str) -> list[str]:
    family = paper_loss_family(loss)
    table = "Table 5" if family == "cross_entropy" else "Table 7"
    return [
        "## Notes",
        "",
        f"- Paper {table}, XGBoost 'validation': {LEAK_NOTE}. Here a head is fitted on train only; a score on "
        "the split a head (or the softmax classifier) was fitted on is labelled "
        f"'{TRAINING_ACCURACY_LABEL}'.",
        "- Our precision / recall / F1 columns are macro averages (every class counts equally); weighted F1 and "
        "balanced accuracy are given too because the classes are imbalanced (disgust is 1.5% of FER2013).",
        "- val = PublicTest (3,589 images in FER2013), test = PrivateTest (3,589); the paper's test tables "
        "(8-10) are PrivateTest.",
        "",
    ]
