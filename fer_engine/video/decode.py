"""Read a video's frames with PyAV (FFmpeg), within `VideoLimits`, naming what is wrong with a bad file.

`VideoReader(path, limits)` opens and checks the file (a video stream, its size, length and frame size) before
any frame is decoded; `frames()` yields RGB frames and raises a DataError at the first frame it cannot decode,
at a limit the header hid, or when the file ends well before the length its header declares (truncated):
every frame yielded before stays valid, so a caller keeps the results it has.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np

from fer_engine.errors import DataError
from fer_engine.video.limits import VideoLimits

MAX_FPS = 240.0
"""Frames per second of content counted against the length limit: a file whose timestamps barely advance
cannot hide more than `max_seconds * MAX_FPS` frames."""
TRUNCATION_SLACK_SECONDS = 0.5
"""A file ending this much before its declared length is reported as truncated (containers round lengths)."""


@dataclass(frozen=True)
class VideoInfo:
    """What the header says: frame size, frame rate, length (None when undeclared), codec and file size."""

    name: str
    width: int
    height: int
    fps: float
    duration: float | None
    frame_count: int | None
    codec: str
    size_bytes: int

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "width": self.width,
            "height": self.height,
            "fps": round(self.fps, 3),
            "duration": None if self.duration is None else round(self.duration, 3),
            "frame_count": self.frame_count,
            "codec": self.codec,
            "size_bytes": self.size_bytes,
        }


@dataclass(frozen=True)
class DecodedFrame:
    """One frame: its position in the file, its time in seconds, and its pixels (H, W, 3) uint8 RGB."""

    index: int
    time: float
    rgb: np.ndarray


class VideoReader:
    """An opened, checked video file; use as a context manager and iterate `frames()` once."""

    def __init__(self, path: str | os.PathLike, limits: VideoLimits | None = None, *, name: str | None = None):
        self.path = Path(path)
        self.limits = limits or VideoLimits.from_env()
        self.name = name or self.path.name
        size = _checked_size(self.path, self.limits, self.name)
        try:
            self._container = av.open(str(self.path), mode="r")
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise DataError(f"'{self.name}' could not be opened as a video: {_reason(exc)}") from None
        try:
            self.info = self._check(size)
        except BaseException:
            self._container.close()
            raise

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._container.close()

    def _check(self, size: int) -> VideoInfo:
        streams = self._container.streams.video
        if not streams:
            kinds: list[str] = sorted({stream.type for stream in self._container.streams}) or ["nothing readable"]
            raise DataError(f"'{self.name}' has no video stream (it holds {', '.join(kinds)}): choose a video file")
        stream = streams[0]
        stream.thread_type = "AUTO"  # frame and slice threads: decoding is the cheap part then
        width, height = int(stream.codec_context.width or 0), int(stream.codec_context.height or 0)
        if width <= 0 or height <= 0:
            raise DataError(f"'{self.name}' has a video stream without a frame size: the file is damaged")
        self._check_pixels(width, height)
        fps = float(stream.average_rate or stream.guessed_rate or 0) or 25.0
        duration = _declared_duration(self._container, stream)
        if duration is not None and duration > self.limits.max_seconds:
            raise DataError(
                f"'{self.name}' is {duration:.0f} s long; the limit here is {self.limits.max_seconds:g} s "
                "(cut the video, or raise the limit: --max-seconds / FER_VIDEO_MAX_SECONDS)"
            )
        frame_count = int(stream.frames) or None
        return VideoInfo(self.name, width, height, fps, duration, frame_count, stream.codec_context.name, size)

    def _check_pixels(self, width: int, height: int) -> None:
        if width * height > self.limits.max_pixels:
            raise DataError(
                f"'{self.name}' has {width}x{height} frames ({width * height / 1e6:.1f} MP); the limit here "
                f"is {self.limits.max_pixels / 1e6:.1f} MP (scale the video down, or raise --max-pixels / "
                "FER_VIDEO_MAX_PIXELS)"
            )

    def frames(self) -> Iterator[DecodedFrame]:
        """Every frame in order, as RGB; a DataError after the last good one when the file is bad or too long."""
        max_frames = int(self.limits.max_seconds * MAX_FPS)
        index, last_time = 0, None
        for frame in self._decoded():
            time = float(frame.time) if frame.time is not None else index / self.info.fps
            if time > self.limits.max_seconds or index >= max_frames:
                raise DataError(
                    f"'{self.name}' goes on past the {self.limits.max_seconds:g} s limit (its header did "
                    f"not say): stopped after {index} frame(s)"
                )
            self._check_pixels(frame.width, frame.height)
            yield DecodedFrame(index, time, frame.to_ndarray(format="rgb24"))
            index, last_time = index + 1, time
        if self._failure is not None:
            raise DataError(
                f"'{self.name}' could not be decoded after {index} frame(s) ({_at(last_time)}): {self._failure}"
            )
        if index == 0:
            raise DataError(
                f"'{self.name}' has a video stream but no frame could be decoded: the file is damaged or empty"
            )
        declared = self.info.duration
        if (
            declared is not None
            and last_time is not None
            and last_time + 1.0 / self.info.fps < declared - TRUNCATION_SLACK_SECONDS
        ):
            raise DataError(
                f"'{self.name}' ended at {last_time:.2f} s of the {declared:.2f} s its header declares: "
                f"the file is truncated or damaged (results cover the {index} frame(s) decoded)"
            )

    def _decoded(self) -> Iterator[Any]:
        """PyAV frames; at a read or decode error, the frames the (threaded) decoder still holds come first,
        then the error is kept in `_failure` and the iteration ends."""
        self._failure: str | None = None
        stream = self._container.streams.video[0]
        packets = self._container.demux(stream)
        while True:
            try:
                packet = next(packets)
                frames = packet.decode()
            except StopIteration:
                return
            except (av.FFmpegError, OSError, ValueError, MemoryError) as exc:
                self._failure = _reason(exc)
                break
            yield from frames
        try:
            yield from stream.codec_context.decode(None)  # flush what the decoder holds
        except (av.FFmpegError, OSError, ValueError, MemoryError):
            pass  # the first failure is the one reported


def _checked_size(path: Path, limits: VideoLimits, name: str) -> int:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DataError(f"'{name}' cannot be read: {exc.strerror or exc}") from None
    if not path.is_file():
        raise DataError(f"'{name}' is not a file")
    if size == 0:
        raise DataError(f"'{name}' is empty")
    if size > limits.max_bytes:
        raise DataError(
            f"'{name}' is {size / 2**20:.1f} MB; the limit here is {limits.max_mb:g} MB "
            "(raise --max-mb / FER_VIDEO_MAX_MB)"
        )
    return size


def _declared_duration(container: Any, stream: Any) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(container.duration) / av.time_base
    return None


def _at(time: float | None) -> str:
    return "at the start" if time is None else f"last good frame at {time:.2f} s"


def _reason(exc: BaseException) -> str:
    """A decoder's message on one line, bounded (it may quote the file's bytes)."""
    text = " ".join(str(getattr(exc, "strerror", None) or exc).split()) or type(exc).__name__
    return text[:200]
