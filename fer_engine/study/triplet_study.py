"""`fer study triplet`: train one ordinary run per grid cell (loss x miner x distance) through the pipeline,
measure each run's embeddings and heads, and put everything in one table beside the paper's numbers."""

from __future__ import annotations

import json
import secrets
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fer_engine.errors import ConfigError
from fer_engine.heads.registry import HEAD_NAMES, SOFTMAX
from fer_engine.io_utils import atomic_write_json
from fer_engine.runs.layout import RunPaths
from fer_engine.runs.store import RunStore
from fer_engine.study.budget import CellWorkload, StudyPlan, measure_throughput, plan_study
from fer_engine.study.grid import DEFAULT_GRID, StudyCell
from fer_engine.study.table import HeadScore, PaperScore, StudyRow, markdown_table, write_study_table

DEFAULT_HEADS = HEAD_NAMES  # every registered head
STUDIES_FOLDER = "studies"
SCORED_SPLITS = ("val", "test")

Progress = Callable[[str], None]


@dataclass
class TripletStudySpec:
    """What to study: the data, the grid, the backbone, and either a time budget or a fixed number of epochs."""

    data_path: str
    cells: Sequence[StudyCell] = DEFAULT_GRID
    arch: str = "vgg19_bn_quarter"
    preset: str = "fast_cpu"
    budget_minutes: float | None = None
    epochs: int | None = None
    limit: int | None = None
    heads: Sequence[str] = DEFAULT_HEADS
    seed: int = 0
    runs_root: str | None = None
    device: str = "auto"
    extra_overrides: dict[str, Any] = field(default_factory=dict)

    def cell_overrides(self, cell: StudyCell, epochs: int | None) -> dict[str, Any]:
        """TrainConfig overrides of one run: the cell's loss/miner/distance plus the study-wide settings.

        With fewer epochs than the preset, its warm-up shrinks in proportion (so the schedule keeps its shape).
        """
        from fer_engine.training.presets import get_preset

        overrides: dict[str, Any] = {
            **self.extra_overrides,
            "arch": self.arch,
            "seed": self.seed,
            "device": self.device,
        }
        if epochs is not None:
            overrides["epochs"] = epochs
            base = get_preset(self.preset)
            if base.warmup_epochs > 0 and epochs != base.epochs:
                overrides["warmup_epochs"] = round(base.warmup_epochs * epochs / base.epochs, 3)
        cell_overrides = cell.overrides()
        if "triplet" in cell_overrides and isinstance(overrides.get("triplet"), dict):
            cell_overrides["triplet"] = {**overrides["triplet"], **cell_overrides["triplet"]}
        overrides.update(cell_overrides)
        return overrides

    def validate(self) -> None:
        """Fail before any training: every cell must make a valid config, every head must exist."""
        if not self.cells:
            raise ConfigError("the study grid has no cells")
        if self.budget_minutes is not None and self.budget_minutes <= 0:
            raise ConfigError(f"--budget must be a positive number of minutes, got {self.budget_minutes}")
        if self.epochs is not None and self.epochs < 1:
            raise ConfigError(f"--epochs must be >= 1, got {self.epochs}")
        from fer_engine.heads.registry import get_head_spec
        from fer_engine.training.presets import get_preset

        for head in self.heads:
            get_head_spec(head)
        base = get_preset(self.preset)
        for cell in self.cells:
            base.with_overrides(**self.cell_overrides(cell, self.epochs), limit=self.limit)


@dataclass
class StudyResult:
    """Where the study wrote its table, its rows, and the plan that sized it."""

    study_id: str
    folder: Path
    rows: list[StudyRow]
    plan: StudyPlan
    table_markdown: str
    files: dict[str, Path]

    @property
    def succeeded(self) -> bool:
        return all(row.status == "succeeded" for row in self.rows)


def plan_triplet_study(spec: TripletStudySpec, progress: Progress = print) -> StudyPlan:
    """Validate `spec` and size its epochs and limit (measuring this machine's speed when there is a budget)."""
    from fer_engine.data import load_dataset

    spec.validate()
    dataset = load_dataset(spec.data_path, seed=spec.seed)  # decoded once; the pipeline reuses the loader's cache
    return _plan(spec, dataset, progress)


