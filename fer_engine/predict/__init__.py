"""Prediction on photos: image reading, face detection, FER2013-framed crops, classification, Grad-CAM, ONNX.

Importing this package is light (no torch); `Predictor` and its results load on first access.
"""

from __future__ import annotations

__all__ = ["HEAD_CHOICES", "FacePrediction", "ImagePrediction", "Predictor"]


def __getattr__(name: str):
    if name == "HEAD_CHOICES":  # `softmax` (the network's classifier) and the classical heads, from their registry
        from fer_engine.heads.registry import CLASSIFIER_NAMES

        return CLASSIFIER_NAMES
    if name in ("FacePrediction", "ImagePrediction", "Predictor"):
        from fer_engine.predict import predictor

        return getattr(predictor, name)
    raise AttributeError(f"module 'fer_engine.predict' has no attribute '{name}'")
