"""Run a detector on overlapping tiles as well as the whole photo, so small faces in big photos are found.

BlazeFace resizes its input to 128x128 (short range) or 192x192 (full range): in a 1920x1080 group
photo a 100-pixel face becomes ~7 pixels and is missed (docs/detectors.md). Tiles keep faces large
relative to the model input; detections from the whole image and every tile are merged by NMS.
"""

from __future__ import annotations

import cv2
import numpy as np

from fer_engine.predict.detectors.base import FaceBox, FaceDetector


def tile_origins(length: int, tile: int, overlap: float) -> list[int]:
    """Start offsets of tiles of size `tile` covering [0, length) with at least `overlap` (fraction) shared."""
    if length <= tile:
        return [0]
    stride = max(1, int(tile * (1.0 - overlap)))
    starts = list(range(0, length - tile + 1, stride))
    if starts[-1] + tile < length:
        starts.append(length - tile)
    return starts


def non_max_suppression(boxes: list[FaceBox], iou_threshold: float = 0.3) -> list[FaceBox]:
    """Keep the best-scoring box of every group that overlaps at IoU > `iou_threshold`."""
    if len(boxes) < 2:
        return boxes
    scores = [max(0.0, float(b.score)) for b in boxes]  # OpenCV's NMS wants non-negative scores
    keep = cv2.dnn.NMSBoxes([[b.x, b.y, b.w, b.h] for b in boxes], scores, 0.0, iou_threshold)
    return [boxes[i] for i in sorted(np.asarray(keep, dtype=int).reshape(-1))]


class TiledDetector:
    """`detector` on the whole image plus on `tile`-sized overlapping tiles when the image is larger.

    Tiles see many more candidate windows than the whole image, so their detections must score at least
    `tile_min_score` (stricter than the detector's own threshold) to keep false positives down.
    """

    def __init__(
        self,
        detector: FaceDetector,
        tile: int,
        overlap: float = 0.3,
        name: str | None = None,
        tile_min_score: float = 0.0,
    ):
        self.detector = detector
        self.tile = int(tile)
        self.overlap = float(overlap)
        self.tile_min_score = float(tile_min_score)
        self.name = name or f"{detector.name}_tiled"

    def detect(self, rgb: np.ndarray) -> list[FaceBox]:
        """Faces from the whole image and from each tile, in whole-image pixels, duplicates merged."""
        height, width = rgb.shape[:2]
        boxes = list(self.detector.detect(rgb))
        if max(height, width) > self.tile:
            for top in tile_origins(height, self.tile, self.overlap):
                for left in tile_origins(width, self.tile, self.overlap):
                    tile = np.ascontiguousarray(rgb[top : top + self.tile, left : left + self.tile])
                    for box in self.detector.detect(tile):
                        if box.score < self.tile_min_score:
                            continue
                        landmarks = None if box.landmarks is None else box.landmarks + np.array([left, top], np.float32)
                        boxes.append(FaceBox(box.x + left, box.y + top, box.w, box.h, box.score, landmarks))
        return non_max_suppression(boxes)