def run_triplet_study(spec: TripletStudySpec, progress: Progress = print) -> StudyResult:
    """Run every cell of `spec` as a pipeline run and write study.md / study.csv / study.json under
    `<runs root>/studies/<study id>/`."""
    plan = plan_triplet_study(spec, progress)
    store = RunStore(spec.runs_root)
    study_id = f"{time.strftime('%Y%m%d-%H%M%S')}-triplet-{secrets.token_hex(2)}"
    folder = store.root / STUDIES_FOLDER / study_id
    folder.mkdir(parents=True, exist_ok=False)
    heads = [SOFTMAX, *spec.heads]
    header = {
        "study_id": study_id,
        "data_path": str(spec.data_path),
        "arch": spec.arch,
        "preset": spec.preset,
        "heads": heads,
        "seed": spec.seed,
        "plan": plan.to_dict(),
        "started_at": time.time(),
    }
    atomic_write_json(folder / "plan.json", header)
    progress(
        f"study {study_id}: {len(spec.cells)} runs, {plan.epochs} epochs each, "
        f"limit {plan.limit or 'none'}; {plan.note}"
    )

    rows = [
        StudyRow(cell.label, cell.loss, cell.miner, cell.distance, epochs=plan.epochs, limit=plan.limit)
        for cell in spec.cells
    ]
    files: dict[str, Path] = {}
    for index, (cell, row) in enumerate(zip(spec.cells, rows), start=1):
        progress(f"[{index}/{len(rows)}] {cell.label}")
        _run_cell(spec, cell, row, plan, store, study_id, folder, progress)
        files = write_study_table(folder, rows, heads, {**header, "finished_cells": index})
    header["finished_at"] = time.time()
    files = write_study_table(folder, rows, heads, header)
    table = markdown_table(rows, heads)
    return StudyResult(study_id, folder, rows, plan, table, files)


def _plan(spec: TripletStudySpec, dataset: Any, progress: Progress) -> StudyPlan:
    """Epochs and limit of every cell: measured against the budget, or as given (preset epochs by default)."""
    from fer_engine.training.presets import get_preset

    base = get_preset(spec.preset).with_overrides(arch=spec.arch)
    if spec.budget_minutes is None:
        epochs = spec.epochs or base.epochs
        return StudyPlan(epochs, spec.limit, 0.0, 0.0, None, None, "no budget: epochs and limit as given")
    sizes = {name: len(split) for name, split in dataset.splits.items()}
    triplet = base.triplet
    workload = CellWorkload(
        n_train=sizes.get("train", 0),
        n_val=sizes.get("val", 0),
        n_test=sizes.get("test", 0),
        knn_reference_images=triplet.knn_reference_size if any(c.has_triplet for c in spec.cells) else 0,
        n_heads=len(spec.heads),
    )
    from fer_engine.device import resolve_device

    device = str(resolve_device(spec.device))
    progress(f"measuring training speed of {spec.arch} on {device} ...")
    throughput = measure_throughput(
        spec.arch, triplet.classes_per_batch * triplet.samples_per_class, input_size=base.input_size, device=device
    )
    progress(
        f"  {throughput.train_images_per_second:.1f} images/s training, "
        f"{throughput.eval_images_per_second:.1f} images/s inference"
    )
    return plan_study(
        workload,
        len(spec.cells),
        throughput,
        budget_seconds=60.0 * spec.budget_minutes,
        max_epochs=spec.epochs or base.epochs,
        epochs=None,
        limit=spec.limit,
    )


