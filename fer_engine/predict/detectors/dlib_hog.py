"""dlib's HOG + linear SVM frontal face detector (weights built into dlib; wheels from the `dlib-bin` package)."""

from __future__ import annotations

import numpy as np

from fer_engine.errors import ModelError
from fer_engine.predict.detectors.base import FaceBox


class DlibHogDetector:
    """`dlib.get_frontal_face_detector()`, upsampling once to find faces down to ~40 px; score = SVM margin."""

    name = "dlib_hog"

    def __init__(self, upsample: int = 1, threshold: float = 0.0):
        try:
            import dlib
        except ImportError as exc:
            raise ModelError(
                "detector 'dlib_hog' needs dlib: pip install dlib-bin (prebuilt wheels), or choose another --detector"
            ) from exc
        self._detector = dlib.get_frontal_face_detector()
        self.upsample = upsample
        self.threshold = threshold

    def detect(self, rgb: np.ndarray) -> list[FaceBox]:
        """Frontal faces whose SVM margin exceeds `threshold`."""
        rects, scores, _ = self._detector.run(np.ascontiguousarray(rgb), self.upsample, self.threshold)
        return [
            FaceBox(float(r.left()), float(r.top()), float(r.width()), float(r.height()), float(s))
            for r, s in zip(rects, scores)
        ]


def create_dlib_hog(**options) -> DlibHogDetector:
    """dlib's frontal HOG detector."""
    return DlibHogDetector(**options)
