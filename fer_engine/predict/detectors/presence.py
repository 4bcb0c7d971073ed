"""Is there really a face in this box? MediaPipe's face-landmark model scores each detector box.

BlazeFace alone draws boxes on dogs, flags and textures (issue 14). MediaPipe's Face Mesh landmark
model, run on a 192x192 crop around a box (the box widened 1.5x and turned so the eyes are level, as
MediaPipe's own face pipeline does), has a second output that says whether a face is there at all.
On the benchmark scenes (docs/detectors.md) it gives >= 0.98 on all but two of 90 real face boxes and
<= 0.37 on all 44 false ones, so one threshold (0.5) separates them. All boxes of a photo go through the
model in one batched LiteRT call on every available core (up to 4), not one call per box on one thread:
benchmarks/predict_speed.py shows the face-check stage.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path

import cv2
import numpy as np

from fer_engine.errors import ModelError
from fer_engine.predict.detectors.base import FaceBox
from fer_engine.predict.detectors.litert_threads import litert_threads

MODEL_PATH = Path(__file__).resolve().parent / "models" / "face_landmark.tflite"
INPUT_SIDE = 192
"""The landmark model's input side (RGB, values in [0, 1])."""
ROI_SCALE = 1.5
"""Crop side = 1.5 x the box's longer side, as MediaPipe's face landmark graph frames a detection."""
PRESENCE_OUTPUT = "conv2d_31"
"""Name of the (N, 1, 1, 1) face-presence logit among the model's outputs."""
MAX_BATCH = 16
"""Boxes per LiteRT call: bounds the memory of a call (16 boxes: ~40 MB) on photos with many boxes."""


class FacePresenceModel:
    """Scores detector boxes with the probability that they hold a face (LiteRT, batched calls)."""

    def __init__(self, model_path: Path = MODEL_PATH, threads: int | None = None):
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:
            raise ModelError("the face-presence check needs LiteRT (pip install ai-edge-litert)") from exc
        if not Path(model_path).is_file():
            raise ModelError(
                f"face-presence model '{model_path}' is missing from the installation; reinstall fer-engine"
            )
        self._interpreter = Interpreter(model_path=str(model_path), num_threads=threads or litert_threads())
        self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]["index"]
        outputs = {detail["name"]: detail["index"] for detail in self._interpreter.get_output_details()}
        if PRESENCE_OUTPUT not in outputs:
            raise ModelError(f"'{model_path}' has no '{PRESENCE_OUTPUT}' output: not MediaPipe's face_landmark.tflite")
        self._output = outputs[PRESENCE_OUTPUT]
        self._batch = 1  # the batch size the interpreter is allocated for
        self._lock = threading.Lock()  # one interpreter, one call at a time

    def score(self, rgb: np.ndarray, box: FaceBox) -> float:
        """Probability (0-1) that `box` of the RGB uint8 image holds a face."""
        return self.scores(rgb, [box])[0]

    def scores(self, rgb: np.ndarray, boxes: list[FaceBox]) -> list[float]:
        """`score` of each box, in order: the crops go through the model MAX_BATCH at a time."""
        rgb = np.ascontiguousarray(rgb)
        found: list[float] = []
        for start in range(0, len(boxes), MAX_BATCH):
            chunk = boxes[start : start + MAX_BATCH]
            batch = np.empty((len(chunk), INPUT_SIDE, INPUT_SIDE, 3), np.float32)
            for row, box in enumerate(chunk):
                np.multiply(presence_crop(rgb, box), np.float32(1.0 / 255.0), out=batch[row])
            found += [_sigmoid(logit) for logit in self._logits(batch)]
        return found

    def _logits(self, batch: np.ndarray) -> np.ndarray:
        """Presence logits of an (N, 192, 192, 3) float batch in [0, 1], one LiteRT call."""
        with self._lock:
            if len(batch) != self._batch:  # resizing is cheap (no new interpreter, memory reused)
                self._interpreter.resize_tensor_input(self._input, list(batch.shape))
                self._interpreter.allocate_tensors()
                self._batch = len(batch)
            self._interpreter.set_tensor(self._input, batch)
            self._interpreter.invoke()
            return np.array(self._interpreter.get_tensor(self._output), dtype=np.float64).reshape(-1)


def _sigmoid(logit: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-80.0, min(80.0, float(logit)))))


def presence_crop(rgb: np.ndarray, box: FaceBox) -> np.ndarray:
    """The 192x192 RGB crop the landmark model reads: box centre, 1.5x its longer side, eyes levelled."""
    cx, cy = box.center
    side = max(1.0, max(box.w, box.h) * ROI_SCALE)
    angle = 0.0
    if box.landmarks is not None and len(box.landmarks) >= 2:
        (rx, ry), (lx, ly) = box.landmarks[0], box.landmarks[1]
        angle = math.degrees(math.atan2(ly - ry, lx - rx))
    matrix = cv2.getRotationMatrix2D((cx, cy), angle, INPUT_SIDE / side)
    matrix[0, 2] += INPUT_SIDE / 2.0 - cx
    matrix[1, 2] += INPUT_SIDE / 2.0 - cy
    interpolation = cv2.INTER_AREA if side > 2 * INPUT_SIDE else cv2.INTER_LINEAR
    return cv2.warpAffine(
        np.ascontiguousarray(rgb),
        matrix,
        (INPUT_SIDE, INPUT_SIDE),
        flags=interpolation,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0),
    )


def checked_faces(
    detector, rgb: np.ndarray, presence: FacePresenceModel | None, min_face_score: float
) -> tuple[list[FaceBox], list[float], int]:
    """Boxes of `rgb` whose face score passes `min_face_score`, duplicates merged; and how many failed.

    The face score is `presence`'s probability, or the detector's own score when `presence` is None.
    """
    from fer_engine.predict.detectors.scaling import detect_faces

    boxes = detect_faces(detector, rgb)
    if not boxes:
        return [], [], 0
    scores = presence.scores(rgb, boxes) if presence is not None else [float(box.score) for box in boxes]
    kept = suppress_duplicates(boxes, scores)
    passing = [i for i in kept if scores[i] >= min_face_score]
    return [boxes[i] for i in passing], [scores[i] for i in passing], len(kept) - len(passing)


def suppress_duplicates(boxes: list[FaceBox], scores: list[float], overlap: float = 0.5) -> list[int]:
    """Indices of boxes to keep, best face score first: a box mostly inside a better one is the same face.

    IoU-based NMS keeps two boxes of one face when they differ in size or rotation (one man drawn twice,
    issue 14); the share of the smaller box covered by the larger one does not.
    """
    order = sorted(range(len(boxes)), key=lambda i: (scores[i], boxes[i].score), reverse=True)
    kept: list[int] = []
    for index in order:
        if all(_covered_share(boxes[index], boxes[other]) < overlap for other in kept):
            kept.append(index)
    return sorted(kept)


def _covered_share(a: FaceBox, b: FaceBox) -> float:
    """Intersection of the two boxes over the area of the smaller one."""
    width = max(0.0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x))
    height = max(0.0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    smaller = min(a.w * a.h, b.w * b.h)
    return width * height / smaller if smaller > 0 else 0.0
