"""A whole video file: decode, analyse every Nth frame, track and smooth faces, summarise, and optionally write
the annotated video. A decode error part-way keeps every result computed before it (`VideoAnalysis.error`)."""

from __future__ import annotations

import os
import time as clock
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av

from fer_engine.errors import ConfigError, DataError
from fer_engine.io_utils import atomic_write_json
from fer_engine.predict.predictor import Predictor
from fer_engine.video.analyser import FrameAnalyser
from fer_engine.video.annotate import BrowserVideoWriter, draw_faces
from fer_engine.video.decode import VideoInfo, VideoReader
from fer_engine.video.limits import VideoLimits
from fer_engine.video.records import FaceRecord
from fer_engine.video.smooth import DEFAULT_TIME_CONSTANT
from fer_engine.video.summarise import TrackSummary, summarise_tracks
from fer_engine.video.track import DEFAULT_MAX_MISS_SECONDS

ProgressCallback = Callable[[float], None]
"""Called with the fraction of the video done (0..1) after each analysed frame."""


@dataclass
class VideoAnalysis:
    """Everything `fer predict-video` and the Video page show: the table, per-face summaries, and what went wrong."""

    info: VideoInfo
    class_names: list[str]
    every: int
    time_constant: float
    records: list[FaceRecord] = field(default_factory=list)
    tracks: list[TrackSummary] = field(default_factory=list)
    frames_decoded: int = 0
    frames_analysed: int = 0
    error: str | None = None
    annotated: Path | None = None
    seconds: float = 0.0

    def to_json(self, *, with_records: bool = True) -> dict[str, Any]:
        result = {
            "video": self.info.to_json(),
            "every": self.every,
            "smoothing_time_constant": self.time_constant,
            "frames_decoded": self.frames_decoded,
            "frames_analysed": self.frames_analysed,
            "seconds": round(self.seconds, 3),
            "error": self.error,
            "annotated": None if self.annotated is None else str(self.annotated),
            "faces": [track.to_json() for track in self.tracks],
        }
        if with_records:
            result["records"] = [record.to_json() for record in self.records]
        return result

    def write_json(self, path: str | os.PathLike) -> Path:
        return atomic_write_json(path, self.to_json())


def analyse_video(
    path: str | os.PathLike,
    predictor: Predictor,
    *,
    every: int = 1,
    limits: VideoLimits | None = None,
    annotate_to: str | os.PathLike | None = None,
    time_constant: float = DEFAULT_TIME_CONSTANT,
    max_miss_seconds: float = DEFAULT_MAX_MISS_SECONDS,
    on_progress: ProgressCallback | None = None,
    name: str | None = None,
) -> VideoAnalysis:
    """Analyse the video at `path`; a DataError when it cannot be opened or fails the limits, else the results
    (with `error` set when decoding stopped part-way, or the annotated video could not be written)."""
    if not isinstance(every, int) or isinstance(every, bool) or every < 1:
        raise ConfigError(f"--every must be a whole number of frames >= 1, not {every!r}")
    started = clock.perf_counter()
    with VideoReader(path, limits, name=name) as reader:
        info = reader.info
        analysis = VideoAnalysis(info, list(predictor.class_names), every, time_constant)
        analyser = FrameAnalyser(
            predictor, info.fps / every, time_constant=time_constant, max_miss_seconds=max_miss_seconds
        )
        writer = BrowserVideoWriter(annotate_to, info.width, info.height, info.fps) if annotate_to else None
        current: list[FaceRecord] = []
        try:
            for frame in reader.frames():
                analysis.frames_decoded += 1
                if frame.index % every == 0:
                    current = analyser.analyse(frame.rgb, frame.index, frame.time)
                    analysis.records.extend(current)
                    analysis.frames_analysed += 1
                    if on_progress and info.duration:
                        on_progress(min(1.0, frame.time / info.duration))
                if writer:
                    writer.write(draw_faces(frame.rgb, current))  # between analysed frames, the last faces stay
        except DataError as exc:
            if analysis.frames_decoded == 0:  # nothing to keep: the file is unusable
                if writer:
                    writer.abort()
                raise
            analysis.error = str(exc)
        except BaseException:
            if writer:
                writer.abort()
            raise
        if writer:
            analysis.annotated = _finish(writer, analysis)
    analysis.tracks = summarise_tracks(analysis.records, analysis.class_names, every / info.fps)
    analysis.seconds = clock.perf_counter() - started
    if on_progress:
        on_progress(1.0)
    return analysis


def _finish(writer: BrowserVideoWriter, analysis: VideoAnalysis) -> Path | None:
    """Close the annotated video; a failure (e.g. a full disk) is reported in `analysis.error`, results kept."""
    if writer.frames == 0:
        writer.abort()
        return None
    try:
        return writer.close()
    except (av.FFmpegError, OSError, ValueError) as exc:
        message = f"the annotated video could not be written: {exc}"
        analysis.error = f"{analysis.error}; {message}" if analysis.error else message
        return None
