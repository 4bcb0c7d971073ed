"""The parts on their own: limits, smoothing in time, ByteTrack ids through misses, summaries and the CSV table."""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pytest

from fer_engine.classes import FER_CLASS_NAMES
from fer_engine.errors import ConfigError
from fer_engine.video.limits import VideoLimits
from fer_engine.video.records import FaceRecord, csv_columns, records_csv
from fer_engine.video.smooth import ProbabilitySmoother
from fer_engine.video.summarise import summarise_tracks
from fer_engine.video.track import FaceTracker


def _one_hot(label: str) -> np.ndarray:
    return np.eye(len(FER_CLASS_NAMES))[FER_CLASS_NAMES.index(label)]


def test_limits_come_from_the_environment_and_flags_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FER_VIDEO_MAX_MB", "12.5")
    monkeypatch.setenv("FER_VIDEO_MAX_PIXELS", "1000")
    limits = VideoLimits.from_env(max_seconds=7)
    assert (limits.max_mb, limits.max_seconds, limits.max_pixels) == (12.5, 7, 1000)
    assert limits.max_bytes == int(12.5 * 2**20)
    monkeypatch.setenv("FER_VIDEO_MAX_SECONDS", "ten")
    with pytest.raises(ConfigError, match="FER_VIDEO_MAX_SECONDS must be a number"):
        VideoLimits.from_env()
    with pytest.raises(ConfigError, match="max_pixels must be a positive number"):
        VideoLimits(max_pixels=0)


def test_smoothing_follows_its_time_constant_whatever_the_frame_rate() -> None:
    """After a switch from happy to sad held for t seconds, sad's weight is 1 - exp(-t / tau) at 5 or 30 fps."""
    tau = 0.5
    for fps in (5, 30):
        smoother = ProbabilitySmoother(tau)
        smoother.update(1, 0.0, _one_hot("happy"))
        steps = int(fps * 0.6)
        for step in range(1, steps + 1):
            smoothed = smoother.update(1, step / fps, _one_hot("sad"))
        expected = 1 - math.exp(-(steps / fps) / tau)
        assert smoothed[FER_CLASS_NAMES.index("sad")] == pytest.approx(expected, rel=1e-9)
        assert smoothed.sum() == pytest.approx(1.0)


def test_smoothing_damps_a_one_frame_flicker_and_keeps_tracks_apart() -> None:
    smoother = ProbabilitySmoother(0.5)
    for step in range(10):
        smoother.update(1, step / 25, _one_hot("happy"))
        smoother.update(2, step / 25, _one_hot("sad"))
    flicker = smoother.update(1, 10 / 25, _one_hot("angry"))
    assert FER_CLASS_NAMES[int(np.argmax(flicker))] == "happy"  # one odd frame does not flip the label
    assert FER_CLASS_NAMES[int(np.argmax(smoother.update(2, 10 / 25, _one_hot("sad"))))] == "sad"
    assert np.array_equal(ProbabilitySmoother(0).update(1, 0.0, _one_hot("fear")), _one_hot("fear"))
    with pytest.raises(ConfigError, match="time constant"):
        ProbabilitySmoother(-1)


def _box_at(step: int, start_x: int, speed: int) -> tuple[int, int, int, int]:
    return (start_x + speed * step, 100, 80, 80)


def test_tracker_keeps_ids_through_a_short_miss_and_gives_a_new_one_after_a_long_absence() -> None:
    tracker = FaceTracker(fps=10, max_miss_seconds=1.0)
    seen: dict[str, set[int | None]] = {"left": set(), "right": set()}
    for step in range(30):
        boxes = {"right": _box_at(step, 450, -4)}
        if not 10 <= step < 14:  # the left face is missed for 0.4 s
            boxes["left"] = _box_at(step, 50, 5)
        ids = tracker.update(list(boxes.values()), [0.99] * len(boxes), step / 10)
        if step >= 1:  # a face's first sighting is not confirmed yet
            for name, track_id in zip(boxes, ids):
                seen[name].add(track_id)
    assert len(seen["left"]) == 1 and len(seen["right"]) == 1
    assert seen["left"] != seen["right"] and None not in seen["left"] | seen["right"]
    left_id = seen["left"].pop()
    tracker.update([], [], 4.0)  # gone for 1.1 s
    tracker.update([_box_at(30, 50, 5)], [0.99], 4.1)
    assert tracker.update([_box_at(31, 50, 5)], [0.99], 4.2)[0] not in (left_id, None)


def _record(time: float, track_id: int | None, label: str) -> FaceRecord:
    probabilities = dict(zip(FER_CLASS_NAMES, _one_hot(label)))
    return FaceRecord(frame=int(round(time * 10)), time=time, track_id=track_id, box=(1, 2, 3, 4), face_score=0.9,
                      detector_score=0.8, label=label, probabilities=probabilities, raw_label=label,
                      raw_probabilities=probabilities)


def test_summaries_give_share_of_time_and_segments_per_track() -> None:
    labels = ["happy"] * 6 + ["sad"] * 4  # 0.0 .. 0.9 s at 10 fps
    records = [_record(step / 10, 3, label) for step, label in enumerate(labels)]
    records += [_record(step / 10, 4, "angry") for step in range(5, 8)] + [_record(0.0, None, "fear")]
    records += [_record(step / 10, 4, "angry") for step in range(20, 22)]  # track 4 back after a gap
    by_id = {track.track_id: track for track in summarise_tracks(records, FER_CLASS_NAMES, frame_interval=0.1)}
    assert set(by_id) == {3, 4}  # the untracked first sighting is not a face of its own
    assert by_id[3].share["happy"] == pytest.approx(0.6) and by_id[3].share["sad"] == pytest.approx(0.4)
    assert by_id[3].dominant == "happy"
    assert [(s.label, round(s.start, 2), round(s.end, 2)) for s in by_id[3].segments] == [("happy", 0.0, 0.6), ("sad", 0.6, 1.0)]
    assert [(s.start, round(s.end, 2)) for s in by_id[4].segments] == [(0.5, 0.8), (2.0, 2.2)]


def test_csv_table_has_one_row_per_face_with_box_scores_and_probabilities() -> None:
    rows = list(csv.DictReader(io.StringIO(records_csv([_record(0.1, 7, "sad"), _record(0.1, None, "happy")], FER_CLASS_NAMES))))
    assert list(rows[0]) == csv_columns(FER_CLASS_NAMES)
    assert rows[0]["track_id"] == "7" and rows[1]["track_id"] == ""
    assert (rows[0]["x"], rows[0]["w"], rows[0]["label"]) == ("1", "3", "sad")
    assert float(rows[0]["p_sad"]) == 1.0 and float(rows[0]["raw_p_happy"]) == 0.0
