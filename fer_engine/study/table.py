"""One row per study run: embedding metrics, accuracy / macro-F1 of every head, the paper's numbers beside them;
written as Markdown, CSV and JSON."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fer_engine.io_utils import atomic_write_json, atomic_write_text

EMBEDDING_COLUMNS = (
    ("knn_accuracy_k1", "kNN@1"),
    ("knn_accuracy_k5", "kNN@5"),
    ("mean_average_precision_at_r", "MAP@R"),
    ("silhouette", "silhouette"),
    ("intra_inter_distance_ratio", "intra/inter"),
)


@dataclass
class HeadScore:
    """Accuracy and macro-F1 of one head on one split, read from the run's evaluation file."""

    accuracy: float | None
    macro_f1: float | None


@dataclass
class PaperScore:
    """The paper's published test (PrivateTest) score of the same backbone loss and head, and its table."""

    accuracy: float
    f1: float
    table: str


@dataclass
class StudyRow:
    """Everything the study table shows for one run."""

    cell: str
    loss: str
    miner: str | None
    distance: str | None
    run_id: str | None = None
    status: str = "pending"
    seconds: float | None = None
    epochs: int | None = None
    limit: int | None = None
    embedding_val: dict[str, Any] = field(default_factory=dict)
    scores: dict[str, dict[str, HeadScore]] = field(default_factory=dict)  # head -> split -> score
    paper: dict[str, PaperScore] = field(default_factory=dict)  # head -> paper test score
    error: str | None = None

    def flat(self, heads: Sequence[str]) -> dict[str, Any]:
        """One CSV row: scalar columns, `<head>_<split>_accuracy`, `<head>_<split>_macro_f1`, `paper_<head>_test_*`."""
        row: dict[str, Any] = {
            name: getattr(self, name)
            for name in ("cell", "loss", "miner", "distance", "run_id", "status", "seconds", "epochs", "limit")
        }
        for key, _ in EMBEDDING_COLUMNS:
            row[f"val_{key}"] = self.embedding_val.get(key)
        row["val_precision_at_1"] = self.embedding_val.get("precision_at_1")
        for head in heads:
            for split in ("val", "test"):
                score = self.scores.get(head, {}).get(split)
                row[f"{head}_{split}_accuracy"] = score.accuracy if score else None
                row[f"{head}_{split}_macro_f1"] = score.macro_f1 if score else None
            paper = self.paper.get(head)
            row[f"paper_{head}_test_accuracy"] = paper.accuracy if paper else None
            row[f"paper_{head}_test_f1"] = paper.f1 if paper else None
            row[f"paper_{head}_table"] = paper.table if paper else None
        row["error"] = self.error
        return row


def _number(value: float | None, percent: bool = False) -> str:
    if value is None:
        return "-"
    return f"{100 * value:.1f}" if percent else f"{value:.3f}"


def _score_cell(row: StudyRow, head: str, has_test: bool) -> str:
    """'val acc / F1', then test, then '(paper: acc, Table N)'."""
    parts = []
    for split in ("val", "test") if has_test else ("val",):
        score = row.scores.get(head, {}).get(split)
        if score is not None:
            parts.append(f"{_number(score.accuracy, percent=True)} / {_number(score.macro_f1)}")
        else:
            parts.append("-")
    text = " · ".join(parts)
    paper = row.paper.get(head)
    if paper is not None:
        text += f" (paper {100 * paper.accuracy:.2f}, {paper.table})"
    return text


def markdown_table(rows: Sequence[StudyRow], heads: Sequence[str]) -> str:
    """The study as one Markdown table (accuracy in %, macro-F1 as a fraction; paper = test accuracy)."""
    has_test = any("test" in scores for row in rows for scores in row.scores.values())
    score_title = "val acc / F1 · test acc / F1" if has_test else "val acc / F1"
    header = ["cell", "loss", "miner", "distance", "status", "epochs"] + [title for _, title in EMBEDDING_COLUMNS]
    header += [f"{head}: {score_title}" for head in heads] + ["run"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [
            row.cell,
            row.loss,
            row.miner or "-",
            row.distance or "-",
            row.status if not row.error else f"{row.status}: {row.error[:60]}",
            str(row.epochs or "-"),
        ]
        cells += [_number(row.embedding_val.get(key)) for key, _ in EMBEDDING_COLUMNS]
        cells += [_score_cell(row, head, has_test) for head in heads] + [row.run_id or "-"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_study_table(
    folder: Path, rows: Sequence[StudyRow], heads: Sequence[str], header: dict[str, Any]
) -> dict[str, Path]:
    """Write study.md, study.csv and study.json (atomically) into `folder`; returns their paths."""
    flat = [row.flat(heads) for row in rows]
    buffer = io.StringIO()
    if flat:
        writer = csv.DictWriter(buffer, fieldnames=list(flat[0]))
        writer.writeheader()
        writer.writerows(flat)
    title = f"# Triplet study {header.get('study_id', '')}\n\n"
    notes = (
        "\nEmbedding metrics: val queries against train references. Scores: accuracy % / macro-F1 per split; "
        "'paper' is the published test (PrivateTest) accuracy of the same backbone loss and head.\n"
    )
    paths = {
        "markdown": atomic_write_text(folder / "study.md", title + markdown_table(rows, heads) + notes),
        "csv": atomic_write_text(folder / "study.csv", buffer.getvalue()),
        "json": atomic_write_json(folder / "study.json", {**header, "rows": [asdict(row) for row in rows]}),
    }
    return paths


def read_study_json(path: Path) -> dict[str, Any]:
    """The JSON a study wrote (header fields and `rows`)."""
    return json.loads(Path(path).read_text())
