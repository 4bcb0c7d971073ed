"""Per-face summaries of a video's table: how long each track was seen, its share of time in each expression
(smoothed label), and its timeline cut into segments of one expression."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fer_engine.video.records import FaceRecord


@dataclass(frozen=True)
class Segment:
    """A stretch of one track showing one (smoothed) expression, from `start` to `end` seconds."""

    label: str
    start: float
    end: float

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "start": round(self.start, 3), "end": round(self.end, 3)}


@dataclass(frozen=True)
class TrackSummary:
    """One face across the video: when seen, in how many analysed frames, its share of those frames per
    expression (sampled frames are evenly spaced, so this is its share of time), and its segments."""

    track_id: int
    first_time: float
    last_time: float
    frames: int
    share: dict[str, float]
    segments: list[Segment] = field(default_factory=list)

    @property
    def dominant(self) -> str:
        return max(self.share, key=self.share.__getitem__)

    def to_json(self) -> dict[str, Any]:
        return {
            "track_id": self.track_id,
            "first_time": round(self.first_time, 3),
            "last_time": round(self.last_time, 3),
            "frames": self.frames,
            "dominant": self.dominant,
            "share": {name: round(value, 4) for name, value in self.share.items()},
            "segments": [segment.to_json() for segment in self.segments],
        }


def summarise_tracks(
    records: Sequence[FaceRecord], class_names: Sequence[str], frame_interval: float
) -> list[TrackSummary]:
    """A summary per track id (untracked first sightings left out), in order of first appearance.

    `frame_interval` is the time between analysed frames: each segment ends one interval after its last frame,
    and a track unseen for more than about two intervals starts a new segment.
    """
    by_track: dict[int, list[FaceRecord]] = defaultdict(list)
    for record in records:
        if record.track_id is not None:
            by_track[record.track_id].append(record)
    summaries = []
    for track_id, rows in by_track.items():
        rows.sort(key=lambda row: row.time)
        counts = Counter(row.label for row in rows)
        share = {name: counts.get(name, 0) / len(rows) for name in class_names}
        summaries.append(
            TrackSummary(track_id, rows[0].time, rows[-1].time, len(rows), share, segments_of(rows, frame_interval))
        )
    return sorted(summaries, key=lambda summary: (summary.first_time, summary.track_id))


def segments_of(rows: Sequence[FaceRecord], frame_interval: float) -> list[Segment]:
    """Runs of one smoothed label along a track's rows (sorted by time), split where the track was unseen."""
    segments: list[Segment] = []
    for row in rows:
        last = segments[-1] if segments else None
        if last and last.label == row.label and row.time - last.end <= 1.5 * frame_interval:
            segments[-1] = Segment(last.label, last.start, row.time + frame_interval)
        else:
            segments.append(Segment(row.label, row.time, row.time + frame_interval))
    return segments
