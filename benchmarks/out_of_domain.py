"""Out-of-domain checks of a model (default: the shipped one) through the product's photo path.

FER2013 PublicTest faces are composed into larger photos (a real face-free texture, in grey like the faces)
and changed one way at a time: face size, crop margin (canvas around the face), blur, noise, JPEG quality,
gamma. Each photo goes through detection, FER framing and eye levelling as `fer predict` does
(`cross_dataset.frame_faces`; the crops are classified in batches); a photo whose pasted face is not found
counts as a wrong prediction. The faces are a
seeded random subset and the grid below was fixed before any figure was seen: nothing here is chosen on the
test split. Real photos bundled with scikit-image (the astronaut; Labeled Faces in the Wild crops and their
non-face patches) carry no expression labels, so only their detection rates are printed.

Usage: FER2013_PATH=/path/fer2013.zip python benchmarks/out_of_domain.py --n 500 --seed 0
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import skimage.data

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import face_scenes  # noqa: E402

from fer_engine.evaluation.cross_dataset import (  # noqa: E402
    NO_FACE,
    frame_faces,
    predict_crops,
    present_class_metrics,
)
from fer_engine.paths import default_checkpoint_dir  # noqa: E402

FACE_PX = 160
MARGIN = 1.0


@dataclass(frozen=True)
class Condition:
    """One way of showing the faces: face side in pixels, margin (canvas side = face * (1 + 2 margin)), one change."""

    group: str
    value: str
    face_px: int = FACE_PX
    margin: float = MARGIN
    blur_sigma: float = 0.0
    noise_sigma: float = 0.0
    jpeg_quality: int | None = None
    gamma: float = 1.0


CONDITIONS = (
    Condition("reference", f"{FACE_PX} px face, margin {MARGIN:g}"),
    Condition("scale", "48 px", face_px=48),
    Condition("scale", "96 px", face_px=96),
    Condition("scale", "320 px", face_px=320),
    Condition("margin", "0.25", margin=0.25),
    Condition("margin", "3", margin=3.0),
    Condition("blur", "sigma 1.5", blur_sigma=1.5),
    Condition("blur", "sigma 3", blur_sigma=3.0),
    Condition("noise", "sigma 10", noise_sigma=10.0),
    Condition("noise", "sigma 25", noise_sigma=25.0),
    Condition("jpeg", "quality 30", jpeg_quality=30),
    Condition("jpeg", "quality 10", jpeg_quality=10),
    Condition("gamma", "0.5 (brighter)", gamma=0.5),
    Condition("gamma", "2.0 (darker)", gamma=2.0),
)


def compose(face: np.ndarray, condition: Condition, seed: int) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """A grey RGB photo holding the 48x48 `face` scaled to `face_px`, and the face's box (x, y, w, h)."""
    side = condition.face_px
    canvas_side = int(round(side * (1 + 2 * condition.margin)))
    texture = cv2.cvtColor(face_scenes.background(canvas_side, canvas_side, seed), cv2.COLOR_RGB2GRAY)
    rng = np.random.default_rng(seed)
    slack = (canvas_side - side) // 4  # the face is near the centre, not always exactly on it
    x = (canvas_side - side) // 2 + int(rng.integers(-slack, slack + 1))
    y = (canvas_side - side) // 2 + int(rng.integers(-slack, slack + 1))
    interpolation = cv2.INTER_CUBIC if side >= face.shape[0] else cv2.INTER_AREA
    texture[y : y + side, x : x + side] = cv2.resize(face, (side, side), interpolation=interpolation)
    return perturb(texture, condition, rng), (x, y, side, side)


def perturb(gray: np.ndarray, condition: Condition, rng: np.random.Generator) -> np.ndarray:
    """The condition's one change (gamma, blur, noise, JPEG), applied to the whole photo; returned as RGB."""
    image = gray.astype(np.float32)
    if condition.gamma != 1.0:
        image = 255.0 * (image / 255.0) ** condition.gamma
    if condition.blur_sigma:
        image = cv2.GaussianBlur(image, (0, 0), condition.blur_sigma)
    if condition.noise_sigma:
        image = image + rng.normal(0, condition.noise_sigma, image.shape)
    image = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    if condition.jpeg_quality is not None:
        ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, condition.jpeg_quality])
        image = cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE)
    return np.stack([image] * 3, axis=-1)


