"""Photo in, expressions out: detect faces, cut FER2013-framed crops, classify them with a loaded model.

`Predictor.from_checkpoint()` loads the model (and optionally a fitted head and a detector) once; then
`predict_image` / `predict_images` / `predict_faces` reuse it for every call.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import torch
from torch import nn

from fer_engine.data.preprocess import to_fer_gray
from fer_engine.device import resolve_precision
from fer_engine.errors import ConfigError, DataError, ModelError
from fer_engine.inference import TTA_MODES, run_inference
from fer_engine.models.checkpoint import ModelCard, load_checkpoint, resolve_checkpoint_dir
from fer_engine.paths import default_checkpoint_dir
from fer_engine.predict import HEAD_CHOICES
from fer_engine.predict.detectors import DEFAULT_DETECTOR, FaceBox, FaceDetector, create_detector, detect_faces
from fer_engine.predict.framing import crop_face_fer, framing_for
from fer_engine.predict.image_io import ImageSource, describe_source, read_rgb



@dataclass
class FacePrediction:
    """One face: its box (x, y, w, h) in original image pixels, the predicted class and all probabilities."""

    box: tuple[int, int, int, int]
    label: str
    probabilities: dict[str, float]
    embedding: np.ndarray
    score: float
    crop: np.ndarray | None = field(default=None, repr=False)
    detection: FaceBox | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, Any]:
        """The JSON form printed by `fer predict --json` (no embedding, no pixels)."""
        return {
            "box": [int(v) for v in self.box],
            "label": self.label,
            "probabilities": {name: round(float(p), 6) for name, p in self.probabilities.items()},
            "score": round(float(self.score), 4),
        }


@dataclass
class ImagePrediction:
    """All faces of one image (empty when there is none), or the reason the image could not be read."""

    image: str
    faces: list[FacePrediction] = field(default_factory=list)
    error: str | None = None
    width: int = 0
    height: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"image": self.image, "faces": [face.to_json() for face in self.faces], "error": self.error}


class Predictor:
    """A loaded backbone (+ optional classical head) and face detector, reused across images."""

    def __init__(
        self,
        model: nn.Module,
        card: ModelCard,
        *,
        head: str = "softmax",
        head_estimator: Any = None,
        detector: FaceDetector | str | None = None,
        tta: str = "none",
        device: str | torch.device = "cpu",
        align_eyes: bool = True,
        checkpoint_dir: Path | None = None,
        precision: str = "auto",
    ):
        if tta not in TTA_MODES:
            raise ConfigError(f"unknown TTA mode '{tta}' (choose from {', '.join(TTA_MODES)})")
        if head != "softmax" and head_estimator is None:
            raise ConfigError(f"head '{head}' needs its fitted estimator (use Predictor.from_checkpoint)")
        self.model = model.eval()
        self.card = card
        self.class_names = list(card.class_names)
        self.head = head
        self.head_estimator = head_estimator
        self.tta = tta
        self.device = torch.device(device)
        # bf16 on CPUs with AMX/AVX512-bf16 halves per-face time; PublicTest labels agree with fp32 on 99.6%
        # (benchmarks/predict_speed.py --data). `precision="fp32"` reproduces `fer evaluate` exactly.
        self.precision = resolve_precision(precision, self.device)
        self.align_eyes = align_eyes
        self.checkpoint_dir = checkpoint_dir
        self._detector_spec = detector
        self._detector: FaceDetector | None = detector if detector is not None and not isinstance(detector, str) else None

    @classmethod
    def from_checkpoint(
        cls,
        path_or_run: str | os.PathLike | None = None,
        *,
        head: str = "softmax",
        detector: FaceDetector | str | None = DEFAULT_DETECTOR,
        tta: str = "none",
        device: str = "cpu",
        align_eyes: bool = True,
        precision: str = "auto",
    ) -> "Predictor":
        """Load a checkpoint (default: the shipped one) and, for head != 'softmax', that run's fitted head."""
        if head not in HEAD_CHOICES:
            raise ConfigError(f"unknown head '{head}' (choose from {', '.join(HEAD_CHOICES)})")
        checkpoint_dir = resolve_checkpoint_dir(path_or_run if path_or_run is not None else default_checkpoint())
        model, card = load_checkpoint(checkpoint_dir, device=device)
        estimator = None if head == "softmax" else load_run_head(checkpoint_dir, head)
        return cls(model, card, head=head, head_estimator=estimator, detector=detector, tta=tta, device=device,
                   align_eyes=align_eyes, checkpoint_dir=checkpoint_dir, precision=precision)

    @property
    def detector(self) -> FaceDetector:
        """The face detector, created on first use (classifying crops needs none)."""
        if self._detector is None:
            self._detector = create_detector(self._detector_spec if isinstance(self._detector_spec, str) else None)
        return self._detector

    @property
    def detector_name(self) -> str:
        return getattr(self.detector, "name", "custom")

    def classify(self, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, 48, 48) uint8 faces -> (probabilities (N, C), embeddings (N, D)), with the chosen head and TTA."""
        faces = np.asarray(faces, dtype=np.uint8)
        if faces.ndim != 3:
            raise DataError(f"faces must be an (N, 48, 48) uint8 array, not shape {faces.shape}")
        output = run_inference(self.model, faces, batch_size=64, device=self.device, precision=self.precision, tta=self.tta)
        if self.head == "softmax":
            return output.probabilities.astype(np.float64), output.embeddings
        return head_probabilities(self.head_estimator, output.embeddings, len(self.class_names)), output.embeddings

    def predict_faces(self, crops: Sequence[np.ndarray] | np.ndarray) -> list[FacePrediction]:
        """Classify face crops that are already cut (any size, grey or RGB; converted like training data)."""
        crops = list(crops)
        if not crops:
            return []
        faces = np.stack([to_fer_gray(np.asarray(crop)) for crop in crops])
        probabilities, embeddings = self.classify(faces)
        return [
            self._face(probabilities[i], embeddings[i], (0, 0, int(np.asarray(crops[i]).shape[1]), int(np.asarray(crops[i]).shape[0])), 1.0, faces[i], None)
            for i in range(len(crops))
        ]

    def predict_rgb(self, rgb: np.ndarray, name: str = "<image>") -> ImagePrediction:
        """Detect and classify every face of an RGB uint8 image already in memory."""
        boxes = detect_faces(self.detector, rgb)
        height, width = rgb.shape[:2]
        result = ImagePrediction(name, [], None, width, height)
        if not boxes:
            return result
        framing = framing_for(self.detector_name)
        faces = np.stack([crop_face_fer(rgb, box, framing, align_eyes=self.align_eyes) for box in boxes])
        probabilities, embeddings = self.classify(faces)
        for i, box in enumerate(boxes):
            result.faces.append(self._face(probabilities[i], embeddings[i], clip_box(box, width, height), box.score, faces[i], box))
        return result

    def predict_image(self, image: ImageSource) -> ImagePrediction:
        """Faces of one image (path, bytes, PIL or array); an unreadable image gives `error`, not an exception."""
        name = describe_source(image)
        try:
            rgb = read_rgb(image)
        except DataError as exc:
            return ImagePrediction(name, [], str(exc))
        return self.predict_rgb(rgb, name)

    def predict_images(self, images: Iterable[ImageSource]) -> list[ImagePrediction]:
        """`predict_image` for each image, in order; one bad file does not stop the others."""
        return [self.predict_image(image) for image in images]

    def _face(self, probabilities: np.ndarray, embedding: np.ndarray, box, score: float, crop, detection) -> FacePrediction:
        index = int(np.argmax(probabilities))
        return FacePrediction(
            box=tuple(int(v) for v in box),
            label=self.class_names[index],
            probabilities={name: float(p) for name, p in zip(self.class_names, probabilities)},
            embedding=np.asarray(embedding, dtype=np.float32),
            score=float(score),
            crop=crop,
            detection=detection,
        )


def default_checkpoint() -> Path:
    """The shipped model's run folder, or a ModelError saying it is missing and what to pass instead."""
    default_dir = default_checkpoint_dir()
    if not any((default_dir / sub / "model.safetensors").is_file() for sub in ("checkpoint", ".")):
        raise ModelError(
            f"the default model is not installed: {default_dir} has no checkpoint/model.safetensors. "
            "Pass --checkpoint PATH_OR_RUN (a run folder, run id or checkpoint folder), or train one with `fer train`"
        )
    return default_dir