def _run_cell(
    spec: TripletStudySpec,
    cell: StudyCell,
    row: StudyRow,
    plan: StudyPlan,
    store: RunStore,
    study_id: str,
    folder: Path,
    progress: Progress,
) -> None:
    """Train, embed, fit heads and evaluate one cell through the pipeline, then fill its row (errors recorded)."""
    from fer_engine.pipeline import PipelineSpec, run_pipeline
    from fer_engine.training.presets import get_preset

    started = time.perf_counter()
    overrides = spec.cell_overrides(cell, plan.epochs)
    pipeline_spec = PipelineSpec(
        data_path=str(spec.data_path),
        preset=spec.preset,
        overrides=overrides,
        heads=list(spec.heads),
        runs_root=str(store.root),
        name=f"study-{cell.label}",
        limit=plan.limit,
        seed=spec.seed,
        search=False,  # fixed head hyper-parameters: a 25-fit search per head and cell would dwarf the training
    )
    resolved = get_preset(spec.preset).with_overrides(**overrides, limit=plan.limit)
    config = {**resolved.to_dict(), "study_id": study_id, "pipeline_spec": _spec_dict(pipeline_spec)}
    run = store.create_run(name=pipeline_spec.name, kind="train", config=config)
    store.update(run.run_id, tags=["study", study_id])
    row.run_id = run.run_id
    try:
        run_pipeline(pipeline_spec, run=run, on_event=_event_printer(cell, progress), should_stop=lambda: False)
        # Embeddings are measured in the geometry the run trained: its triplet distance, else plain euclidean.
        normalize = cell.has_triplet and resolved.triplet.normalize_embeddings
        _collect(run, row, cell.distance or "euclidean", normalize, cell.loss, spec, store)
        row.status = "succeeded"
    except KeyboardInterrupt:
        row.status, row.error = "cancelled", "interrupted"
        store.update(run.run_id, status="cancelled")
        raise
    except Exception as error:  # one failing cell must not lose the others; the error goes in its row
        row.status, row.error = "failed", f"{type(error).__name__}: {error}"
        with open(folder / "errors.log", "a", encoding="utf-8") as log:
            log.write(f"--- {cell.label} ({run.run_id})\n{traceback.format_exc()}\n")
        progress(f"  {cell.label} failed: {row.error}")
        _mark_failed(store, run.run_id)
    finally:
        row.seconds = round(time.perf_counter() - started, 1)


def _collect(
    run: RunPaths, row: StudyRow, distance: str, normalize: bool, loss: str, spec: TripletStudySpec, store: RunStore
) -> None:
    """Embedding quality (val/test against train) and every head's evaluation files into the row."""
    from fer_engine.metric_learning.report import embedding_quality_for_run

    quality = embedding_quality_for_run(
        run, SCORED_SPLITS, distance=distance, normalize=normalize, update_store=True, runs_root=str(store.root)
    )
    if "val" in quality:
        row.embedding_val = quality["val"].to_dict()
    trained_classifier = "ce" in loss.split("+")  # a triplet-only backbone's linear layer is never trained
    for head in [SOFTMAX, *spec.heads] if trained_classifier else list(spec.heads):
        for split in SCORED_SPLITS:
            path = run.evaluation_file(split, head)
            if path.exists():
                data = json.loads(path.read_text())
                row.scores.setdefault(head, {})[split] = HeadScore(data.get("accuracy"), data.get("macro_f1"))
        paper = _paper_score(loss, head)
        if paper is not None:
            row.paper[head] = paper


def _paper_score(loss: str, head: str) -> PaperScore | None:
    """The paper's test score for this backbone loss and head (None when the paper has none or the table
    module is unavailable)."""
    from fer_engine.scoring.paper_results import paper_result

    result = paper_result(loss, head, "test")
    if result is None or getattr(result, "leaked", False):
        return None
    return PaperScore(result.accuracy, result.f1, result.table)


def _spec_dict(pipeline_spec: Any) -> dict[str, Any]:
    to_dict = getattr(pipeline_spec, "to_dict", None)
    return to_dict() if callable(to_dict) else {}


def _mark_failed(store: RunStore, run_id: str) -> None:
    try:
        if store.get(run_id).status not in ("failed", "cancelled"):
            store.update(run_id, status="failed")
    except Exception:  # the index row is informative only; the study row already says what failed
        pass


def _event_printer(cell: StudyCell, progress: Progress) -> Callable[[Any], None]:
    """Print one line per finished epoch from the pipeline's events (other events are ignored)."""

    def on_event(event: Any) -> None:
        record = event if isinstance(event, dict) else getattr(event, "__dict__", {})
        if "epoch" in record and ("val_accuracy" in record or "val_knn_accuracy" in record):
            shown = {
                key: record.get(key)
                for key in ("train_loss", "val_accuracy", "val_knn_accuracy")
                if isinstance(record.get(key), (int, float))
            }
            progress(f"  {cell.label} epoch {record['epoch']}: " + ", ".join(f"{k} {v:.4f}" for k, v in shown.items()))

    return on_event
