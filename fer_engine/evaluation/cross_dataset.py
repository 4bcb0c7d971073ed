"""Score a checkpoint on any labelled face set, as crops or through the photo path, and store the result.

Another dataset rarely spells its classes like FER2013 (anger, happiness, contempt ...): its class names are
matched to the model's through `fer_engine.classes.CLASS_NAME_ALIASES`; images of classes the model lacks are
skipped and counted; classes the data lacks are left out of the macro averages (the confusion matrix keeps
every class the model can predict). With `through_photo_path` each image is decoded, and its faces detected,
framed and levelled as `fer predict` does (the crops are then classified in batches). An image with no face
found (or an unreadable one) counts as a wrong prediction: its true class loses recall, no class gains a false
positive, and it is absent from the confusion matrix; both are counted.

The result is written atomically to the run's reports folder as `evaluation_<key>_<head>.json` with
key `<dataset>-<fingerprint[:8]>-<split>[-photo]`, beside FER2013's `evaluation_<split>_<head>.json`, so
`fer_engine.evaluation.stored.run_evaluations(run, key)` reads it like any other evaluation.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
from sklearn import metrics as skm

from fer_engine.classes import ALL_SPLITS, SPLIT_NAMES, canonical_class_name
from fer_engine.data.dataset import FerDataset
from fer_engine.errors import DataError
from fer_engine.evaluation.evaluate import SOFTMAX_HEAD, run_protocol
from fer_engine.io_utils import atomic_write_json
from fer_engine.runs.layout import RunPaths
from fer_engine.runs.resolve import run_of_checkpoint
from fer_engine.scoring.metrics import ClassificationMetrics, classification_metrics

EVALUATION_SPLITS = (ALL_SPLITS, *SPLIT_NAMES)
PHOTO_PATH_TAG = "photo"
NO_FACE = -1
"""Prediction recorded for an image in which the photo path found no face (scored as wrong)."""
CROP_BATCH = 256


@dataclass
class ScoringSet:
    """The images to score with labels in the model's class ids, and how the dataset's classes were matched."""

    images: np.ndarray
    labels: np.ndarray
    keys: np.ndarray
    split: str
    mapping: dict[str, str | None]
    skipped_classes: dict[str, int]

    @property
    def skipped_images(self) -> int:
        return sum(self.skipped_classes.values())


@dataclass
class PhotoPathCounts:
    """What the photo path met: images with no face found (by true class), unreadable ones, several faces."""

    no_face: int = 0
    unreadable: int = 0
    several_faces: int = 0
    no_face_by_class: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "no_face": self.no_face,
            "unreadable": self.unreadable,
            "several_faces": self.several_faces,
            "no_face_by_class": dict(self.no_face_by_class),
            "errors": self.errors[:5],
        }


@dataclass
class CrossDatasetResult:
    """Metrics of one evaluation plus what the command prints about it; `path` is where it was saved."""

    metrics: ClassificationMetrics
    scoring: ScoringSet
    photo: PhotoPathCounts | None
    key: str
    path: Path | None = None


def source_class_name(dataset: FerDataset, label: int, key: str) -> str:
    """How the dataset itself spells an image's class: its class folder for image trees, else its class name."""
    if dataset.source_format.startswith("image"):
        parts = PurePosixPath(key).parts
        if len(parts) >= 2:
            return parts[-2]
    return dataset.class_names[label]


def model_class_index(name: str, model_class_names: list[str] | tuple[str, ...]) -> int | None:
    """Index of the model class a dataset class name means (through the aliases, any case), or None."""
    wanted = canonical_class_name(name) or name.strip().lower()
    for index, model_name in enumerate(model_class_names):
        if (canonical_class_name(model_name) or model_name.strip().lower()) == wanted:
            return index
    return None


