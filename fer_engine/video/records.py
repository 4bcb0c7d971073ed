"""The per-frame, per-face table: one `FaceRecord` per face per analysed frame, and its CSV form."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fer_engine.io_utils import atomic_write_text


@dataclass(frozen=True)
class FaceRecord:
    """A face in one frame: where, how sure the detector was, and its expression.

    `probabilities`/`label` are smoothed over the face's track (the raw frame's when the face has no track
    yet); `raw_probabilities`/`raw_label` are this frame's own prediction.
    """

    frame: int
    time: float
    track_id: int | None
    box: tuple[int, int, int, int]
    face_score: float
    detector_score: float
    label: str
    probabilities: dict[str, float]
    raw_label: str
    raw_probabilities: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        return {
            "frame": self.frame,
            "time": round(self.time, 4),
            "track_id": self.track_id,
            "box": list(self.box),
            "face_score": round(self.face_score, 4),
            "detector_score": round(self.detector_score, 4),
            "label": self.label,
            "probabilities": _rounded(self.probabilities),
            "raw_label": self.raw_label,
            "raw_probabilities": _rounded(self.raw_probabilities),
        }


def csv_columns(class_names: Sequence[str]) -> list[str]:
    """Header of the CSV table: p_<class> are smoothed probabilities, raw_p_<class> the frame's own."""
    return (
        ["frame", "time", "track_id", "x", "y", "w", "h", "face_score", "detector_score", "label", "raw_label"]
        + [f"p_{name}" for name in class_names]
        + [f"raw_p_{name}" for name in class_names]
    )


def records_csv(records: Sequence[FaceRecord], class_names: Sequence[str]) -> str:
    """The table as CSV text (an untracked face has an empty track_id)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(csv_columns(class_names))
    for record in records:
        writer.writerow(
            [
                record.frame,
                f"{record.time:.4f}",
                "" if record.track_id is None else record.track_id,
                *record.box,
                f"{record.face_score:.4f}",
                f"{record.detector_score:.4f}",
                record.label,
                record.raw_label,
            ]
            + [f"{record.probabilities[name]:.6f}" for name in class_names]
            + [f"{record.raw_probabilities[name]:.6f}" for name in class_names]
        )
    return buffer.getvalue()


def write_records_csv(path: str | os.PathLike, records: Sequence[FaceRecord], class_names: Sequence[str]) -> Path:
    """Write the CSV table atomically."""
    return atomic_write_text(path, records_csv(records, class_names))


def _rounded(probabilities: dict[str, float]) -> dict[str, float]:
    return {name: round(float(p), 6) for name, p in probabilities.items()}
