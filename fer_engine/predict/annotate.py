"""Draw the predicted boxes, labels and probabilities on a copy of the photo."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from fer_engine.io_utils import atomic_write
from fer_engine.predict.predictor import ImagePrediction

LABEL_COLOURS = {
    "angry": (220, 40, 40),
    "disgust": (120, 160, 30),
    "fear": (150, 60, 200),
    "happy": (250, 190, 0),
    "sad": (40, 110, 220),
    "surprise": (240, 120, 20),
    "neutral": (160, 160, 160),
}


LABELLED_FACES_MAX = 6
"""Up to this many faces, each box carries its number, label and probability; beyond, only its number
(the per-face panels, numbered the same, carry the rest; long labels on a crowd hide the faces)."""


def annotate(rgb: np.ndarray, prediction: ImagePrediction) -> Image.Image:
    """A copy of `rgb` with one box per face, numbered 1..N in the prediction's (reading) order."""
    image = Image.fromarray(np.asarray(rgb, dtype=np.uint8)).convert("RGB")
    draw = ImageDraw.Draw(image)
    line = max(2, round(max(image.size) / 400))
    font_size = max(12, round(max(image.size) / 45))
    try:
        font = ImageFont.load_default(size=font_size)
    except TypeError:  # Pillow < 10.1 has one fixed-size bitmap font
        font = ImageFont.load_default()
    labelled = len(prediction.faces) <= LABELLED_FACES_MAX
    for number, face in enumerate(prediction.faces, start=1):
        x, y, w, h = face.box
        colour = LABEL_COLOURS.get(face.label, (0, 200, 0))
        draw.rectangle([x, y, x + w - 1, y + h - 1], outline=colour, width=line)
        text = f"{number} {face.label} {face.probabilities[face.label]:.2f}" if labelled else str(number)
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        text_y = y - (bottom - top) - 2 * line if y - (bottom - top) - 2 * line >= 0 else y + h + line
        draw.rectangle([x, text_y, x + (right - left) + 2 * line, text_y + (bottom - top) + 2 * line], fill=colour)
        draw.text((x + line - left, text_y + line - top), text, fill=(0, 0, 0), font=font)
    return image


def safe_output_name(source: str, suffix: str, taken: set[str]) -> str:
    """A file name derived from `source` with only [A-Za-z0-9._-], unique within `taken` (which it updates)."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(source).stem).strip("._") or "image"
    stem = stem[:100]
    name = f"{stem}{suffix}"
    counter = 2
    while name in taken:
        name = f"{stem}_{counter}{suffix}"
        counter += 1
    taken.add(name)
    return name


def save_png(image: Image.Image, path: str | os.PathLike) -> Path:
    """Write a PNG atomically (no half-written file if interrupted)."""
    return atomic_write(path, lambda tmp: image.save(tmp, format="PNG"))
