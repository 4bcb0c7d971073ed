"""Photo in, expressions out: detect faces, check each box really holds one, cut FER2013-framed crops,
classify them with a loaded model.

`Predictor.from_checkpoint()` loads the model (and optionally a fitted head and a detector) once; then
`predict_image` / `predict_images` / `predict_faces` reuse it for every call.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from fer_engine.data.preprocess import to_fer_gray
from fer_engine.device import resolve_precision
from fer_engine.errors import ConfigError, DataError, ModelError
from fer_engine.inference import check_tta_mode, run_inference
from fer_engine.models.checkpoint import ModelCard, load_checkpoint, resolve_checkpoint_dir
from fer_engine.paths import default_checkpoint_dir
from fer_engine.predict.detectors import DEFAULT_DETECTOR, FaceBox, FaceDetector, create_detector
from fer_engine.predict.detectors.presence import FacePresenceModel, checked_faces
from fer_engine.predict.framing import crop_face_fer, framing_for
from fer_engine.predict.image_io import MAX_IMAGE_PIXELS, ImageSource, describe_source, read_rgb
from fer_engine.predict.inference_copy import bf16_inference_copy
from fer_engine.runs.layout import CHECKPOINT_DIR, HEADS_DIR, WEIGHTS_FILE, RunPaths
from fer_engine.runs.resolve import run_of_checkpoint

DEFAULT_MIN_FACE_SCORE = 0.5
"""Face score a box needs to be classified. On benchmarks/detector_comparison.py's scenes (98 faces, 37
face-free photos; docs/detectors.md) every false box of the default detector scores <= 0.37 and all but two
true faces >= 0.98: 0.5 keeps 88 of its 90 true boxes and no false one (0.3: 89 and 3 false boxes)."""
MAX_ERROR_CHARS = 300
"""Error texts are cut to this length (a decoder's message must not flood the page or the JSON)."""


@dataclass
class FacePrediction:
    """One face: its box (x, y, w, h) in original image pixels, the predicted class and all probabilities.

    `face_score` is the probability that the box holds a face (the face-presence check, or the detector's
    own score when the check is off); `detector_score` is the detector's score, on the detector's scale.
    """

    box: tuple[int, int, int, int]
    label: str
    probabilities: dict[str, float]
    embedding: np.ndarray
    face_score: float
    detector_score: float
    crop: np.ndarray | None = field(default=None, repr=False)
    detection: FaceBox | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, Any]:
        """The JSON form printed by `fer predict --json` (no embedding, no pixels)."""
        return {
            "box": [int(v) for v in self.box],
            "label": self.label,
            "probabilities": {name: round(float(p), 6) for name, p in self.probabilities.items()},
            "face_score": round(float(self.face_score), 4),
            "detector_score": round(float(self.detector_score), 4),
        }


