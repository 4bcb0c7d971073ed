"""Stable ids for faces across frames: Roboflow's ByteTrack (the `trackers` package), fed with face boxes.

ByteTrack matches boxes to Kalman-predicted tracks by overlap, so a face keeps its id while it moves and through
misses shorter than `max_miss_seconds` (a turned head, a blink of the detector). Time is passed as timestamps,
so sampling every Nth frame or a camera's uneven frame rate does not change how long a track survives.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import supervision as sv
from trackers import ByteTrackTracker

DEFAULT_MAX_MISS_SECONDS = 1.0
"""A face unseen this long gets a new id when it comes back: long enough for a missed detection or a quick
turn of the head, short enough that a different person entering the same spot is not merged with the last."""
MIN_OVERLAP = 0.1
"""Intersection over union a box needs with a track's predicted box to continue it (ByteTrack's default)."""


class FaceTracker:
    """Assigns a track id (1, 2, ...) to each face box of successive frames.

    ByteTrack confirms a track when its box is matched a second time, so a face's first sighting has no id
    (None); from its second sampled frame on the id is stable.
    """

    def __init__(self, fps: float, *, min_face_score: float = 0.5, max_miss_seconds: float = DEFAULT_MAX_MISS_SECONDS):
        # ByteTrack counts its buffer in 30-fps frames and converts to seconds itself when given timestamps.
        self._tracker = ByteTrackTracker(
            lost_track_buffer=max(1, round(max_miss_seconds * 30)),
            frame_rate=max(float(fps), 1.0),
            track_activation_threshold=min_face_score,
            high_conf_det_threshold=min_face_score,
            minimum_consecutive_frames=1,  # faces reaching us already passed the face-presence check
            minimum_iou_threshold=MIN_OVERLAP,
        )

    def update(
        self, boxes: Sequence[tuple[float, float, float, float]], scores: Sequence[float], time: float
    ) -> list[int | None]:
        """Track ids for `boxes` (x, y, w, h) of the frame at `time` seconds, in the same order; None = not yet."""
        count = len(boxes)
        xyxy = np.array([[x, y, x + w, y + h] for x, y, w, h in boxes], dtype=np.float32).reshape(count, 4)
        detections = sv.Detections(
            xyxy=xyxy,
            confidence=np.asarray(scores, dtype=np.float32).reshape(count),
            data={"input_index": np.arange(count)},
        )
        tracked = self._tracker.update(detections, timestamp=float(time))
        ids: list[int | None] = [None] * count
        if tracked.tracker_id is None:  # Optional in sv.Detections; ByteTrackTracker always sets it
            return ids
        for input_index, track_id in zip(tracked.data.get("input_index", []), tracked.tracker_id):
            ids[int(input_index)] = int(track_id) + 1 if track_id >= 0 else None  # 1-based for people
        return ids
