"""The live camera: each frame as it arrives is analysed (detect, classify, track, smooth) and drawn with its
faces and the measured frame rate. Frames that arrive while one is being analysed are the caller's to drop
(streamlit-webrtc keeps only the newest), so the delay from camera to label stays one frame's work."""

from __future__ import annotations

import threading
import time as clock
from dataclasses import dataclass

import numpy as np

from fer_engine.predict.predictor import Predictor
from fer_engine.video.analyser import FrameAnalyser
from fer_engine.video.annotate import draw_faces
from fer_engine.video.records import FaceRecord
from fer_engine.video.smooth import DEFAULT_TIME_CONSTANT

RATE_TIME_CONSTANT = 1.0
"""Seconds over which the shown frame rate and delay are averaged (steady enough to read, quick to follow)."""


@dataclass(frozen=True)
class LiveFrame:
    """An annotated frame, its faces, the frames per second drawn lately and this frame's analysis delay."""

    rgb: np.ndarray
    faces: list[FaceRecord]
    fps: float
    latency_ms: float


class LiveAnnotator:
    """Thread-safe: the camera callback runs on a worker thread, the page reads `last` on its own."""

    def __init__(
        self, predictor: Predictor, *, time_constant: float = DEFAULT_TIME_CONSTANT, nominal_fps: float = 30.0
    ):
        self._analyser = FrameAnalyser(predictor, nominal_fps, time_constant=time_constant)
        self._lock = threading.Lock()
        self._started: float | None = None
        self._frames = 0
        self._last_time: float | None = None
        self._fps = 0.0
        self._latency_ms = 0.0
        self.last: LiveFrame | None = None

    def process(self, rgb: np.ndarray, *, now: float | None = None) -> LiveFrame:
        """Analyse and draw one camera frame (RGB uint8) that arrived at `now` (monotonic seconds; default: the
        clock). The delay shown is the time from the call to the drawn label."""
        with self._lock:
            began = clock.perf_counter()
            arrived = clock.monotonic() if now is None else now
            self._started = arrived if self._started is None else self._started
            time = arrived - self._started
            faces = self._analyser.analyse(rgb, self._frames, time)
            latency_ms = (clock.perf_counter() - began) * 1000
            self._update_rates(time, latency_ms)
            caption = f"{self._fps:.1f} fps, {self._latency_ms:.0f} ms"
            result = LiveFrame(draw_faces(rgb, faces, caption=caption), faces, self._fps, self._latency_ms)
            self._frames += 1
            self.last = result
            return result

    def _update_rates(self, time: float, latency_ms: float) -> None:
        if self._last_time is None:
            self._latency_ms = latency_ms
        else:
            interval = max(time - self._last_time, 1e-6)
            weight = 1.0 - np.exp(-interval / RATE_TIME_CONSTANT)
            self._fps = 1.0 / interval if not self._fps else self._fps + weight * (1.0 / interval - self._fps)
            self._latency_ms += weight * (latency_ms - self._latency_ms)
        self._last_time = time
