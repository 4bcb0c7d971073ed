"""BlazeFace short-range run fully convolutionally by LiteRT (TFLite) over a small image pyramid.

MediaPipe's FaceDetector squeezes a photo into 128x128, so a 100-pixel face in a 1920x1080 group shot
shrinks to 7 pixels and is lost; covering such photos with 320-pixel tiles cost ~45 detector calls.
The network has no fully connected layer and its output reshapes keep a free anchor count, so the
same vendored .tflite, given a larger input, scans a whole photo in one call at a scale where faces of
a given size fit the model's range; two or three scales cover faces from ~40 px to the whole photo.
"""

from __future__ import annotations

import functools
import math
import threading
from collections import OrderedDict
from pathlib import Path

import cv2
import numpy as np

from fer_engine.errors import ModelError
from fer_engine.predict.detectors.base import FaceBox
from fer_engine.predict.detectors.blazeface import SHORT_RANGE_MODEL
from fer_engine.predict.detectors.litert_threads import litert_threads
from fer_engine.predict.detectors.tiling import non_max_suppression

MODEL_SIDE = 128
"""The side BlazeFace short-range was trained at: a face fills roughly 15-100% of it."""
SIZE_MULTIPLE = 32
"""Inputs are padded to multiples of this: the network's stride is 16, and coarser buckets mean fewer
distinct shapes (each new shape costs one interpreter allocation, ~30-60 ms, kept for reuse)."""
HEADS = ((8, 2), (16, 6))
"""(stride, anchors per cell) of the two output layers, in output order; all anchors of a cell share its centre."""
VALUES_PER_ANCHOR = 16
"""Box centre offset x, y, width, height, then six keypoints (x, y), in input pixels."""
CACHED_SHAPES = 6
"""Interpreters kept, one per input shape (photos of one size, e.g. webcam frames, reuse theirs)."""

FINEST_SCALE = 0.5
"""Scale of the finest pass: a 40 px face becomes 20 px, about the smallest the model's anchors fit.

Chosen on benchmarks/detector_comparison.py's scenes (96 faces, 18 face-free photos; docs/detectors.md):
0.4 found 77% of faces, 0.5 83%, 0.6 89% but with 13 false faces instead of 8 and 1.6x the time
(benchmarks/detector_pyramid_sweep.py)."""
SCALE_STEP = 3.0
"""Largest ratio between neighbouring pyramid scales; a face seen at one scale stays in range at the next."""
CONFIRM_MAX_SIDE = 96
"""A detection whose face would measure at most this many pixels in the next finer pass must be found
there too; larger faces overflow the finer pass's 128-pixel range and are taken from their own pass."""
FINE_MIN_SCORE = 0.5
"""Score a detection from a pass finer than the whole-photo one needs (more windows, more false faces).

With the predictor's face-presence check behind it (detectors/presence.py), the detector's own threshold
no longer has to keep false faces out, so the finer passes use the base 0.5 and find more small faces.
benchmarks/detector_pyramid_sweep.py --check (98 faces, 37 face-free photos; docs/detectors.md): 0.5 finds
90% with 0 false boxes, 0.65 83% (0 false boxes). Without the check (`--no-face-check`), 0.5 gave 13 false
faces on 18 face-free photos where 0.65 gave 3 (the earlier choice)."""


