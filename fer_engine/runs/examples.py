"""Example runs shipped in `checkpoints/examples/<name>/`: real runs of this project without their weights.

An example keeps what the Experiments and Embeddings pages read (config, metrics log, summary, evaluations,
report, head records, float16 val embeddings and a precomputed 2-D map), so a fresh clone has runs to
compare. `export_example` builds one from a finished run (`fer ship RUN --example NAME`); `list_examples`
finds them; FER_SHOW_EXAMPLES=0 hides them from the dashboard.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

from fer_engine.errors import ConfigError, RunNotFoundError
from fer_engine.io_utils import atomic_write_json, atomic_write_text
from fer_engine.paths import PROJECT_ROOT
from fer_engine.runs.layout import (
    CONFIG_FILE,
    EMBEDDING_QUALITY_FILE,
    METRICS_FILE,
    REPORT_FILE,
    SUMMARY_FILE,
    RunPaths,
    replace_folder,
)
from fer_engine.runs.run_config import recorded_command

EXAMPLES_DIR = PROJECT_ROOT / "checkpoints" / "examples"
EXAMPLES_DIR_ENV = "FER_EXAMPLES_DIR"
SHOW_EXAMPLES_ENV = "FER_SHOW_EXAMPLES"
EXAMPLE_FIELD = "example"
MIB = 1024 * 1024
MAX_EXAMPLES_BYTES = 15 * MIB
"""All examples together stay under this size (they are kept in git)."""
EXAMPLE_SPLITS = ("val",)
EXAMPLE_MAP_METHOD = "UMAP"
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_RUN_FILES = (CONFIG_FILE, METRICS_FILE)
_REPORT_PATTERNS = ("evaluation_*.json", REPORT_FILE, EMBEDDING_QUALITY_FILE)  # reports/ files kept


def examples_dir() -> Path:
    """Where examples live: `FER_EXAMPLES_DIR`, else checkpoints/examples of this project."""
    explicit = os.environ.get(EXAMPLES_DIR_ENV, "").strip()
    return Path(explicit) if explicit else EXAMPLES_DIR


def examples_shown() -> bool:
    """Whether pages list the examples (default yes; FER_SHOW_EXAMPLES=0/false/no/off hides them)."""
    return os.environ.get(SHOW_EXAMPLES_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def is_example(run: RunPaths) -> bool:
    """True for a folder made by `export_example` (its summary.json says `"example": true`)."""
    return _summary(run).get(EXAMPLE_FIELD) is True


def example_name(run: RunPaths) -> str:
    """The example's short name (its folder name)."""
    return str(_summary(run).get("example_name") or run.root.name)


def list_examples(root: str | os.PathLike | None = None) -> list[RunPaths]:
    """Every example folder under `root` (default `examples_dir()`), sorted by name; [] when there is none."""
    folder = Path(root) if root is not None else examples_dir()
    if not folder.is_dir():
        return []
    return [RunPaths(path) for path in sorted(folder.iterdir())
            if path.is_dir() and not path.name.startswith(".") and is_example(RunPaths(path))]


def visible_examples() -> list[RunPaths]:
    """The examples pages show: `list_examples()` unless FER_SHOW_EXAMPLES hides them."""
    return list_examples() if examples_shown() else []


def folder_bytes(folder: Path) -> int:
    """Total size of the files under `folder`."""
    return sum(path.stat().st_size for path in Path(folder).rglob("*") if path.is_file())


