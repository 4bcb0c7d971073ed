"""Smoothing each face's class probabilities over time: an exponential moving average with a time constant.

Why this method: per-frame predictions flicker (a blink, motion blur, a half-turned head), while expressions
last from about half a second to seconds. An exponential average in *time* (weight 1 - exp(-dt / tau) for a
new frame dt seconds after the last) is causal, so the live camera can use it with no look-ahead; it needs
one vector per face; and it means the same whatever the frame rate or `--every` sampling. After a gap much
longer than tau the new frame's weight is ~1, so a face coming back starts from what it shows now.
"""

from __future__ import annotations

import math

import numpy as np

from fer_engine.errors import ConfigError

DEFAULT_TIME_CONSTANT = 0.5
"""Seconds: flicker of one or two frames is damped to a third or less, while a change of expression held
for a second moves the smoothed label within ~0.35 s (the label flips once the new class leads)."""


class ProbabilitySmoother:
    """Per-track exponential moving averages of probability vectors (rows sum to 1 in, and out)."""

    def __init__(self, time_constant: float = DEFAULT_TIME_CONSTANT):
        if not isinstance(time_constant, (int, float)) or not math.isfinite(time_constant) or time_constant < 0:
            raise ConfigError(f"the smoothing time constant must be a number of seconds >= 0, not {time_constant!r}")
        self.time_constant = float(time_constant)
        self._state: dict[int, tuple[float, np.ndarray]] = {}

    def update(self, track_id: int, time: float, probabilities: np.ndarray) -> np.ndarray:
        """The smoothed probabilities of `track_id` after a frame at `time` seconds showing `probabilities`."""
        probabilities = np.asarray(probabilities, dtype=np.float64)
        previous = self._state.get(track_id)
        if previous is None or self.time_constant == 0:
            smoothed = probabilities
        else:
            last_time, last = previous
            weight = 1.0 - math.exp(-max(time - last_time, 0.0) / self.time_constant)
            smoothed = last + weight * (probabilities - last)
        self._state[track_id] = (time, smoothed)
        return smoothed

    def forget_before(self, time: float) -> None:
        """Drop the state of tracks last seen before `time` (gone), bounding memory on long streams."""
        for track_id in [tid for tid, (last_time, _) in self._state.items() if last_time < time]:
            del self._state[track_id]
