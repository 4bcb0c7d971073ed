"""Face detectors by name, so the CLI, the predictor and the benchmark choose one as data."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from fer_engine.errors import ConfigError
from fer_engine.predict.detectors.base import FaceDetector

DEFAULT_DETECTOR = "blazeface"
"""Chosen on benchmarks/detector_comparison.py's numbers (docs/detectors.md)."""

# name -> (module holding the factory, factory attribute, one-line description)
_DETECTORS: dict[str, tuple[str, str, str]] = {
    "blazeface": (
        "blazeface_pyramid",
        "create_pyramid",
        "BlazeFace short-range, fully convolutional in LiteRT on a 2-3 scale pyramid, 6 keypoints",
    ),
    "blazeface_tiled": (
        "blazeface",
        "create_short_range",
        "MediaPipe BlazeFace short-range on the photo + 320 px tiles, 6 keypoints",
    ),
    "blazeface_whole": (
        "blazeface",
        "create_whole_image",
        "MediaPipe BlazeFace short-range on the whole photo only (misses small faces)",
    ),
    "blazeface_full": (
        "blazeface",
        "create_full_range",
        "MediaPipe BlazeFace full-range sparse on the photo + 512 px tiles",
    ),
    "haar": ("haar", "create_haar", "OpenCV Haar cascade frontalface_default (ships inside opencv)"),
    "dlib_hog": ("dlib_hog", "create_dlib_hog", "dlib HOG + linear SVM frontal detector (needs the dlib-bin wheel)"),
}


def available_detectors() -> list[str]:
    """Registered detector names (some may need an optional package to be created)."""
    return sorted(_DETECTORS)


def describe_detectors() -> dict[str, str]:
    """Name -> one-line description, for help texts."""
    return {name: entry[2] for name, entry in sorted(_DETECTORS.items())}


def create_detector(name: str | None = None, **options) -> FaceDetector:
    """Build the detector `name` (default: DEFAULT_DETECTOR); unknown names raise ConfigError listing the others."""
    name = name or DEFAULT_DETECTOR
    if name not in _DETECTORS:
        raise ConfigError(f"unknown face detector '{name}'; available: {', '.join(available_detectors())}")
    module_name, factory_name, _ = _DETECTORS[name]
    module = importlib.import_module(f"fer_engine.predict.detectors.{module_name}")
    factory: Callable[..., FaceDetector] = getattr(module, factory_name)
    return factory(**options)
