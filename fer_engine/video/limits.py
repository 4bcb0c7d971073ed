"""Limits on a video the product accepts: file size, length and frame size, configurable from the environment.

A video is work in proportion to its length and pixels; a file from a browser is hostile until checked, so
every entry point (CLI, dashboard) checks these before decoding and again while decoding (headers can lie).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from fer_engine.errors import ConfigError

MAX_MB_ENV = "FER_VIDEO_MAX_MB"
MAX_SECONDS_ENV = "FER_VIDEO_MAX_SECONDS"
MAX_PIXELS_ENV = "FER_VIDEO_MAX_PIXELS"

DEFAULT_MAX_MB = 200.0
DEFAULT_MAX_SECONDS = 600.0
DEFAULT_MAX_PIXELS = 3840 * 2160
"""4K UHD: larger frames cost seconds each to decode and detect on a CPU."""


@dataclass(frozen=True)
class VideoLimits:
    """Largest file (MB), longest video (seconds of content) and largest frame (width x height) accepted."""

    max_mb: float = DEFAULT_MAX_MB
    max_seconds: float = DEFAULT_MAX_SECONDS
    max_pixels: int = DEFAULT_MAX_PIXELS

    def __post_init__(self) -> None:
        for name in ("max_mb", "max_seconds", "max_pixels"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0:
                raise ConfigError(f"video limit {name} must be a positive number, not {value!r}")

    @property
    def max_bytes(self) -> int:
        return int(self.max_mb * 1024 * 1024)

    @classmethod
    def from_env(
        cls, max_mb: float | None = None, max_seconds: float | None = None, max_pixels: int | None = None
    ) -> VideoLimits:
        """Limits from FER_VIDEO_MAX_MB / _SECONDS / _PIXELS (defaults otherwise); non-None arguments win."""
        return cls(
            max_mb=_env_number(MAX_MB_ENV, DEFAULT_MAX_MB) if max_mb is None else max_mb,
            max_seconds=_env_number(MAX_SECONDS_ENV, DEFAULT_MAX_SECONDS) if max_seconds is None else max_seconds,
            max_pixels=int(_env_number(MAX_PIXELS_ENV, DEFAULT_MAX_PIXELS)) if max_pixels is None else max_pixels,
        )


def _env_number(name: str, default: float) -> float:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {text!r}") from None
