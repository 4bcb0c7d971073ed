"""Turn a finished run into the shipped default model: fp16 weights, its run files, and a human-readable card."""

from __future__ import annotations

import json
import platform
import re
import shutil
from pathlib import Path

from fer_engine.data.dataset import FerDataset
from fer_engine.errors import RunNotFoundError
from fer_engine.io_utils import atomic_write_json, atomic_write_text
from fer_engine.models.checkpoint import load_checkpoint, read_card, save_checkpoint
from fer_engine.runs.layout import CARD_FILE, CHECKPOINT_DIR, WEIGHTS_FILE, RunPaths, replace_folder
from fer_engine.runs.run_config import recorded_command, recorded_data_path

# `--data PATH` (or `--data=PATH`) in a recorded command line: the card keeps only the file name of PATH.
_DATA_FLAG = re.compile(r"(--data[ =])(\S+)")

# Heads larger than this are not shipped (git-friendly); they can be refitted with `fer heads`.
MAX_SHIPPED_HEAD_BYTES = 15 * 1024 * 1024


def ship_run(
    run: RunPaths,
    destination: str | Path,
    dataset: FerDataset,
    *,
    tta_modes: tuple[str, ...] = ("none", "flip", "tencrop"),
    command: str = "",
    splits_to_ship: tuple[str, ...] = ("val",),
) -> RunPaths:
    """Copy `run` to `destination` as a self-contained run folder with fp16 weights, then evaluate that
    shipped checkpoint on val (each TTA mode, and each shipped head) and write CARD.md from those numbers."""
    if not run.has_checkpoint():
        raise RunNotFoundError(f"{run.root} has no checkpoint to ship")
    destination = Path(destination)
    staging = RunPaths(destination.with_name(f".{destination.name}.shipping"))
    if staging.root.exists():
        shutil.rmtree(staging.root)
    staging.root.mkdir(parents=True)
    try:
        _build_shipped_folder(run, staging, dataset, tta_modes, command, splits_to_ship)
    except BaseException:
        shutil.rmtree(staging.root, ignore_errors=True)  # a failed ship leaves the model already shipped in place
        raise
    replace_folder(staging.root, destination)
    return RunPaths(destination)


def _build_shipped_folder(
    run: RunPaths,
    shipped: RunPaths,
    dataset: FerDataset,
    tta_modes: tuple[str, ...],
    command: str,
    splits_to_ship: tuple[str, ...],
) -> None:
    """Fill `shipped` with the run's files, fp16 weights, embeddings and heads of those weights, and CARD.md."""
    for source in (run.config, run.metrics_log, run.summary):
        if source.exists():
            shutil.copy2(source, shipped.root / source.name)
    if run.report_markdown.exists():  # the run's full paper-layout report; evaluations are redone below
        shipped.reports_dir.mkdir(parents=True)
        shutil.copy2(run.report_markdown, shipped.report_markdown)
    model, card = load_checkpoint(run.checkpoint_dir)
    card.extra["shipped_from_run"] = run.run_id
    if card.config.get("data_path"):  # a shipped model names its data by file name, never by a machine path
        card.config["data_path"] = Path(str(card.config["data_path"])).name
    save_checkpoint(model, card, shipped.checkpoint_dir, half=True)
    _embed_shipped(shipped, dataset, splits_to_ship)
    _ship_small_heads(run, shipped)
    evaluations = evaluate_shipped(shipped, dataset, tta_modes)
    atomic_write_text(shipped.card_markdown, model_card_markdown(shipped, evaluations, command))


def evaluate_shipped(shipped: RunPaths, dataset: FerDataset, tta_modes: tuple[str, ...]) -> dict[str, dict]:
    """Score the shipped checkpoint on val: softmax under each TTA mode, and each shipped head (no TTA)."""
    from fer_engine.evaluation.evaluate import evaluate_checkpoint

    results: dict[str, dict] = {}
    for tta in tta_modes:
        metrics = evaluate_checkpoint(shipped.root, dataset, "val", tta=tta).to_dict()
        results[f"softmax (TTA {tta})"] = metrics
        name = "softmax" if tta == "none" else f"softmax_tta-{tta}"
        atomic_write_json(shipped.evaluation_file("val", name), metrics)
    from fer_engine.heads.fitting import fitted_head_names

    for head in fitted_head_names(shipped):
        metrics = evaluate_checkpoint(shipped.root, dataset, "val", head=head).to_dict()
        results[f"{head} head"] = metrics
        atomic_write_json(shipped.evaluation_file("val", head), metrics)
    return results


def _embed_shipped(shipped: RunPaths, dataset: FerDataset, splits: tuple[str, ...]) -> None:
    """Embeddings of the shipped fp16 weights (so they match its checkpoint), stored compact for git."""
    from fer_engine.embeddings.extract import embed_run

    embed_run(shipped, dataset, tuple(split for split in splits if split in dataset.splits), compact=True)


