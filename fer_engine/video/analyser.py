"""One frame in, tracked and smoothed faces out: detect and classify (the product's Predictor), give each face
its track id (ByteTrack), and smooth its probabilities along the track. Shared by files and the live camera."""

from __future__ import annotations

import numpy as np

from fer_engine.predict.predictor import Predictor
from fer_engine.video.records import FaceRecord
from fer_engine.video.smooth import DEFAULT_TIME_CONSTANT, ProbabilitySmoother
from fer_engine.video.track import DEFAULT_MAX_MISS_SECONDS, FaceTracker


class FrameAnalyser:
    """Stateful across frames of one video or stream: feed frames in time order."""

    def __init__(
        self,
        predictor: Predictor,
        fps: float,
        *,
        time_constant: float = DEFAULT_TIME_CONSTANT,
        max_miss_seconds: float = DEFAULT_MAX_MISS_SECONDS,
    ):
        self.predictor = predictor
        self.class_names = list(predictor.class_names)
        self.tracker = FaceTracker(fps, min_face_score=predictor.min_face_score, max_miss_seconds=max_miss_seconds)
        self.smoother = ProbabilitySmoother(time_constant)
        self.max_miss_seconds = max_miss_seconds

    def analyse(self, rgb: np.ndarray, frame: int, time: float) -> list[FaceRecord]:
        """The faces of the frame at `time` seconds, in the predictor's reading order."""
        prediction = self.predictor.predict_rgb(rgb, name=f"frame {frame}")
        faces = prediction.faces
        track_ids = self.tracker.update([face.box for face in faces], [face.face_score for face in faces], time)
        records = []
        for face, track_id in zip(faces, track_ids):
            raw = np.array([face.probabilities[name] for name in self.class_names])
            smoothed = raw if track_id is None else self.smoother.update(track_id, time, raw)
            records.append(
                FaceRecord(
                    frame=frame,
                    time=time,
                    track_id=track_id,
                    box=face.box,
                    face_score=face.face_score,
                    detector_score=face.detector_score,
                    label=self.class_names[int(np.argmax(smoothed))],
                    probabilities=dict(zip(self.class_names, map(float, smoothed))),
                    raw_label=face.label,
                    raw_probabilities=dict(face.probabilities),
                )
            )
        self.smoother.forget_before(time - 2 * self.max_miss_seconds)
        return records