def clip_box(box: FaceBox, width: int, height: int) -> tuple[int, int, int, int]:
    """A detector box as whole pixels inside the image (the crop itself may extend past the border)."""
    x0, y0 = max(0, int(round(box.x))), max(0, int(round(box.y)))
    x1, y1 = min(width, int(round(box.x + box.w))), min(height, int(round(box.y + box.h)))
    return (x0, y0, max(0, x1 - x0), max(0, y1 - y0))


def load_run_head(checkpoint_dir: Path, head: str) -> Any:
    """The fitted head `head` of the run that holds `checkpoint_dir` (heads/ beside checkpoint/)."""
    from fer_engine.heads.fitting import load_fitted_head
    from fer_engine.runs.layout import RunPaths

    run_root = checkpoint_dir.parent if checkpoint_dir.name == "checkpoint" else checkpoint_dir
    run = RunPaths(run_root)
    if not run.heads_dir.is_dir():
        raise ModelError(f"'{run_root}' has no heads/ folder: fit heads with `fer heads {run_root}` or use --head softmax")
    return load_fitted_head(run, head).estimator


def head_probabilities(estimator: Any, embeddings: np.ndarray, num_classes: int) -> np.ndarray:
    """(N, C) class probabilities from a scikit-learn-style head, columns in class-id order.

    Heads without `predict_proba` (e.g. an SVM fitted without probability estimates) give one-hot rows.
    """
    embeddings = np.asarray(embeddings, dtype=np.float32)
    classes = np.asarray(getattr(estimator, "classes_", np.arange(num_classes))).astype(int)
    full = np.zeros((len(embeddings), num_classes), dtype=np.float64)
    try:
        probabilities = np.asarray(estimator.predict_proba(embeddings), dtype=np.float64)
        full[:, classes] = probabilities
    except AttributeError:
        predicted = np.asarray(estimator.predict(embeddings)).astype(int)
        full[np.arange(len(predicted)), predicted] = 1.0
    sums = full.sum(axis=1, keepdims=True)
    return np.divide(full, sums, out=np.full_like(full, 1.0 / num_classes), where=sums > 0)
