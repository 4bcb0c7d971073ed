"""The files of one run folder, named in one place so every module and page agrees on them."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fer_engine.errors import RunNotFoundError
from fer_engine.io_utils import read_jsonl

# Every file and folder name of a run, spelled once.
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"
SUMMARY_FILE = "summary.json"
CHECKPOINT_DIR = "checkpoint"
WEIGHTS_FILE = "model.safetensors"  # a checkpoint folder: weights + card
CARD_FILE = "model.json"
STATE_DIR = "state"
RESUME_FILE = "last.pt"
EMBEDDINGS_DIR = "embeddings"
HEADS_DIR = "heads"
REPORTS_DIR = "reports"
REPORT_FILE = "report.md"
EMBEDDING_QUALITY_FILE = "embedding_quality.json"
LOG_FILE = "run.log"
CARD_MARKDOWN_FILE = "CARD.md"  # shipped runs and examples: what the model is and how it scores
PROJECTIONS_DIR = "projections"  # precomputed 2-D maps of embeddings

# A run id is the run's folder name: it comes from URLs, widgets and the CLI, so it can never name a path.
RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def is_valid_run_id(text: str) -> bool:
    """True for a name that can only be a folder directly under a runs root."""
    return isinstance(text, str) and bool(RUN_ID_PATTERN.match(text)) and ".." not in text


def validate_run_id(run_id: str) -> str:
    """Reject ids that could escape the runs root (they come from URLs, widgets and the CLI)."""
    if not is_valid_run_id(run_id):
        raise RunNotFoundError(f"'{run_id}' is not a valid run id (letters, digits, '_', '-', '.')")
    return run_id


@dataclass(frozen=True)
class RunPaths:
    """Paths inside a run folder `root` (config, metrics log, checkpoint, resume state, embeddings, heads, reports)."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @property
    def run_id(self) -> str:
        return self.root.name

    @property
    def config(self) -> Path:
        """Resolved config of the run (JSON), written before training starts."""
        return self.root / CONFIG_FILE

    @property
    def metrics_log(self) -> Path:
        """One JSON line per epoch: epoch, train_loss, train_accuracy, val_loss, val_accuracy, lr, seconds, ..."""
        return self.root / METRICS_FILE

    @property
    def summary(self) -> Path:
        """Final training summary (best epoch, best val metrics, wall time, device), JSON."""
        return self.root / SUMMARY_FILE

    @property
    def checkpoint_dir(self) -> Path:
        """Best-on-validation model: model.safetensors + model.json."""
        return self.root / CHECKPOINT_DIR

    @property
    def weights_file(self) -> Path:
        """The best model's weights; a run "has a checkpoint" when this file exists."""
        return self.checkpoint_dir / WEIGHTS_FILE

    def has_checkpoint(self) -> bool:
        return self.weights_file.is_file()

    @property
    def resume_state(self) -> Path:
        """Last-epoch state for --resume (model, optimizer, scheduler, epoch, RNG); torch.load(weights_only=True)."""
        return self.state_dir / RESUME_FILE

    @property
    def state_dir(self) -> Path:
        """Training state that is not a result (resume file, Ray Train's storage)."""
        return self.root / STATE_DIR

    @property
    def embeddings_dir(self) -> Path:
        """<split>.npz with embeddings, logits, labels, keys."""
        return self.root / EMBEDDINGS_DIR

    def embeddings_file(self, split: str) -> Path:
        return self.embeddings_dir / f"{split}.npz"

    @property
    def heads_dir(self) -> Path:
        """Fitted heads: <head>.skops or <head>.xgb.json, plus <head>.json (params, selection metrics)."""
        return self.root / HEADS_DIR

    @property
    def reports_dir(self) -> Path:
        """evaluation_<split>_<head>.json and report.md."""
        return self.root / REPORTS_DIR

    def evaluation_file(self, split: str, head: str = "softmax") -> Path:
        return self.reports_dir / f"evaluation_{split}_{head}.json"

    @property
    def embedding_quality_file(self) -> Path:
        """k-NN / retrieval metrics of val and test embeddings against train (fer_engine.metric_learning.report)."""
        return self.reports_dir / EMBEDDING_QUALITY_FILE

    @property
    def report_markdown(self) -> Path:
        return self.reports_dir / REPORT_FILE

    @property
    def card_markdown(self) -> Path:
        """CARD.md of a shipped run or an example."""
        return self.root / CARD_MARKDOWN_FILE

    @property
    def log_file(self) -> Path:
        """Plain-text log of the process that ran the run (job worker or CLI)."""
        return self.root / LOG_FILE

    def read_config(self) -> dict[str, Any]:
        return json.loads(self.config.read_text()) if self.config.exists() else {}

    def read_metrics(self) -> list[dict[str, Any]]:
        return read_jsonl(self.metrics_log)

    def read_summary(self) -> dict[str, Any]:
        return json.loads(self.summary.read_text()) if self.summary.exists() else {}


def is_run_folder(folder: Path) -> bool:
    """True for a folder holding a run: its config, its summary or its checkpoint folder."""
    paths = RunPaths(folder)
    return folder.is_dir() and (paths.config.is_file() or paths.summary.is_file() or paths.checkpoint_dir.is_dir())


def replace_folder(staging: Path, destination: Path) -> None:
    """Put the finished folder `staging` at `destination` by renames, so no half-written run folder is ever seen.

    A previous `destination` is moved aside first and removed only once the new folder is in place.
    """
    previous = destination.with_name(f".{destination.name}.previous")
    if previous.exists():
        shutil.rmtree(previous)
    if destination.exists():
        destination.rename(previous)
    staging.rename(destination)
    shutil.rmtree(previous, ignore_errors=True)
