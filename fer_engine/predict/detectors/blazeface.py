"""MediaPipe BlazeFace (Tasks API) with the short-range and full-range models vendored in ./models.

mediapipe 0.10.35's wheel no longer carries the face-detection models and its Tasks API needs a model
file; the two .tflite files here are Google's, Apache-2.0, taken unchanged from the mediapipe 0.10.21
wheel (`mediapipe/modules/face_detection/`, with Tasks metadata). See models/README.md.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
import weakref
from pathlib import Path

import numpy as np

from fer_engine.errors import ModelError
from fer_engine.predict.detectors.base import FaceBox
from fer_engine.predict.detectors.tiling import TiledDetector

MODELS_DIR = Path(__file__).resolve().parent / "models"
SHORT_RANGE_MODEL = MODELS_DIR / "face_detection_short_range.tflite"
FULL_RANGE_MODEL = MODELS_DIR / "face_detection_full_range_sparse.tflite"


class BlazeFaceDetector:
    """BlazeFace through `mediapipe.tasks.python.vision.FaceDetector` (IMAGE mode); score is a probability."""

    def __init__(self, model_path: Path, name: str, min_confidence: float = 0.5, suppression_threshold: float = 0.3):
        try:
            import mediapipe as mp
            from mediapipe.tasks import python as mp_tasks
            from mediapipe.tasks.python import vision
        except ImportError as exc:
            raise ModelError(
                f"detector '{name}' needs mediapipe (pip install mediapipe), or choose --detector haar"
            ) from exc
        if not Path(model_path).is_file():
            raise ModelError(
                f"BlazeFace model '{model_path}' is missing from the installation; reinstall fer-engine or choose --detector haar"
            )
        options = vision.FaceDetectorOptions(
            base_options=mp_tasks.BaseOptions(model_asset_buffer=Path(model_path).read_bytes()),
            running_mode=vision.RunningMode.IMAGE,
            min_detection_confidence=min_confidence,
            min_suppression_threshold=suppression_threshold,
        )
        self.name = name
        self._mp = mp
        with _native_stderr_silenced():  # TFLite/absl print INFO and W0000 lines on creation and first call
            self._detector = vision.FaceDetector.create_from_options(options)
            self._detector.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=np.zeros((64, 64, 3), np.uint8)))
        self._finalizer = weakref.finalize(self, self._detector.close)
        _close_before_executors_stop(self._finalizer)

    def detect(self, rgb: np.ndarray) -> list[FaceBox]:
        """Faces with their six keypoints in pixels (right eye, left eye, nose, mouth, right ear, left ear)."""
        height, width = rgb.shape[:2]
        image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb, dtype=np.uint8))
        result = self._detector.detect(image)
        boxes = []
        for detection in result.detections:
            box = detection.bounding_box
            keypoints = None
            if detection.keypoints:
                keypoints = np.array([[kp.x * width, kp.y * height] for kp in detection.keypoints], dtype=np.float32)
            score = float(detection.categories[0].score) if detection.categories else 1.0
            boxes.append(
                FaceBox(float(box.origin_x), float(box.origin_y), float(box.width), float(box.height), score, keypoints)
            )
        return boxes

    def close(self) -> None:
        """Release the MediaPipe graph now."""
        self._finalizer()


@contextlib.contextmanager
def _native_stderr_silenced():
    """Point file descriptor 2 at /dev/null for a moment (native libraries write there, bypassing sys.stderr)."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _close_before_executors_stop(finalizer: weakref.finalize) -> None:
    """Close the native graph before concurrent.futures stops its threads at exit.

    MediaPipe dispatches close() to a ThreadPoolExecutor; at interpreter exit that executor is stopped
    before ordinary atexit hooks run, and MediaPipe's own __del__ then prints a traceback. Threading's
    exit hooks run in reverse order of registration, so ours runs before the executor's.
    """
    register = getattr(threading, "_register_atexit", None)
    if register is None:
        atexit.register(finalizer)
        return
    try:
        register(finalizer)
    except RuntimeError:  # already shutting down
        pass


TILE_SIZE = 320
TILE_MIN_SCORE = 0.65
"""Tile side and the score a tile's detection needs, for `blazeface` on photos larger than a tile.

Chosen on benchmarks/detector_comparison.py's scenes (docs/detectors.md): 512 px tiles missed most
40-110 px faces; 320 px tiles at the plain 0.5 threshold found them but added 13 false faces on 18
face-free photos, 0.65 on tiles kept 1 while losing a few faces.
"""


def create_short_range(tile: int | None = TILE_SIZE, tile_min_score: float = TILE_MIN_SCORE, **options):
    """BlazeFace short-range (128x128 input) on the whole photo and on 320-pixel tiles (small faces too)."""
    detector = BlazeFaceDetector(SHORT_RANGE_MODEL, "blazeface_whole", **options)
    return TiledDetector(detector, tile, name="blazeface", tile_min_score=tile_min_score) if tile else detector


def create_whole_image(**options) -> BlazeFaceDetector:
    """BlazeFace short-range on the whole photo only: fastest, for faces that fill a fair part of it."""
    return BlazeFaceDetector(SHORT_RANGE_MODEL, "blazeface_whole", **options)


def create_full_range(tile: int | None = 512, tile_min_score: float = TILE_MIN_SCORE, **options):
    """BlazeFace full-range sparse (192x192 input), whole photo plus 512-pixel tiles."""
    detector = BlazeFaceDetector(FULL_RANGE_MODEL, "blazeface_full", **options)
    return TiledDetector(detector, tile, name="blazeface_full", tile_min_score=tile_min_score) if tile else detector
