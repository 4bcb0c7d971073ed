"""Run a detector on a downscaled copy of large photos and map the boxes back to original pixels."""

from __future__ import annotations

import cv2
import numpy as np

from fer_engine.predict.detectors.base import FaceBox, FaceDetector

DETECTION_MAX_SIDE = 1920
"""Longer side of the image a detector sees; larger photos are downscaled (speed, memory), boxes mapped back."""

MIN_DETECTABLE_SIDE = 16
"""Images smaller than this on a side hold no detectable face: return no boxes instead of asking the detector."""


def detect_faces(detector: FaceDetector, rgb: np.ndarray, *, max_side: int = DETECTION_MAX_SIDE) -> list[FaceBox]:
    """Faces of `rgb` in its own pixel coordinates, detected on a copy at most `max_side` pixels long."""
    height, width = rgb.shape[:2]
    if min(height, width) < MIN_DETECTABLE_SIDE:
        return []
    scale = min(1.0, max_side / max(height, width))
    if scale >= 1.0:
        return _clipped(detector.detect(rgb), width, height)
    small = cv2.resize(rgb, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA)
    # Map back with the exact per-axis ratio that the rounding gave, not the nominal scale.
    back = width / small.shape[1]
    return _clipped([box.scaled(back) for box in detector.detect(small)], width, height)


def _clipped(boxes: list[FaceBox], width: int, height: int) -> list[FaceBox]:
    """Drop boxes that do not overlap the image; others are kept whole (a face at the border keeps its framing)."""
    return [
        box
        for box in boxes
        if box.x < width and box.y < height and box.x + box.w > 0 and box.y + box.h > 0 and box.w >= 1 and box.h >= 1
    ]