@dataclass
class ImagePrediction:
    """All faces of one image (empty when there is none), or the reason the image could not be read.

    `faces` are in reading order (rows top to bottom, left to right); `skipped` counts detector boxes
    whose face score was below the predictor's `min_face_score` (not classified, not listed).
    """

    image: str
    faces: list[FacePrediction] = field(default_factory=list)
    error: str | None = None
    width: int = 0
    height: int = 0
    skipped: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "faces": [face.to_json() for face in self.faces],
            "skipped": self.skipped,
            "error": self.error,
        }


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
        min_face_score: float = DEFAULT_MIN_FACE_SCORE,
        check_faces: bool = True,
    ):
        check_tta_mode(tta)
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
        self._detector: FaceDetector | None = (
            detector if detector is not None and not isinstance(detector, str) else None
        )
        self.min_face_score = check_min_face_score(min_face_score)
        self.check_faces = check_faces
        self._presence: FacePresenceModel | None = None
        self._inference_model: nn.Module | None = None

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
        min_face_score: float = DEFAULT_MIN_FACE_SCORE,
        check_faces: bool = True,
    ) -> Predictor:
        """Load a checkpoint (default: the shipped one) and, for head != 'softmax', that run's fitted head."""
        from fer_engine.heads.registry import CLASSIFIER_NAMES  # here: a host without xgboost still predicts

        if head not in CLASSIFIER_NAMES:
            raise ConfigError(f"unknown head '{head}' (choose from {', '.join(CLASSIFIER_NAMES)})")
        checkpoint_dir = resolve_checkpoint_dir(path_or_run if path_or_run is not None else default_checkpoint())
        model, card = load_checkpoint(checkpoint_dir, device=device)
        estimator = None if head == "softmax" else load_run_head(checkpoint_dir, head)
        return cls(
            model,
            card,
            head=head,
            head_estimator=estimator,
            detector=detector,
            tta=tta,
            device=device,
            align_eyes=align_eyes,
            checkpoint_dir=checkpoint_dir,
            precision=precision,
            min_face_score=min_face_score,
            check_faces=check_faces,
        )

    @property
    def detector(self) -> FaceDetector:
        """The face detector, created on first use (classifying crops needs none)."""
        if self._detector is None:
            self._detector = create_detector(self._detector_spec if isinstance(self._detector_spec, str) else None)
        return self._detector

    @property
    def presence_model(self) -> FacePresenceModel:
        """The face-presence check, created on first use."""
        if self._presence is None:
            self._presence = FacePresenceModel()
        return self._presence

    @property
    def inference_model(self) -> nn.Module:
        """The model bf16 classification runs: a copy with weights cast once, channels_last (inference_copy.py)."""
        if self._inference_model is None:
            self._inference_model = bf16_inference_copy(self.model)
        return self._inference_model

    @property
    def detector_name(self) -> str:
        return getattr(self.detector, "name", "custom")

    def classify(self, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, 48, 48) uint8 faces -> (probabilities (N, C), embeddings (N, D)), with the chosen head and TTA."""
        faces = np.asarray(faces, dtype=np.uint8)
        if faces.ndim != 3:
            raise DataError(f"faces must be an (N, 48, 48) uint8 array, not shape {faces.shape}")
        if self.precision == "bf16":
            output = run_inference(
                self.inference_model,
                faces,
                batch_size=64,
                device=self.device,
                precision="bf16",
                tta=self.tta,
                channels_last=True,
            )
        else:
            output = run_inference(
                self.model, faces, batch_size=64, device=self.device, precision=self.precision, tta=self.tta
            )
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
            self._face(
                probabilities[i],
                embeddings[i],
                (0, 0, int(np.asarray(crops[i]).shape[1]), int(np.asarray(crops[i]).shape[0])),
                1.0,
                1.0,
                faces[i],
                None,
            )
            for i in range(len(crops))
        ]

    def face_boxes(
        self, rgb: np.ndarray, min_face_score: float | None = None
    ) -> tuple[list[FaceBox], list[float], int]:
        """(boxes, face scores) that pass the threshold (default: this predictor's), in reading order; and how many failed."""
        threshold = self.min_face_score if min_face_score is None else check_min_face_score(min_face_score)
        presence = self.presence_model if self.check_faces else None
        boxes, scores, skipped = checked_faces(self.detector, rgb, presence, threshold)
        order = reading_order(boxes)
        return [boxes[i] for i in order], [scores[i] for i in order], skipped

    def predict_rgb(
        self, rgb: np.ndarray, name: str = "<image>", *, min_face_score: float | None = None
    ) -> ImagePrediction:
        """Detect, check and classify every face of an RGB uint8 image already in memory."""
        boxes, face_scores, skipped = self.face_boxes(rgb, min_face_score)
        height, width = rgb.shape[:2]
        result = ImagePrediction(name, [], None, width, height, skipped)
        if not boxes:
            return result
        framing = framing_for(self.detector_name)
        faces = np.stack([crop_face_fer(rgb, box, framing, align_eyes=self.align_eyes) for box in boxes])
        probabilities, embeddings = self.classify(faces)
        for i, box in enumerate(boxes):
            result.faces.append(
                self._face(
                    probabilities[i],
                    embeddings[i],
                    clip_box(box, width, height),
                    face_scores[i],
                    box.score,
                    faces[i],
                    box,
                )
            )
        return result

    def predict_source(
        self,
        image: ImageSource,
        *,
        name: str | None = None,
        min_face_score: float | None = None,
        max_pixels: int = MAX_IMAGE_PIXELS,
    ) -> tuple[ImagePrediction, np.ndarray | None]:
        """Faces of one image and its decoded pixels; any failure becomes the result's `error` (pixels None).

        One bad file is one bad result: decoders raise more than DataError on hostile input (e.g. Pillow's
        ValueError for an oversized PNG text chunk), and a batch must carry on with the next image.
        """
        name = name or describe_source(image)
        try:
            rgb = read_rgb(image, max_pixels=max_pixels, name=name)
            return self.predict_rgb(rgb, name, min_face_score=min_face_score), rgb
        except (DataError, ModelError, ConfigError) as exc:
            return ImagePrediction(name, [], short_error(str(exc))), None
        except Exception as exc:  # noqa: BLE001 - whatever one image raises must not stop the others
            return ImagePrediction(
                name, [], short_error(f"'{name}' could not be processed: {type(exc).__name__}: {exc}")
            ), None

    def predict_image(self, image: ImageSource) -> ImagePrediction:
        """Faces of one image (path, bytes, PIL or array); an unreadable image gives `error`, not an exception."""
        return self.predict_source(image)[0]

    def predict_images(self, images: Iterable[ImageSource]) -> list[ImagePrediction]:
        """`predict_image` for each image, in order; one bad file does not stop the others."""
        return [self.predict_image(image) for image in images]

    def _face(
        self,
        probabilities: np.ndarray,
        embedding: np.ndarray,
        box: tuple[int, int, int, int],
        face_score: float,
        detector_score: float,
        crop,
        detection,
    ) -> FacePrediction:
        index = int(np.argmax(probabilities))
        return FacePrediction(
            box=box,
            label=self.class_names[index],
            probabilities={name: float(p) for name, p in zip(self.class_names, probabilities)},
            embedding=np.asarray(embedding, dtype=np.float32),
            face_score=float(face_score),
            detector_score=float(detector_score),
            crop=crop,
            detection=detection,
        )


def check_min_face_score(value: float) -> float:
    """`value` as a float in [0, 1], or a ConfigError saying what a face score is."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"min_face_score must be a number between 0 and 1, not {value!r}") from None
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"min_face_score must be between 0 and 1 (a face probability), not {value}")
    return value


def short_error(text: str) -> str:
    """An error text on one line, at most MAX_ERROR_CHARS long."""
    text = " ".join(text.split())
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 3] + "..."


def reading_order(boxes: list[FaceBox]) -> list[int]:
    """Indices of `boxes` in reading order: rows top to bottom, left to right within a row.

    Boxes whose vertical centres lie within half the median face height of a row's first box share it.
    """
    if not boxes:
        return []
    tolerance = 0.5 * float(np.median([box.h for box in boxes]))
    by_top = sorted(range(len(boxes)), key=lambda i: boxes[i].center[1])
    rows: list[list[int]] = []
    for index in by_top:
        if rows and boxes[index].center[1] - boxes[rows[-1][0]].center[1] <= tolerance:
            rows[-1].append(index)
        else:
            rows.append([index])
    return [index for row in rows for index in sorted(row, key=lambda i: boxes[i].center[0])]


def default_checkpoint() -> Path:
    """The shipped model's run folder, or a ModelError saying it is missing and what to pass instead."""
    default_dir = default_checkpoint_dir()
    try:
        resolve_checkpoint_dir(default_dir)
    except ModelError as error:
        raise ModelError(
            f"the default model is not installed: {default_dir} has no {CHECKPOINT_DIR}/{WEIGHTS_FILE}. "
            "Pass --checkpoint PATH_OR_RUN (a run folder, run id or checkpoint folder), or train one with `fer train`"
        ) from error
    return default_dir


def clip_box(box: FaceBox, width: int, height: int) -> tuple[int, int, int, int]:
    """A detector box as whole pixels inside the image (the crop itself may extend past the border)."""
    x0, y0 = max(0, int(round(box.x))), max(0, int(round(box.y)))
    x1, y1 = min(width, int(round(box.x + box.w))), min(height, int(round(box.y + box.h)))
    return (x0, y0, max(0, x1 - x0), max(0, y1 - y0))


def load_run_head(checkpoint_dir: Path, head: str) -> Any:
    """The fitted head `head` of the run that holds `checkpoint_dir` (heads/ beside checkpoint/)."""
    from fer_engine.heads.fitting import load_fitted_head

    run = run_of_checkpoint(checkpoint_dir) or RunPaths(checkpoint_dir)
    if not run.heads_dir.is_dir():
        raise ModelError(
            f"'{run.root}' has no {HEADS_DIR}/ folder: fit heads with `fer heads {run.root}` or use --head softmax"
        )
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
