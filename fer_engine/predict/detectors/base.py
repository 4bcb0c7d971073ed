"""What every face detector returns (FaceBox) and promises (FaceDetector.detect)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class FaceBox:
    """A face in image pixels: top-left (x, y), size (w, h), detector confidence, optional (K, 2) keypoints.

    `score` is detector-specific (a probability for BlazeFace, a stage weight for Haar, an SVM margin for
    dlib); compare it only between boxes of one detector. For BlazeFace keypoints are right eye, left eye,
    nose tip, mouth, right ear, left ear (the subject's right/left).
    """

    x: float
    y: float
    w: float
    h: float
    score: float = 1.0
    landmarks: np.ndarray | None = None

    def scaled(self, factor: float) -> FaceBox:
        """The same box in an image resized by `factor` (e.g. back to the original after downscaling)."""
        landmarks = None if self.landmarks is None else self.landmarks * factor
        return replace(
            self, x=self.x * factor, y=self.y * factor, w=self.w * factor, h=self.h * factor, landmarks=landmarks
        )

    def iou(self, other: FaceBox) -> float:
        """Intersection over union of the two boxes (0 when they do not overlap)."""
        overlap_w = max(0.0, min(self.x + self.w, other.x + other.w) - max(self.x, other.x))
        overlap_h = max(0.0, min(self.y + self.h, other.y + other.h) - max(self.y, other.y))
        intersection = overlap_w * overlap_h
        return intersection / (self.w * self.h + other.w * other.h - intersection) if intersection > 0 else 0.0

    def as_int_tuple(self) -> tuple[int, int, int, int]:
        """(x, y, w, h) rounded to whole pixels, as written in JSON."""
        return (int(round(self.x)), int(round(self.y)), int(round(self.w)), int(round(self.h)))

    @property
    def center(self) -> tuple[float, float]:
        return (self.x + self.w / 2.0, self.y + self.h / 2.0)


@runtime_checkable
class FaceDetector(Protocol):
    """Finds faces in an RGB uint8 (H, W, 3) image; returns an empty list when there are none."""

    name: str

    def detect(self, rgb: np.ndarray) -> list[FaceBox]: ...
