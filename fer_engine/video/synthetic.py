"""Videos made from still faces moved and zoomed across frames, for tests and benchmarks (no video files shipped).

A `FacePath` places one face image over time; `render_frames` composes them on a textured background and
`write_video` encodes the frames with the product's own writer (H.264 MP4 or VP9 WebM).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from fer_engine.video.annotate import BrowserVideoWriter


@dataclass(frozen=True)
class FacePath:
    """`image` (grey or RGB) shown from `start` to `end` seconds, its centre moving linearly from `from_xy` to
    `to_xy` (pixels) and its side from `from_side` to `to_side` (zoom)."""

    image: np.ndarray
    start: float
    end: float
    from_xy: tuple[float, float]
    to_xy: tuple[float, float]
    from_side: float
    to_side: float

    def placement(self, time: float) -> tuple[int, int, int] | None:
        """(left, top, side) at `time`, or None when the face is not shown then."""
        if not self.start <= time < self.end:
            return None
        t = (time - self.start) / max(self.end - self.start, 1e-9)
        side = int(round(self.from_side + t * (self.to_side - self.from_side)))
        cx = self.from_xy[0] + t * (self.to_xy[0] - self.from_xy[0])
        cy = self.from_xy[1] + t * (self.to_xy[1] - self.from_xy[1])
        return int(round(cx - side / 2)), int(round(cy - side / 2)), side


def background(width: int, height: int, seed: int = 0) -> np.ndarray:
    """Smooth random blotches (a plain page would make detection unrealistically easy)."""
    noise = np.random.default_rng(seed).normal(120, 25, (max(height // 8, 1), max(width // 8, 1), 3))
    return cv2.resize(noise.clip(0, 255).astype(np.uint8), (width, height), interpolation=cv2.INTER_CUBIC)


def render_frames(
    paths: Sequence[FacePath], *, seconds: float, fps: float = 25.0, size: tuple[int, int] = (640, 480), seed: int = 0
) -> Iterator[np.ndarray]:
    """RGB frames of `seconds` of video with each face drawn where its path puts it."""
    base = background(size[0], size[1], seed)
    for index in range(int(round(seconds * fps))):
        frame = base.copy()
        for path in paths:
            where = path.placement(index / fps)
            if where is not None:
                _paste(frame, path.image, *where)
        yield frame


def write_video(path: str | os.PathLike, frames: Iterable[np.ndarray], fps: float = 25.0) -> Path:
    """Encode RGB frames (all one size) to `path` (.mp4 H.264 or .webm VP9)."""
    writer = None
    for frame in frames:
        if writer is None:
            writer = BrowserVideoWriter(path, frame.shape[1], frame.shape[0], fps)
        writer.write(frame)
    if writer is None:
        raise ValueError("no frames to write")
    return writer.close()


def _paste(frame: np.ndarray, image: np.ndarray, left: int, top: int, side: int) -> None:
    rgb = np.repeat(image[:, :, None], 3, axis=2) if image.ndim == 2 else image[:, :, :3]
    face = cv2.resize(rgb, (side, side), interpolation=cv2.INTER_AREA if side < rgb.shape[0] else cv2.INTER_CUBIC)
    x0, y0 = max(left, 0), max(top, 0)
    x1, y1 = min(left + side, frame.shape[1]), min(top + side, frame.shape[0])
    if x1 > x0 and y1 > y0:
        frame[y0:y1, x0:x1] = face[y0 - top : y1 - top, x0 - left : x1 - left]
