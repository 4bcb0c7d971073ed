"""OpenCV Haar cascade (Viola-Jones) frontal face detector: no extra weights, ships inside opencv."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from fer_engine.errors import ModelError
from fer_engine.predict.detectors.base import FaceBox


class HaarDetector:
    """`haarcascade_frontalface_default.xml` from `cv2.data.haarcascades`, score = the last stage's weight."""

    name = "haar"

    def __init__(
        self,
        cascade: str = "haarcascade_frontalface_default.xml",
        scale_factor: float = 1.1,
        min_neighbors: int = 5,
        min_size: int = 24,
    ):
        path = Path(cv2.data.haarcascades) / cascade  # type: ignore[attr-defined]  # cv2 stubs omit cv2.data
        self.classifier = cv2.CascadeClassifier(str(path))
        if self.classifier.empty():
            raise ModelError(
                f"OpenCV cascade '{path}' cannot be loaded; install opencv-contrib-python-headless or opencv-python-headless"
            )
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors
        self.min_size = min_size

    def detect(self, rgb: np.ndarray) -> list[FaceBox]:
        """Frontal faces at least `min_size` pixels wide."""
        gray = cv2.equalizeHist(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
        rects, _levels, weights = self.classifier.detectMultiScale3(
            gray,
            scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors,
            minSize=(self.min_size, self.min_size),
            outputRejectLevels=True,
        )
        scores = np.asarray(weights, dtype=np.float64).reshape(-1)
        return [
            FaceBox(float(x), float(y), float(w), float(h), float(scores[i]) if i < len(scores) else 1.0)
            for i, (x, y, w, h) in enumerate(np.asarray(rects).reshape(-1, 4))
        ]


def create_haar(**options) -> HaarDetector:
    """The default Haar frontal-face detector."""
    return HaarDetector(**options)
