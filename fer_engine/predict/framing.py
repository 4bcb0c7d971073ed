"""Cut a face crop out of a photo with the same framing as FER2013's 48x48 images, optionally eye-levelled.

A detector's box is tighter or looser than FER2013's crops, and sits higher or lower on the face. The
constants below map a detector box to the square FER-like crop around it; they were measured by
`benchmarks/detector_comparison.py --part framing` (FER2013 PublicTest images upscaled 4x onto a grey
canvas, each detector run on them, box expressed relative to the known 48x48 crop; medians).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from fer_engine.data.preprocess import to_fer_gray
from fer_engine.predict.detectors.base import FaceBox

FER_SIZE = 48
MAX_CROP_PIXELS = 192
"""Crops are returned at most this large; the final 48x48 resize happens in to_fer_gray."""
NATIVE_WARP_LIMIT = 1024
"""Faces larger than this are warped at reduced resolution first (bounded memory on huge photos)."""


@dataclass(frozen=True)
class Framing:
    """How a detector box maps to a FER2013-framed crop.

    crop side = box width * `scale`; crop centre = box centre + (`offset_x`, `offset_y`) * crop side.
    """

    scale: float
    offset_x: float
    offset_y: float


# Measured by `benchmarks/detector_comparison.py --part framing` on 300 FER2013 PublicTest images (seed 11),
# each 4x upscaled (192 px) on a grey 448x448 canvas. Medians over the images where the detector fired:
#   blazeface (LiteRT pyramid, the default) 295/300 found: box width 0.851 of the crop, centre +0.005 / +0.093
#   below-right of the crop's centre (measured 2026-11-27); blazeface_tiled (MediaPipe) 292/300: 0.833,
#   +0.008 / +0.083; blazeface_whole 289/300: box width 0.833 of the crop, box centre +0.008 / +0.091
#   blazeface_full 187/300: 0.875, -0.003 / +0.034;  dlib_hog 224/300: 0.807, +0.018 / +0.044;
#   haar 203/300: 0.938, +0.005 / -0.005.
# So FER2013 frames a face ~1.2x wider than BlazeFace's box, with more forehead above it.
_BLAZEFACE_SHORT = Framing(scale=1.200, offset_x=-0.008, offset_y=-0.091)
FER_FRAMING: dict[str, Framing] = {
    "blazeface": Framing(scale=1.176, offset_x=-0.005, offset_y=-0.093),
    "blazeface_tiled": Framing(scale=1.200, offset_x=-0.008, offset_y=-0.083),
    "blazeface_whole": _BLAZEFACE_SHORT,
    "blazeface_full": Framing(scale=1.143, offset_x=0.003, offset_y=-0.034),
    "dlib_hog": Framing(scale=1.239, offset_x=-0.018, offset_y=-0.044),
    "haar": Framing(scale=1.067, offset_x=-0.005, offset_y=0.005),
}
NEUTRAL_FRAMING = Framing(scale=1.0, offset_x=0.0, offset_y=0.0)


def framing_for(detector_name: str) -> Framing:
    """The measured FER framing of a detector (the box itself for an unmeasured one)."""
    return FER_FRAMING.get(detector_name, NEUTRAL_FRAMING)


def eye_angle_degrees(box: FaceBox) -> float:
    """Roll of the face from its two eye keypoints (0 when the eyes are level or unknown)."""
    if box.landmarks is None or len(box.landmarks) < 2:
        return 0.0
    (rx, ry), (lx, ly) = box.landmarks[0], box.landmarks[1]
    return math.degrees(math.atan2(ly - ry, lx - rx))


def crop_face_rgb(
    rgb: np.ndarray, box: FaceBox, framing: Framing = NEUTRAL_FRAMING, *, align_eyes: bool = True
) -> np.ndarray:
    """The square RGB crop (<= MAX_CROP_PIXELS a side) that FER2013 would have framed around `box`.

    With `align_eyes` and eye keypoints, the crop is rotated about its centre so the eyes are level.
    Parts outside the photo are filled by replicating its border, as a face at the edge still needs a crop.
    """
    side = max(1.0, box.w * framing.scale)
    cx, cy = box.center
    cx += framing.offset_x * side
    cy += framing.offset_y * side
    angle = eye_angle_degrees(box) if align_eyes else 0.0
    # Rotate/translate at (nearly) native resolution, then area-average down: warpAffine cannot area-average.
    native = int(math.ceil(min(side, NATIVE_WARP_LIMIT)))
    zoom = native / side
    matrix = cv2.getRotationMatrix2D((cx, cy), angle, zoom)  # counter-clockwise degrees, about the crop centre
    matrix[0, 2] += native / 2.0 - cx
    matrix[1, 2] += native / 2.0 - cy
    crop = cv2.warpAffine(rgb, matrix, (native, native), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    out = int(min(MAX_CROP_PIXELS, max(FER_SIZE, native)))
    if out != native:
        crop = cv2.resize(crop, (out, out), interpolation=cv2.INTER_AREA if out < native else cv2.INTER_LINEAR)
    return crop


def crop_face_fer(
    rgb: np.ndarray, box: FaceBox, framing: Framing = NEUTRAL_FRAMING, *, align_eyes: bool = True
) -> np.ndarray:
    """The (48, 48) uint8 grayscale face the model sees, via the same conversion as the training data."""
    return to_fer_gray(crop_face_rgb(rgb, box, framing, align_eyes=align_eyes), size=FER_SIZE)