def validate_example_name(name: str) -> str:
    """Lower-case letters, digits, '-' and '_' (it names a folder in the repository)."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ConfigError(f"example name {str(name)[:70]!r} must be 1-64 lower-case letters, digits, '-' or '_'")
    return name


def export_example(run: RunPaths, name: str, *, root: str | os.PathLike | None = None, command: str = "",
                   max_total_bytes: int = MAX_EXAMPLES_BYTES, map_method: str = EXAMPLE_MAP_METHOD,
                   note: str = "") -> RunPaths:
    """Copy a finished run, without weights, to `<root>/<name>/` as an example, with float16 val embeddings and a
    precomputed map (UMAP, the Embeddings page's default); replaces an example of that name.

    ConfigError if all examples together would exceed `max_total_bytes`; RunNotFoundError if the run lacks what
    an example needs. Nothing is left half-written on failure. `note`: a line for CARD.md (how the run was made
    when its recorded command does not say it all)."""
    validate_example_name(name)
    _check_exportable(run)
    folder = Path(root) if root is not None else examples_dir()
    destination = folder / name
    staging = RunPaths(folder / f".{name}.exporting")
    if staging.root.exists():
        shutil.rmtree(staging.root)
    staging.root.mkdir(parents=True)
    try:
        _build_example(run, staging, name, command, map_method, note)
        others = sum(folder_bytes(example.root) for example in list_examples(folder) if example.root != destination)
        total = others + folder_bytes(staging.root)
        if total > max_total_bytes:
            raise ConfigError(f"examples would take {total / MIB:.1f} MiB with '{name}', over the "
                              f"{max_total_bytes / MIB:.1f} MiB allowed")
    except BaseException:
        shutil.rmtree(staging.root, ignore_errors=True)
        raise
    replace_folder(staging.root, destination)
    return RunPaths(destination)


def _check_exportable(run: RunPaths) -> None:
    missing = [label for label, present in (
        (SUMMARY_FILE, run.summary.is_file()),
        (METRICS_FILE, run.metrics_log.is_file()),
        ("val embeddings (`fer embed`)", run.embeddings_file("val").is_file()),
        ("val evaluations (`fer evaluate`)", any(run.reports_dir.glob("evaluation_val_*.json"))),
    ) if not present]
    if missing:
        raise RunNotFoundError(f"run '{run.run_id}' cannot become an example: it lacks {', '.join(missing)}")


def _build_example(run: RunPaths, example: RunPaths, name: str, command: str, map_method: str, note: str) -> None:
    """Fill `example` with the run's files (no weights), compact embeddings, a stored map and CARD.md."""
    from fer_engine.embeddings import load_embeddings, save_embeddings
    from fer_engine.embeddings.projection import DEFAULT_MAP_SETTINGS, store_map

    for file_name in _RUN_FILES:
        if (run.root / file_name).is_file():
            shutil.copy2(run.root / file_name, example.root / file_name)
    summary = run.read_summary()
    summary.update({EXAMPLE_FIELD: True, "example_name": name, "example_of_run": run.run_id,
                    "example_note": "example run: metrics, evaluations and val embeddings only, no weights"})
    atomic_write_json(example.summary, summary)
    if not run.embedding_quality_file.is_file() and run.embeddings_file("train").is_file():
        from fer_engine.metric_learning.report import embedding_quality_for_run

        embedding_quality_for_run(run, ["val"])  # k-NN metrics need train embeddings, which examples do not keep
    example.reports_dir.mkdir()
    for pattern in _REPORT_PATTERNS:
        for path in sorted(run.reports_dir.glob(pattern)):
            shutil.copy2(path, example.reports_dir / path.name)
    records = [path for path in sorted(run.heads_dir.glob("*.json")) if not path.name.endswith(".xgb.json")]
    if records:  # head records (params, selection scores); the fitted heads themselves stay with the run
        example.heads_dir.mkdir()
        for path in records:
            shutil.copy2(path, example.heads_dir / path.name)
    for split in EXAMPLE_SPLITS:
        embedding_set = load_embeddings(run, split)
        save_embeddings(embedding_set, example.embeddings_file(split), compact=True)
        store_map(example, embedding_set, map_method, **DEFAULT_MAP_SETTINGS)
    atomic_write_text(example.card_markdown, example_card(example, command, note))


def example_card(example: RunPaths, command: str = "", note: str = "") -> str:
    """CARD.md of an example: what it is, the command that trained it, its seed and val (PublicTest) scores."""
    from fer_engine.evaluation.stored import run_evaluations

    config = example.read_config()
    summary = example.read_summary()
    training_command = recorded_command(config)
    lines = [
        f"# Example run: {summary.get('example_name', example.root.name)} (no weights)",
        "",
        f"- From run `{summary.get('example_of_run', '?')}`: `{config.get('arch', '?')}`, preset "
        f"`{config.get('preset', '?')}`, loss `{config.get('loss', '?')}`, seed {config.get('seed', '?')}, "
        f"{summary.get('epochs_completed', '?')} epoch(s), limit {config.get('limit') or 'none (full data)'}.",
        f"- Trained on {summary.get('device', '?')} in {float(summary.get('total_seconds') or 0) / 60:.1f} min; "
        f"command: `{training_command}`.",
        *_stopped_line(summary),
        *([f"- Note: {note}"] if note else []),
        f"- Exported with: `{command or 'fer ship RUN --example NAME'}`.",
        "- Kept: config, metrics.jsonl, summary, evaluations, report, embedding quality (val k-NN against train), "
        "head records, float16 val embeddings and a 2-D map (projections/). Not kept: weights, fitted heads, "
        "train embeddings.",
        "",
        "## PublicTest (val)",
        "",
        "| method | accuracy | macro F1 | TTA |",
        "|---|---|---|---|",
    ]
    for head, metrics in run_evaluations(example, "val").items():
        lines.append(f"| {head} | {metrics.accuracy * 100:.2f}% | {metrics.macro_f1:.4f} | "
                     f"{metrics.protocol.get('tta', 'none')} |")
    return "\n".join(lines) + "\n"


def _stopped_line(summary: dict) -> list[str]:
    """A card line for a run stopped before its planned epochs (its scores are those of a shorter training)."""
    status = summary.get("status")
    if status in (None, "succeeded"):
        return []
    return [f"- Status `{status}`: stopped after epoch {summary.get('epochs_completed', '?')} of "
            f"{summary.get('epochs_planned', '?')} planned; the checkpoint is the best of the epochs run."]


def _summary(run: RunPaths) -> dict:
    """summary.json as a dict; {} when absent or unreadable (a damaged folder is simply not an example)."""
    try:
        data = json.loads(run.summary.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