def split_images(dataset: FerDataset, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(images, labels, keys) of one split, or of every split for `all`; a DataError names an absent split."""
    if split not in EVALUATION_SPLITS:
        raise DataError(f"unknown split '{split}' (choose from {', '.join(EVALUATION_SPLITS)})")
    names = [name for name in SPLIT_NAMES if name in dataset.splits] if split == ALL_SPLITS else [split]
    parts = [dataset.split(name) for name in names]
    if not parts:
        raise DataError(f"{dataset.source or 'the dataset'} holds no images")
    return (
        np.concatenate([part.images for part in parts]),
        np.concatenate([part.labels for part in parts]),
        np.concatenate([part.keys for part in parts]),
    )


def scoring_set(dataset: FerDataset, split: str, model_class_names: list[str] | tuple[str, ...]) -> ScoringSet:
    """The split's images with labels mapped to the model's classes; images of classes it lacks are dropped."""
    images, labels, keys = split_images(dataset, split)
    mapping: dict[str, str | None] = {}
    skipped: Counter[str] = Counter()
    model_labels = np.full(len(labels), NO_FACE, dtype=np.int64)
    for row, (label, key) in enumerate(zip(labels.tolist(), keys.tolist())):
        spelled = source_class_name(dataset, label, key)
        index = model_class_index(dataset.class_names[label], model_class_names)
        mapping[spelled] = None if index is None else model_class_names[index]
        if index is None:
            skipped[spelled] += 1
        else:
            model_labels[row] = index
    kept = model_labels != NO_FACE
    if not kept.any():
        raise DataError(
            f"none of the classes of {dataset.source or 'the dataset'} ({', '.join(sorted(mapping))}) match the "
            f"model's classes ({', '.join(model_class_names)}), even through the aliases"
        )
    return ScoringSet(
        images[kept],
        model_labels[kept],
        keys[kept],
        split,
        dict(sorted(mapping.items())),
        dict(sorted(skipped.items())),
    )


def present_class_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, class_names: list[str], *, split: str, head: str, protocol: dict[str, Any]
) -> ClassificationMetrics:
    """`classification_metrics`, with macro P/R/F1 averaged over the classes present in `y_true` only.

    A class the data lacks has no recall to measure; averaging its zero F1 in would punish the model for the
    dataset's choice of classes. Its predictions still count as errors of the true classes.
    """
    present = np.unique(y_true)
    protocol = {
        **protocol,
        "macro_over": [class_names[i] for i in present],
        "classes_absent": [name for i, name in enumerate(class_names) if i not in set(present.tolist())],
    }
    metrics = classification_metrics(y_true, y_pred, class_names, split=split, head=head, protocol=protocol)
    precision, recall, f1, _ = skm.precision_recall_fscore_support(
        y_true, y_pred, labels=present, average="macro", zero_division=0
    )
    metrics.macro_precision, metrics.macro_recall, metrics.macro_f1 = float(precision), float(recall), float(f1)
    return metrics


def predict_crops(
    predictor: Any, images: np.ndarray, on_progress: Callable[[int, int], None] | None = None
) -> np.ndarray:
    """Class ids of 48x48 face crops fed to the model as they are (the `fer evaluate` input)."""
    predictions = []
    for start in range(0, len(images), CROP_BATCH):
        probabilities, _ = predictor.classify(images[start : start + CROP_BATCH])
        predictions.append(np.argmax(probabilities, axis=1))
        if on_progress:
            on_progress(min(start + CROP_BATCH, len(images)), len(images))
    return np.concatenate(predictions).astype(np.int64)


def frame_faces(predictor: Any, rgb: np.ndarray) -> tuple[list[Any], np.ndarray]:
    """The boxes and 48x48 crops `Predictor.predict_rgb` would classify in a photo (same detector, face check,
    FER framing and eye levelling), so many photos' crops can be classified in a few batches."""
    from fer_engine.predict.framing import crop_face_fer, framing_for

    boxes, _, _ = predictor.face_boxes(rgb)
    if not boxes:
        return [], np.zeros((0, 48, 48), dtype=np.uint8)
    framing = framing_for(predictor.detector_name)
    return boxes, np.stack([crop_face_fer(rgb, box, framing, align_eyes=predictor.align_eyes) for box in boxes])


def largest_face_crop(predictor: Any, rgb: np.ndarray) -> tuple[np.ndarray | None, int]:
    """The crop of the photo's largest face (None when no face is found) and how many faces were found."""
    boxes, crops = frame_faces(predictor, rgb)
    if not boxes:
        return None, 0
    return crops[int(np.argmax([box.w * box.h for box in boxes]))], len(boxes)


def predict_photos(
    predictor: Any,
    sources: Iterator[tuple[str, Any]],
    labels: np.ndarray,
    class_names: list[str],
    on_progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, PhotoPathCounts]:
    """Class ids through the photo path (decode as `fer predict` does, detect, frame, level); NO_FACE when no
    face is found. An image with several faces is scored on its largest (a labelled set shows one subject)."""
    from fer_engine.predict.image_io import read_rgb

    counts = PhotoPathCounts()
    no_face_by_class: Counter[str] = Counter()
    rows, crops = [], []
    for row, (name, source) in enumerate(sources):
        try:
            crop, found = largest_face_crop(predictor, read_rgb(source, name=name))
        except Exception as exc:  # noqa: BLE001 - one undecodable file is one miss, as in `fer predict`
            counts.unreadable += 1
            counts.errors.append(f"{name}: {type(exc).__name__}: {exc}"[:300])
            crop, found = None, -1
        if crop is None and found == 0:
            counts.no_face += 1
            no_face_by_class[class_names[labels[row]]] += 1
        elif crop is not None:
            counts.several_faces += found > 1
            rows.append(row)
            crops.append(crop)
        if on_progress and ((row + 1) % 100 == 0 or row + 1 == len(labels)):
            on_progress(row + 1, len(labels))
    predictions = np.full(len(labels), NO_FACE, dtype=np.int64)
    if crops:
        predictions[np.array(rows)] = predict_crops(predictor, np.stack(crops))
    counts.no_face_by_class = dict(sorted(no_face_by_class.items()))
    return predictions, counts


def photo_sources(dataset: FerDataset, scoring: ScoringSet) -> Iterator[tuple[str, Any]]:
    """(name, image) of each scored image as the user has it: the file's bytes for image trees, else its pixels."""
    if not dataset.source_format.startswith("image"):
        for key, image in zip(scoring.keys.tolist(), scoring.images):
            yield key, image
        return
    from fer_engine.data.image_tree import ImageTree
    from fer_engine.data.loader import check_source

    checked = check_source(dataset.source)
    with ImageTree(checked.path, checked.limits, checked.files) as tree:
        for key, image in zip(scoring.keys.tolist(), scoring.images):
            try:
                yield tree.where(key), tree.read(key)
            except (OSError, KeyError, DataError):  # changed since it was loaded: score the decoded pixels
                yield tree.where(key), image


def dataset_slug(dataset: FerDataset) -> str:
    """A short file-name-safe name of the dataset (its file or folder name, lower case, [a-z0-9-])."""
    name = Path(dataset.source).name if dataset.source else "dataset"
    for suffix in (".zip", ".csv"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40].strip("-")
    return slug or "dataset"


def evaluation_key(dataset: FerDataset, split: str, through_photo_path: bool) -> str:
    """`<dataset>-<fingerprint[:8]>-<split>[-photo]`: the `<split>` part of the stored evaluation file name."""
    key = f"{dataset_slug(dataset)}-{(dataset.fingerprint or 'unknown')[:8]}-{split}"
    return f"{key}-{PHOTO_PATH_TAG}" if through_photo_path else key


def head_tag(head: str, tta: str) -> str:
    """The `<head>` part of an evaluation file name (`softmax`, `softmax_tta-flip`), as `fer reproduce` names them."""
    return head if tta == "none" else f"{head}_tta-{tta}"


def evaluations_folder(checkpoint_dir: Path) -> RunPaths:
    """The run whose reports/ holds the checkpoint's evaluations (the checkpoint folder itself when it has no run)."""
    return run_of_checkpoint(checkpoint_dir) or RunPaths(checkpoint_dir)


def dataset_evaluation_keys(run: RunPaths) -> list[str]:
    """Keys of the other-dataset evaluations stored in a run's reports folder (for `stored.run_evaluations`)."""
    from fer_engine.evaluation.stored import evaluated_splits

    return [split for split in evaluated_splits(run) if split not in SPLIT_NAMES]


def evaluate_on_dataset(
    checkpoint: str | Path,
    dataset: FerDataset,
    split: str = ALL_SPLITS,
    *,
    through_photo_path: bool = False,
    head: str = SOFTMAX_HEAD,
    tta: str = "none",
    device: str = "auto",
    runs_root: str | Path | None = None,
    save: bool = True,
    on_progress: Callable[[int, int], None] | None = None,
) -> CrossDatasetResult:
    """Score `split` of any labelled face set with a checkpoint (folder, run folder or run id) and store it."""
    from fer_engine.device import resolve_device
    from fer_engine.models.checkpoint import resolve_checkpoint_dir
    from fer_engine.predict.predictor import Predictor

    checkpoint_dir = resolve_checkpoint_dir(checkpoint, runs_root)
    split_images(dataset, split)  # DataError naming an absent split before any model work
    predictor = Predictor.from_checkpoint(checkpoint_dir, head=head, tta=tta, device=str(resolve_device(device)))
    class_names = list(predictor.class_names)
    scoring = scoring_set(dataset, split, class_names)
    photo = None
    if through_photo_path:
        y_pred, photo = predict_photos(
            predictor, photo_sources(dataset, scoring), scoring.labels, class_names, on_progress
        )
    else:
        y_pred = predict_crops(predictor, scoring.images, on_progress)
    run = run_of_checkpoint(checkpoint_dir)
    protocol = (
        run_protocol(run)
        if run is not None
        else {
            "selected_on": predictor.card.extra.get("selected_on", "val"),
            "pretrained": bool(predictor.card.extra.get("pretrained")),
            "ensemble": False,
            "checkpoint": str(checkpoint_dir),
            "arch": predictor.card.arch,
        }
    )
    key = evaluation_key(dataset, split, through_photo_path)
    protocol.update(
        {
            "tta": tta,
            "data_source": dataset.source,
            "dataset_name": dataset_slug(dataset),
            "dataset_fingerprint": dataset.fingerprint,
            "dataset_split": split,
            "input": "photo path (detect, FER framing, eye levelling)" if through_photo_path else "face crops",
            "detector": predictor.detector_name if through_photo_path else None,
            "class_mapping": scoring.mapping,
            "skipped_classes": scoring.skipped_classes,
            "images_scored": int(len(scoring.labels)),
            "photo_path": photo.to_dict() if photo else None,
        }
    )
    metrics = present_class_metrics(scoring.labels, y_pred, class_names, split=key, head=head, protocol=protocol)
    result = CrossDatasetResult(metrics, scoring, photo, key)
    if save:
        result.path = evaluations_folder(checkpoint_dir).evaluation_file(key, head_tag(head, tta))
        atomic_write_json(result.path, metrics.to_dict())
    return result
