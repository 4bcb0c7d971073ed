"""Face detectors behind one protocol (`FaceDetector.detect(rgb) -> list[FaceBox]`), created by name."""

from fer_engine.predict.detectors.base import FaceBox, FaceDetector
from fer_engine.predict.detectors.registry import (
    DEFAULT_DETECTOR,
    available_detectors,
    create_detector,
    describe_detectors,
)
from fer_engine.predict.detectors.scaling import detect_faces

__all__ = [
    "DEFAULT_DETECTOR",
    "FaceBox",
    "FaceDetector",
    "available_detectors",
    "create_detector",
    "describe_detectors",
    "detect_faces",
]
