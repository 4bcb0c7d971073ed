"""compare_runs on run folders outside any runs root (shipped model, examples) and evaluation_table vs the paper."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fer_engine.classes import FER_CLASS_NAMES
from fer_engine.io_utils import atomic_write_json
from fer_engine.runs.compare import compare_runs, evaluation_table
from fer_engine.runs.layout import RunPaths
from fer_engine.scoring.metrics import classification_metrics


def _run(root: Path, loss: str, correct: int, *, example: bool = False) -> RunPaths:
    run = RunPaths(root)
    atomic_write_json(run.config, {"arch": "vgg19_bn_quarter", "loss": loss, "lr": 0.01 if example else 0.02})
    summary = {"best_val_accuracy": 0.99, "epochs_completed": 2}
    if example:
        summary.update(example=True, example_name=root.name)
    atomic_write_json(run.summary, summary)
    labels = np.arange(20) % 7
    for head, right in (("softmax", correct), ("svm", correct - 2)):
        predictions = np.where(np.arange(20) < right, labels, (labels + 1) % 7)
        metrics = classification_metrics(labels, predictions, FER_CLASS_NAMES, split="val", head=head,
                                         protocol={"tta": "flip"})
        atomic_write_json(run.evaluation_file("val", head), metrics.to_dict())
    return run


def test_compare_reads_folders_without_a_runs_root_and_shows_one_val_accuracy(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FER_RUNS_DIR", str(tmp_path / "runs-root"))
    shipped = _run(tmp_path / "default", "ce", 15)
    example = _run(tmp_path / "examples" / "trip", "ce+triplet", 12, example=True)
    table = compare_runs([shipped, example])
    assert not (tmp_path / "runs-root").exists()  # no run index needed, none created
    assert table.loc["default", "val_accuracy"] == pytest.approx(0.75)  # the evaluation, not the summary's 0.99
    assert table.loc["default", "val_accuracy"] == table.loc["default", "eval.val.softmax.accuracy"]
    assert table.loc["trip", "kind"] == "example" and table.loc["trip", "name"] == "trip"
    assert table.loc["trip", "val_tta"] == "flip"
    assert list(c for c in table.columns if c.startswith("config.")) == ["config.loss", "config.lr"]


def test_evaluation_table_matches_the_papers_rows(tmp_path: Path) -> None:
    runs = {"ce run": _run(tmp_path / "a", "ce", 15), "triplet run": _run(tmp_path / "b", "triplet", 12)}
    table = evaluation_table(runs, "val")
    assert len(table) == 4 and set(table["head"]) == {"softmax", "svm"}
    rows = {(row["run"], row["head"]): row for _, row in table.iterrows()}
    assert rows["ce run", "softmax"]["paper table"] == "Table 3"
    assert rows["ce run", "softmax"]["paper accuracy"] == pytest.approx(0.6528)
    assert rows["triplet run", "svm"]["paper table"] == "Table 7"
    assert rows["triplet run", "softmax"]["paper table"] == ""  # the paper has no softmax of a triplet backbone
    assert evaluation_table(runs, "test").empty