def _ship_small_heads(run: RunPaths, shipped: RunPaths) -> None:
    """Copy fitted heads that beat the softmax on val and are small enough for git."""
    from fer_engine.embeddings import checkpoint_sha256
    from fer_engine.heads.fitting import fitted_head_names, head_record_file

    softmax_accuracy = _read_json(run.evaluation_file("val", "softmax")).get("accuracy", 0.0)
    for head in fitted_head_names(run):
        evaluation = _read_json(run.evaluation_file("val", head))
        files = [p for p in run.heads_dir.glob(f"{head}.*")]
        size = sum(p.stat().st_size for p in files)
        if evaluation.get("accuracy", 0.0) > softmax_accuracy and size <= MAX_SHIPPED_HEAD_BYTES:
            shipped.heads_dir.mkdir(parents=True, exist_ok=True)
            for path in files:
                shutil.copy2(path, shipped.heads_dir / path.name)
            _point_head_at_shipped_weights(head_record_file(shipped, head), checkpoint_sha256(shipped.checkpoint_dir))


def _point_head_at_shipped_weights(record_file: Path, shipped_sha256: str) -> None:
    """A head fitted on the fp32 run belongs to its fp16 copy: record both digests (CARD.md scores it on the copy)."""
    record = json.loads(record_file.read_text())
    record["fitted_on_checkpoint_sha256"] = record.get("embeddings_checkpoint_sha256", "")
    record["embeddings_checkpoint_sha256"] = shipped_sha256
    record["shipped_note"] = "fitted on embeddings of the fp32 weights that checkpoint/ holds as fp16"
    atomic_write_json(record_file, record)


def _hardware_caveat(summary: dict) -> list[str]:
    """A card line saying a CPU-trained model stands in until the same recipe is trained on a GPU."""
    if summary.get("device") != "cpu":
        return []
    return [
        "- Trained on a CPU because no GPU was available to this project; the same command on a GPU "
        "(`scripts/gpu/`) should replace it."
    ]


def without_machine_paths(command: str) -> str:
    """`command` with each `--data PATH` shortened to the file name (a shipped card names no machine path)."""
    return _DATA_FLAG.sub(lambda match: match.group(1) + Path(match.group(2)).name, command)


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def model_card_markdown(run: RunPaths, evaluations: dict[str, dict], command: str = "") -> str:
    """CARD.md: what the model is, how it was trained (exact command), and its measured PublicTest numbers."""
    card = read_card(run.checkpoint_dir)
    config = run.read_config()
    summary = run.read_summary()
    val = evaluations.get("softmax (TTA none)", {})
    data_name = Path(recorded_data_path(config)).name or "?"
    lines = [
        f"# Shipped model: {card.arch}",
        "",
        f"- Architecture: `{card.arch}`, input {card.input_size}x{card.input_size} grayscale, "
        f"{card.embedding_dim}-d GAP embedding, {card.num_classes} classes ({', '.join(card.class_names)}).",
        f"- Weights: `{CHECKPOINT_DIR}/{WEIGHTS_FILE}` ({card.weights_dtype}); card `{CHECKPOINT_DIR}/{CARD_FILE}`.",
        f"- Pretrained: {bool(config.get('pretrained'))}; single model, no ensemble.",
        f"- Checkpoint selected on: val (PublicTest), metric `{config.get('select_metric', '?')}`, epoch "
        f"{card.metrics.get('epoch', '?')}.",
        f"- Data fingerprint: `{card.data_fingerprint}` (file `{data_name}`).",
        f"- Hardware: {summary.get('device', '?')} ({summary.get('device_name', platform.processor() or platform.machine())}), "
        f"precision {summary.get('precision', '?')}; training time {summary.get('total_seconds', 0) / 60:.1f} min.",
        f"- Training command: `{without_machine_paths(recorded_command(config))}` (an interrupted run continues with "
        f"`fer train --resume {summary.get('run_id', card.extra.get('shipped_from_run', 'RUN'))}`).",
        *_hardware_caveat(summary),
        f"- Shipped with: `{without_machine_paths(command) or 'fer ship RUN --data PATH'}`",
        "",
        "## PublicTest (val) results of this shipped checkpoint",
        "",
        "Measured on the fp16 weights in this folder by `fer ship` (rerun: `fer evaluate --checkpoint "
        "checkpoints/default --data PATH --split val [--tta flip] [--head xgboost]`). Heads were fitted on "
        "train embeddings (no TTA) and chosen on val; the TTA mode too was chosen on val.",
        "",
        "| method | accuracy | macro P | macro R | macro F1 | weighted F1 |",
        "|---|---|---|---|---|---|",
    ]
    for method, metrics in evaluations.items():
        lines.append(
            f"| {method} | {metrics['accuracy'] * 100:.2f}% | {metrics['macro_precision']:.4f} | "
            f"{metrics['macro_recall']:.4f} | {metrics['macro_f1']:.4f} | {metrics['weighted_f1']:.4f} |"
        )
    lines.append("")
    if val:
        lines += [
            "Confusion matrix of the softmax without TTA (rows = true class, columns = predicted):",
            "",
            "| true \\ pred | " + " | ".join(card.class_names) + " |",
            "|---" * (len(card.class_names) + 1) + "|",
        ]
        for name, row in zip(card.class_names, val["confusion_matrix"]):
            lines.append(f"| {name} | " + " | ".join(str(v) for v in row) + " |")
    else:
        lines.append("No evaluation file was found in this run.")
    lines += ["", "The PrivateTest split was never used for training or selection.", ""]
    return "\n".join(lines)
