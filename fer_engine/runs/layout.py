"""The files of one run folder, named in one place so every module and page agrees on them."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fer_engine.io_utils import read_jsonl


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
        return self.root / "config.json"

    @property
    def metrics_log(self) -> Path:
        """One JSON line per epoch: epoch, train_loss, train_accuracy, val_loss, val_accuracy, lr, seconds, ..."""
        return self.root / "metrics.jsonl"

    @property
    def summary(self) -> Path:
        """Final training summary (best epoch, best val metrics, wall time, device), JSON."""
        return self.root / "summary.json"

    @property
    def checkpoint_dir(self) -> Path:
        """Best-on-validation model: model.safetensors + model.json."""
        return self.root / "checkpoint"

    @property
    def resume_state(self) -> Path:
        """Last-epoch state for --resume (model, optimizer, scheduler, epoch, RNG); torch.load(weights_only=True)."""
        return self.root / "state" / "last.pt"

    @property
    def embeddings_dir(self) -> Path:
        """<split>.npz with embeddings, logits, labels, keys."""
        return self.root / "embeddings"

    def embeddings_file(self, split: str) -> Path:
        return self.embeddings_dir / f"{split}.npz"

    @property
    def heads_dir(self) -> Path:
        """Fitted heads: <head>.skops or <head>.xgb.json, plus <head>.json (params, selection metrics)."""
        return self.root / "heads"

    @property
    def reports_dir(self) -> Path:
        """evaluation_<split>_<head>.json and report.md."""
        return self.root / "reports"

    def evaluation_file(self, split: str, head: str = "softmax") -> Path:
        return self.reports_dir / f"evaluation_{split}_{head}.json"

    @property
    def embedding_quality_file(self) -> Path:
        """k-NN / retrieval metrics of val and test embeddings against train (fer_engine.metric_learning.report)."""
        return self.reports_dir / "embedding_quality.json"

    @property
    def report_markdown(self) -> Path:
        return self.reports_dir / "report.md"

    @property
    def log_file(self) -> Path:
        """Plain-text log of the process that ran the run (job worker or CLI)."""
        return self.root / "run.log"

    def read_config(self) -> dict[str, Any]:
        return json.loads(self.config.read_text()) if self.config.exists() else {}

    def read_metrics(self) -> list[dict[str, Any]]:
        return read_jsonl(self.metrics_log)

    def read_summary(self) -> dict[str, Any]:
        return json.loads(self.summary.read_text()) if self.summary.exists() else {}


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