def pasted_face_crop(predictor, rgb: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray | None:
    """The photo-path crop of the largest detected face centred inside the pasted face's box, else None."""
    x, y, w, h = box
    boxes, crops = frame_faces(predictor, rgb)
    inside = [i for i, face in enumerate(boxes)
              if x <= face.x + face.w / 2 <= x + w and y <= face.y + face.h / 2 <= y + h]
    return crops[max(inside, key=lambda i: boxes[i].w * boxes[i].h)] if inside else None


def score(labels: np.ndarray, predictions: np.ndarray, class_names: list[str]) -> dict[str, float]:
    """Accuracy and macro-F1 counting no-face as wrong, faces found, and accuracy on the found faces."""
    metrics = present_class_metrics(labels, predictions, class_names, split="ood", head="softmax", protocol={})
    found = predictions != NO_FACE
    return {"found": float(found.mean()), "accuracy": metrics.accuracy, "macro_f1": metrics.macro_f1,
            "accuracy_found": float((predictions[found] == labels[found]).mean()) if found.any() else 0.0}


def photo_predictions(predictor, faces: np.ndarray, condition: Condition, seed: int) -> np.ndarray:
    """Class ids of the faces shown under `condition` through the photo path; NO_FACE where it missed the face."""
    rows, crops = [], []
    for index, face in enumerate(faces):
        rgb, box = compose(face, condition, seed * 100_003 + index)
        crop = pasted_face_crop(predictor, rgb, box)
        if crop is not None:
            rows.append(index)
            crops.append(crop)
    predictions = np.full(len(faces), NO_FACE, dtype=np.int64)
    if crops:
        predictions[np.array(rows)] = predict_crops(predictor, np.stack(crops))
    return predictions


def detection_rates(predictor) -> list[tuple[str, int, int]]:
    """(what, photos with a face found, photos) on scikit-image's real photos (no expression labels)."""
    rows = [("astronaut (512x512 colour photo)", int(bool(frame_faces(predictor, skimage.data.astronaut())[0])), 1)]
    lfw = (skimage.data.lfw_subset() * 255).astype(np.uint8)  # 100 faces, then 100 non-face patches, 25x25
    for name, patches in (("LFW faces, 25 px -> 100 px on a 300 px texture", lfw[:100]),
                          ("LFW non-face patches, same (false faces)", lfw[100:])):
        hits = 0
        for index, patch in enumerate(patches):
            rgb, box = compose(patch, Condition("lfw", "", face_px=100), 7_000 + index)
            hits += pasted_face_crop(predictor, rgb, box) is not None
        rows.append((name, hits, len(patches)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=os.environ.get("FER2013_PATH"), help="FER2013 source (default $FER2013_PATH)")
    parser.add_argument("--checkpoint", default=str(default_checkpoint_dir()), help="model (default: the shipped one)")
    parser.add_argument("--n", type=int, default=500, help="PublicTest faces, a seeded random subset")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--groups", nargs="*", default=None, help="only these perturbation groups")
    args = parser.parse_args()
    if not args.data:
        parser.error("pass --data or set FER2013_PATH to a FER2013 source")

    from fer_engine.data import load_dataset
    from fer_engine.predict.predictor import Predictor

    started = time.perf_counter()
    split = load_dataset(args.data).split("val")
    chosen = np.sort(np.random.default_rng(args.seed).choice(len(split), min(args.n, len(split)), replace=False))
    faces, labels = split.images[chosen], split.labels[chosen]
    predictor = Predictor.from_checkpoint(args.checkpoint)
    class_names = list(predictor.class_names)
    print(f"model {args.checkpoint} ({predictor.card.arch}, precision {predictor.precision}), detector "
          f"{predictor.detector_name}; {len(faces)} PublicTest faces (seed {args.seed})")
    crops = score(labels, predict_crops(predictor, faces), class_names)
    print(f"\n48x48 crops fed directly (as `fer evaluate`): accuracy {crops['accuracy'] * 100:.1f}%  "
          f"macro-F1 {crops['macro_f1']:.3f}")
    print("\nphoto path (no face found = wrong):")
    print(f"{'perturbation':<10} {'value':<26} {'found':>6} {'accuracy':>9} {'macro-F1':>9} {'acc|found':>10} {'s':>5}")
    group = None
    for condition in CONDITIONS:
        if args.groups and condition.group not in args.groups and condition.group != "reference":
            continue
        tick = time.perf_counter()
        result = score(labels, photo_predictions(predictor, faces, condition, args.seed), class_names)
        if group is not None and condition.group != group:
            print()
        group = condition.group
        print(f"{condition.group:<10} {condition.value:<26} {result['found'] * 100:>5.1f}% "
              f"{result['accuracy'] * 100:>8.1f}% {result['macro_f1']:>9.3f} {result['accuracy_found'] * 100:>9.1f}% "
              f"{time.perf_counter() - tick:>5.0f}", flush=True)
    print("\nreal photos bundled with scikit-image (no expression labels: detection only)")
    for name, hits, total in detection_rates(predictor):
        print(f"  {name:<52} {hits:>3}/{total} with a face found")
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