class BlazeFacePyramidDetector:
    """BlazeFace short-range on a pyramid of whole-photo passes (LiteRT, XNNPACK); six keypoints per face."""

    def __init__(
        self,
        model_path: Path = SHORT_RANGE_MODEL,
        name: str = "blazeface",
        min_confidence: float = 0.5,
        fine_min_confidence: float = FINE_MIN_SCORE,
        suppression_threshold: float = 0.3,
        finest_scale: float | None = FINEST_SCALE,
        scale_step: float = SCALE_STEP,
        threads: int | None = None,
    ):
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:
            raise ModelError(
                f"detector '{name}' needs LiteRT (pip install ai-edge-litert), or choose --detector haar"
            ) from exc
        if not Path(model_path).is_file():
            raise ModelError(
                f"BlazeFace model '{model_path}' is missing from the installation; reinstall fer-engine or choose --detector haar"
            )
        self._model_bytes = Path(model_path).read_bytes()
        self._interpreter_class = Interpreter
        self._threads = threads or litert_threads()
        self._interpreters: OrderedDict[tuple[int, int], object] = OrderedDict()
        self._lock = threading.Lock()  # a LiteRT interpreter must not run two calls at once
        self.name = name
        self.min_confidence = float(min_confidence)
        self.fine_min_confidence = float(fine_min_confidence)
        self.suppression_threshold = float(suppression_threshold)
        self.finest_scale = finest_scale
        self.scale_step = float(scale_step)

    def scales(self, height: int, width: int) -> list[float]:
        """Resize factors of the passes, coarsest first: the photo's long side at 128 px, then finer steps."""
        coarse = MODEL_SIDE / max(height, width)
        if self.finest_scale is None or coarse >= self.finest_scale:
            return [coarse]
        steps = math.ceil(math.log(self.finest_scale / coarse) / math.log(self.scale_step) - 1e-9)
        ratio = (self.finest_scale / coarse) ** (1.0 / steps)
        return [coarse * ratio**i for i in range(steps + 1)]

    def detect(self, rgb: np.ndarray) -> list[FaceBox]:
        """Faces in `rgb` pixels from every pass, confirmed across scales, duplicates merged by NMS."""
        height, width = rgb.shape[:2]
        scales = self.scales(height, width)
        kept: list[FaceBox] = []
        finer: list[FaceBox] | None = None  # the previous (finer) pass's detections at the base threshold
        source = rgb
        # Finest pass first, each coarser one resized from the previous: cheaper than from the full photo.
        for index in reversed(range(len(scales))):
            size = (max(1, round(width * scales[index])), max(1, round(height * scales[index])))
            if size != (source.shape[1], source.shape[0]):
                interpolation = cv2.INTER_AREA if size[0] < source.shape[1] else cv2.INTER_LINEAR
                source = cv2.resize(source, size, interpolation=interpolation)
            back = np.array([width / size[0], height / size[1]], np.float32)
            found = self._detect_in(source, self.min_confidence, back)
            threshold = self.min_confidence if index == 0 else max(self.min_confidence, self.fine_min_confidence)
            candidates = [box for box in found if box.score >= threshold]
            if finer is not None:
                candidates = [box for box, ok in zip(candidates, confirmed(candidates, finer, scales[index + 1])) if ok]
            kept += candidates
            finer = found
        return non_max_suppression(kept, self.suppression_threshold)

    def _detect_in(self, resized: np.ndarray, threshold: float, back: np.ndarray) -> list[FaceBox]:
        """One pass on an already resized photo, padded (bottom, right) with mid-grey to multiples of 32;
        boxes are multiplied by `back` to land in the original photo's pixels."""
        new_h, new_w = resized.shape[:2]
        padded_h = -(-new_h // SIZE_MULTIPLE) * SIZE_MULTIPLE
        padded_w = -(-new_w // SIZE_MULTIPLE) * SIZE_MULTIPLE
        with self._lock:
            interpreter = self._interpreter_for(padded_h, padded_w)
            # Written straight into the interpreter's input buffer (no temporary copies of the photo); the
            # view must be gone before invoke(), which refuses to run while Python holds its memory.
            tensor = interpreter.tensor(interpreter.get_input_details()[0]["index"])()[0]
            np.divide(resized, np.float32(127.5), out=tensor[:new_h, :new_w], dtype=np.float32)
            tensor[:new_h, :new_w] -= 1.0
            tensor[new_h:] = 0.0  # 0 is mid-grey after [-1, 1] scaling
            tensor[:new_h, new_w:] = 0.0
            del tensor
            interpreter.invoke()
            outputs = {
                detail["name"]: interpreter.get_tensor(detail["index"])[0]
                for detail in interpreter.get_output_details()
            }
        return _decode(outputs["classificators"][:, 0], outputs["regressors"], padded_h, padded_w, threshold, back)

    def _interpreter_for(self, height: int, width: int):
        """The interpreter allocated for this input shape (created, or reused and marked recent)."""
        key = (height, width)
        if key in self._interpreters:
            self._interpreters.move_to_end(key)
            return self._interpreters[key]
        interpreter = self._interpreter_class(model_content=self._model_bytes, num_threads=self._threads)
        interpreter.resize_tensor_input(interpreter.get_input_details()[0]["index"], [1, height, width, 3])
        interpreter.allocate_tensors()
        self._interpreters[key] = interpreter
        if len(self._interpreters) > CACHED_SHAPES:
            self._interpreters.popitem(last=False)
        return interpreter


def confirmed(boxes: list[FaceBox], finer: list[FaceBox], finer_scale: float) -> np.ndarray:
    """Which of `boxes` stand: a face small enough to be in the finer pass's range must be found there
    too (IoU >= 0.3 with one of `finer`); larger faces overflow that pass and stand on their own.

    A coarse pass squeezes the photo so much that clothing or texture can pass for a face; a real face
    of that size is seen, larger, by the finer pass. One IoU matrix (the same float64 arithmetic as
    FaceBox.iou): a Python loop over box pairs cost ~5 ms a photo.
    """
    if not boxes:
        return np.zeros(0, bool)
    a = np.array([(box.x, box.y, box.w, box.h) for box in boxes], np.float64)
    large = np.maximum(a[:, 2], a[:, 3]) * finer_scale > CONFIRM_MAX_SIDE
    if not finer:
        return large
    b = np.array([(box.x, box.y, box.w, box.h) for box in finer], np.float64)
    overlap_w = np.maximum(
        0.0,
        np.minimum((a[:, 0] + a[:, 2])[:, None], (b[:, 0] + b[:, 2])[None])
        - np.maximum(a[:, 0][:, None], b[:, 0][None]),
    )
    overlap_h = np.maximum(
        0.0,
        np.minimum((a[:, 1] + a[:, 3])[:, None], (b[:, 1] + b[:, 3])[None])
        - np.maximum(a[:, 1][:, None], b[:, 1][None]),
    )
    intersection = overlap_w * overlap_h
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None] - intersection
    iou = np.divide(intersection, union, out=np.zeros_like(intersection), where=intersection > 0)
    return large | (iou >= 0.3).any(axis=1)


@functools.lru_cache(maxsize=CACHED_SHAPES)
def anchor_centres(height: int, width: int) -> np.ndarray:
    """(K, 2) anchor centres in input pixels, in the model's output order (stride 8 cells, then stride 16).

    Cached per input shape like the interpreters (read-only: every pass of a photo size shares it)."""
    centres = []
    for stride, per_cell in HEADS:
        rows, cols = np.meshgrid(np.arange(height // stride), np.arange(width // stride), indexing="ij")
        cell = np.stack([(cols.ravel() + 0.5) * stride, (rows.ravel() + 0.5) * stride], axis=1)
        centres.append(np.repeat(cell, per_cell, axis=0))
    table = np.concatenate(centres).astype(np.float32)
    table.flags.writeable = False
    return table


def _decode(
    logits: np.ndarray, regression: np.ndarray, height: int, width: int, threshold: float, back: np.ndarray
) -> list[FaceBox]:
    """Boxes whose sigmoid score passes `threshold`, from (K,) logits and (K, 16) offsets, in photo pixels."""
    scores = 1.0 / (1.0 + np.exp(-np.clip(logits, -80.0, 80.0)))
    keep = np.nonzero(scores > threshold)[0]
    if keep.size == 0:
        return []
    centres = anchor_centres(height, width)[keep]
    values = regression[keep]
    box_centre = (centres + values[:, 0:2]) * back
    box_size = values[:, 2:4] * back
    keypoints = (centres[:, None, :] + values[:, 4:].reshape(-1, 6, 2)) * back
    found = []
    for i, index in enumerate(keep):
        w, h = float(box_size[i, 0]), float(box_size[i, 1])
        if w <= 0 or h <= 0:
            continue
        x, y = float(box_centre[i, 0]) - w / 2.0, float(box_centre[i, 1]) - h / 2.0
        found.append(FaceBox(x, y, w, h, float(scores[index]), keypoints[i]))
    return found


def create_pyramid(**options) -> BlazeFacePyramidDetector:
    """The default detector: BlazeFace short-range on a 2-3 scale pyramid of the whole photo."""
    return BlazeFacePyramidDetector(**options)
