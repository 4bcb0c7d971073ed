"""Drawing tracked faces on frames, and writing the annotated frames as a video that browsers play.

Browsers play H.264 in MP4 (yuv420p) everywhere and VP9 in WebM in Chromium and Firefox; PyAV's wheels carry
libx264 and libvpx-vp9, so `.mp4` gets H.264 and `.webm` VP9. The MP4 index is moved to the front
(`+faststart`) so a browser starts playing before the whole file has arrived.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from fer_engine.errors import ConfigError
from fer_engine.predict.annotate import LABEL_COLOURS
from fer_engine.video.records import FaceRecord

VideoCodec = Literal["libx264", "libvpx-vp9"]
"""The encoders used (naming them lets PyAV's stubs type the stream as a video stream)."""

CODECS: dict[str, tuple[VideoCodec, str, dict[str, str]]] = {
    ".mp4": ("libx264", "mp4", {"movflags": "+faststart"}),
    ".webm": ("libvpx-vp9", "webm", {}),
}
"""Annotated-video suffix -> (encoder, container format, container options)."""
ENCODER_OPTIONS = {
    "libx264": {"preset": "veryfast", "crf": "23"},
    "libvpx-vp9": {"deadline": "realtime", "cpu-used": "8", "crf": "32", "b": "0"},
}


def draw_faces(rgb: np.ndarray, records: Sequence[FaceRecord], *, caption: str | None = None) -> np.ndarray:
    """A copy of `rgb` with each face's box and "#track label probability" (the smoothed label), and an
    optional caption (e.g. the frame rate) in the top-left corner."""
    image = Image.fromarray(np.asarray(rgb, dtype=np.uint8))
    draw = ImageDraw.Draw(image)
    line = max(2, round(max(image.size) / 400))
    font = _font(max(12, round(max(image.size) / 40)))
    for record in records:
        x, y, w, h = record.box
        colour = LABEL_COLOURS.get(record.label, (0, 200, 0))
        draw.rectangle([x, y, x + w - 1, y + h - 1], outline=colour, width=line)
        name = "new" if record.track_id is None else f"#{record.track_id}"
        _label(draw, (x, y, h), f"{name} {record.label} {record.probabilities[record.label]:.2f}", colour, font, line)
    if caption:
        _label(draw, (0, 0, 0), caption, (255, 255, 255), font, line, below=True)
    return np.asarray(image)


def _label(
    draw: ImageDraw.ImageDraw,
    anchor: tuple[int, int, int],
    text: str,
    colour: tuple[int, int, int],
    font: ImageFont.ImageFont | ImageFont.FreeTypeFont,
    line: int,
    *,
    below: bool = False,
) -> None:
    x, y, h = anchor
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    height = (bottom - top) + 2 * line
    text_y = y + h if below or y - height < 0 else y - height
    draw.rectangle([x, text_y, x + (right - left) + 2 * line, text_y + height], fill=colour)
    draw.text((x + line - left, text_y + line - top), text, fill=(0, 0, 0), font=font)


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has one fixed-size bitmap font
        return ImageFont.load_default()


class BrowserVideoWriter:
    """Encodes frames to `path` (.mp4: H.264, .webm: VP9); the file appears only when `close()` succeeds."""

    def __init__(self, path: str | os.PathLike, width: int, height: int, fps: float):
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in CODECS:
            raise ConfigError(f"the annotated video must end in {' or '.join(CODECS)}, not '{self.path.name}'")
        codec, container_format, container_options = CODECS[suffix]
        if codec not in av.codecs_available:
            raise ConfigError(f"this PyAV build has no {codec} encoder: write a {_other(suffix)} file instead")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        os.close(fd)
        self._tmp = Path(tmp_name)
        self.width, self.height = width - width % 2, height - height % 2  # 4:2:0 needs even sides
        self._container = av.open(str(self._tmp), mode="w", format=container_format, options=container_options)
        rate = Fraction(fps).limit_denominator(1001)
        self._stream = self._container.add_stream(codec, rate=rate, options=ENCODER_OPTIONS[codec])
        self._stream.codec_context.time_base = 1 / rate
        self._stream.width, self._stream.height, self._stream.pix_fmt = self.width, self.height, "yuv420p"
        self.frames = 0

    def write(self, rgb: np.ndarray) -> None:
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb[: self.height, : self.width]), format="rgb24")
        if (frame.width, frame.height) != (self.width, self.height):  # the stream changed size mid-way
            frame = frame.reformat(width=self.width, height=self.height)
        frame.pts, frame.time_base = self.frames, self._stream.codec_context.time_base
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.frames += 1

    def close(self) -> Path:
        """Flush the encoder and move the finished file into place."""
        try:
            for packet in self._stream.encode(None):
                self._container.mux(packet)
            self._container.close()
            with open(self._tmp, "rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(self._tmp, self.path)
        except BaseException:
            self.abort()
            raise
        return self.path

    def abort(self) -> None:
        """Stop without leaving a file."""
        try:
            self._container.close()
        except Exception:  # noqa: BLE001 - already closed or broken: the temp file goes either way
            pass
        self._tmp.unlink(missing_ok=True)


def _other(suffix: str) -> str:
    return next(other for other in CODECS if other != suffix)
