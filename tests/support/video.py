"""Builders for the video tests: real face photos that ship with scikit-image placed on moving paths, a shared
Predictor (the shipped model with the defaults a user gets), and `fer` with the video group registered."""

from __future__ import annotations

import functools

import cv2
import numpy as np
import skimage.data

from fer_engine.cli import main as cli_main
from fer_engine.predict.predictor import Predictor

FACE_SIDE = 200
"""Side (pixels) at which the 25x25 LFW faces are shown: the detector finds them, and they stay recognisable."""
LFW_CANDIDATES = (10, 25, 97, 72, 50)
"""Faces of skimage.data.lfw_subset() tried as segment faces, in order: ones the shipped model labels the same
(happy, neutral, angry) at every placement of SEGMENT_PLACEMENTS. Many LFW faces are ambiguous at 25x25."""
SEGMENT_PLACEMENTS = ((280, 230, 190), (320, 245, 215), (360, 260, 240))
"""(centre x, centre y, side) a segment's face moves and zooms through, in 640x480 frames."""


@functools.cache
def predictor() -> Predictor:
    """The shipped model, loaded once per test session, with `fer predict-video`'s defaults."""
    return Predictor.from_checkpoint()


def lfw_face(index: int) -> np.ndarray:
    """Grey uint8 LFW face `index`, cropped tight as 25x25 and upscaled to FACE_SIDE."""
    face = (skimage.data.lfw_subset()[index] * 255).astype(np.uint8)
    return cv2.resize(face, (FACE_SIDE, FACE_SIDE), interpolation=cv2.INTER_CUBIC)


def astronaut_face() -> np.ndarray:
    """The head and shoulders of skimage's astronaut (Eileen Collins), RGB, square."""
    return skimage.data.astronaut()[0:300, 90:390]


def still_label(image: np.ndarray) -> str | None:
    """The label the full photo path gives `image` shown still at each of SEGMENT_PLACEMENTS, when it is the
    same at all of them (None otherwise, or when no single face is found)."""
    from fer_engine.video.synthetic import FacePath, render_frames

    labels = set()
    for cx, cy, side in SEGMENT_PLACEMENTS:
        frame = next(render_frames([FacePath(image, 0, 1, (cx, cy), (cx, cy), side, side)], seconds=1, fps=1))
        faces = predictor().predict_rgb(frame).faces
        labels.add(faces[0].label if len(faces) == 1 else None)
    return labels.pop() if len(labels) == 1 else None


def two_faces_with_different_labels() -> list[tuple[np.ndarray, str]]:
    """Two LFW faces with steady, different still labels: the expressions a segmented video is known to show."""
    chosen: list[tuple[np.ndarray, str]] = []
    for index in LFW_CANDIDATES:
        face = lfw_face(index)
        label = still_label(face)
        if label is not None and all(label != other for _, other in chosen):
            chosen.append((face, label))
        if len(chosen) == 2:
            return chosen
    raise AssertionError("fewer than two LFW candidates with steady, distinct labels: the shipped model changed a lot")


def run_fer(argv: list[str], monkeypatch) -> int:
    """`fer ARGV` through the real entry point (its FerError handling), the video group registered."""
    if "video" not in cli_main.COMMAND_MODULES:
        monkeypatch.setattr(cli_main, "COMMAND_MODULES", (*cli_main.COMMAND_MODULES, "video"))
    return cli_main.main(argv)
