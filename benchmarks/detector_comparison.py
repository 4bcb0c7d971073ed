"""Compare the face detectors on real photos: detection rate per case, false positives, latency, FER framing.

    python3 benchmarks/detector_comparison.py                      # detection + latency tables
    FER2013_PATH=/work/shared/datasets/fer2013-dev.zip \\
        python3 benchmarks/detector_comparison.py --part all        # + FER2013 group shots and framing

Scenes are built in benchmarks/face_scenes.py from scikit-image's real photos (astronaut, LFW subset)
and face-free photos (coffee, the cat chelsea, rocket, ...). A detection matches a true face at
IoU >= 0.3 (detectors draw boxes of different extent, so the threshold is lenient). Prints markdown.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import face_scenes  # noqa: E402

from fer_engine.predict.detectors import FaceBox, available_detectors, create_detector, detect_faces  # noqa: E402
from fer_engine.predict.detectors.presence import FacePresenceModel, checked_faces  # noqa: E402
from fer_engine.predict.predictor import DEFAULT_MIN_FACE_SCORE  # noqa: E402

IOU_MATCH = 0.3


def match(detections, truths) -> tuple[int, int]:
    """(true faces found, detections that match no true face), greedy by IoU."""
    pairs = sorted(((FaceBox(*d).iou(FaceBox(*t)), i, j) for i, d in enumerate(detections) for j, t in enumerate(truths)), reverse=True)
    used_d, used_t = set(), set()
    for value, i, j in pairs:
        if value < IOU_MATCH:
            break
        if i not in used_d and j not in used_t:
            used_d.add(i)
            used_t.add(j)
    return len(used_t), len(detections) - len(used_d)


def build_scenes(fer_path: str | None) -> list[face_scenes.Scene]:
    scenes = face_scenes.astronaut_variants()
    scenes += [s for s in face_scenes.group_scenes(3, (640, 480), faces_per_scene=4, face_sizes=(40, 110))]
    for s in scenes[-3:]:
        s.case = "group 640x480 (4 faces)"
    big = face_scenes.group_scenes(4, (1920, 1080))
    for s in big:
        s.case = "group 1920x1080 (10 faces)"
    scenes += big
    if fer_path:
        fer = face_scenes.fer_group_scenes(fer_path, 3)
        for s in fer:
            s.case = "FER2013 crops 1920x1080"
        scenes += fer
    scenes += face_scenes.package_face_photos()
    for scene in face_scenes.negative_scenes():
        scene.case = "textures, objects, micrographs"
        scenes.append(scene)
    scenes += face_scenes.faceless_scenes()
    return scenes


class FaceChecked:
    """A detector followed by the predictor's face-presence check and duplicate merging (what `fer predict` uses)."""

    def __init__(self, detector, presence, min_face_score: float):
        self.detector, self.presence, self.min_face_score = detector, presence, min_face_score
        self.name = f"{detector.name}+check"

    def detect(self, rgb):
        return checked_faces(self.detector, rgb, self.presence, self.min_face_score)[0]


def threshold_table(detector, presence, scenes, thresholds=(0.1, 0.3, 0.5, 0.7, 0.9)) -> tuple[str, dict]:
    """Face scores of every box `detector` draws, split into true faces and others; faces kept at each threshold."""
    true_scores, false_scores, faceless_scores = [], [], []
    total = sum(len(s.faces) for s in scenes)
    for scene in scenes:
        boxes, scores, _ = checked_faces(detector, scene.image, presence, 0.0)
        for box, score in zip(boxes, scores):
            hit = any(box.iou(FaceBox(*t)) >= IOU_MATCH for t in scene.faces)
            (true_scores if hit else faceless_scores if not scene.faces else false_scores).append(score)
    text = (f"true-face boxes: {len(true_scores)}, face score min {min(true_scores, default=float('nan')):.3f}; "
            f"boxes on face-free photos: {len(faceless_scores)}, max {max(faceless_scores, default=float('nan')):.3f}; "
            f"other false boxes in face photos: {len(false_scores)}, max {max(false_scores, default=float('nan')):.3f}\n\n"
            "| min face score | true faces kept | boxes kept on face-free photos | false boxes kept in face photos |\n|---|---|---|---|\n")
    rows = {}
    for threshold in thresholds:
        rows[threshold] = [sum(v >= threshold for v in true_scores), sum(v >= threshold for v in faceless_scores),
                           sum(v >= threshold for v in false_scores)]
        text += f"| {threshold} | {rows[threshold][0]}/{total} | {rows[threshold][1]} | {rows[threshold][2]} |\n"
    figures = {"true": sorted(true_scores), "faceless": sorted(faceless_scores), "false_in_face_photos": sorted(false_scores),
               "by_threshold": rows}
    return text, figures


def duplicates(detections, truths) -> int:
    """Unmatched detections that still overlap a true face (IoU >= IOU_MATCH): the same face drawn twice."""
    found, _ = match(detections, truths)
    extra = len(detections) - found
    strays = sum(1 for d in detections if not any(FaceBox(*d).iou(FaceBox(*t)) >= IOU_MATCH for t in truths))
    return max(0, extra - strays)


def detection_table(detectors: dict, scenes) -> tuple[str, dict]:
    """Markdown table: per case, faces found / true faces; boxes on each kind of face-free photo; duplicates."""
    face_cases = list(dict.fromkeys(s.case for s in scenes if s.faces))
    faceless_cases = list(dict.fromkeys(s.case for s in scenes if not s.faces))
    # case -> [found, true faces, false boxes, photos, duplicate boxes]
    stats = {name: defaultdict(lambda: [0, 0, 0, 0, 0]) for name in detectors}
    for name, detector in detectors.items():
        for scene in scenes:
            boxes = [b.as_int_tuple() for b in detect_faces(detector, scene.image)]
            found, false_pos = match(boxes, scene.faces)
            entry = stats[name][scene.case]
            entry[0] += found
            entry[1] += len(scene.faces)
            entry[2] += false_pos
            entry[3] += 1
            entry[4] += duplicates(boxes, scene.faces)
    header = "| case | " + " | ".join(detectors) + " |\n|---|" + "---|" * len(detectors) + "\n"
    rows = []
    for case in face_cases:
        rows.append(f"| {case} | " + " | ".join(f"{stats[n][case][0]}/{stats[n][case][1]}" for n in detectors) + " |")
    totals = {n: (sum(stats[n][c][0] for c in face_cases), sum(stats[n][c][1] for c in face_cases)) for n in detectors}
    rows.append("| **all faces: detection rate** | " + " | ".join(f"**{100 * f / max(t, 1):.0f}%** ({f}/{t})" for f, t in totals.values()) + " |")
    for case in faceless_cases:
        photos = stats[next(iter(detectors))][case][3]
        rows.append(f"| boxes on face-free: {case} ({photos} photos) | " + " | ".join(str(stats[n][case][2]) for n in detectors) + " |")
    negatives = sum(1 for s in scenes if not s.faces)
    rows.append(f"| **boxes on all {negatives} face-free photos** | " + " | ".join(f"**{sum(stats[n][c][2] for c in faceless_cases)}**" for n in detectors) + " |")
    rows.append("| false boxes in face photos (of which the same face twice) | " + " | ".join(
        f"{sum(stats[n][c][2] for c in face_cases)} ({sum(stats[n][c][4] for c in face_cases)})" for n in detectors) + " |")
    summary = {n: {c: list(v) for c, v in stats[n].items()} for n in detectors}
    return header + "\n".join(rows), summary


def median_detect_ms(detector, image, repeats: int = 5) -> float:
    """Median milliseconds of `detect_faces` on `image`, after one warm-up call."""
    detect_faces(detector, image)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        detect_faces(detector, image)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def latency_table(detectors: dict, repeats: int = 5) -> tuple[str, dict]:
    """Median milliseconds per image at 640x480 (one face) and 1920x1080 (ten faces)."""
    small = face_scenes.astronaut_variants()[0].image
    large = face_scenes.group_scenes(1, (1920, 1080))[0].image
    results = {}
    for name, detector in detectors.items():
        results[name] = {label: median_detect_ms(detector, image, repeats)
                         for label, image in (("640x480", small), ("1920x1080", large))}
    text = "| detector | 640x480 (ms) | 1920x1080 (ms) |\n|---|---|---|\n"
    text += "\n".join(f"| {n} | {r['640x480']:.1f} | {r['1920x1080']:.1f} |" for n, r in results.items())
    return text, results


def framing_table(detectors: dict, fer_path: str, count: int, upscale: int = 4, canvas: int = 448) -> tuple[str, dict]:
    """Where each detector's box falls on FER2013 crops, relative to the crop: the FER framing constants.

    Each PublicTest image is upscaled `upscale`x (bicubic) and centred on a mid-grey canvas; for the
    best-scoring detection whose centre lies on the crop: width / crop side and the centre offset / crop
    side. Framing.scale = 1 / median(width ratio); Framing.offset = -median(centre offset).
    """
    images = face_scenes.read_fer_images(fer_path, count, seed=11)
    side = 48 * upscale
    origin = (canvas - side) // 2
    results = {}
    for name, detector in detectors.items():
        widths, heights, dxs, dys = [], [], [], []
        for gray in images:
            big = cv2.resize(gray, (side, side), interpolation=cv2.INTER_CUBIC)
            image = np.full((canvas, canvas, 3), 128, np.uint8)
            image[origin : origin + side, origin : origin + side] = big[:, :, None]
            boxes = [b for b in detect_faces(detector, image)
                     if origin <= b.center[0] <= origin + side and origin <= b.center[1] <= origin + side]
            if not boxes:
                continue
            box = max(boxes, key=lambda b: b.score)
            widths.append(box.w / side)
            heights.append(box.h / side)
            dxs.append((box.center[0] - (origin + side / 2)) / side)
            dys.append((box.center[1] - (origin + side / 2)) / side)
        if not widths:
            results[name] = {"detected": 0, "total": len(images)}
            continue
        results[name] = {
            "detected": len(widths), "total": len(images),
            "width_ratio_median": statistics.median(widths), "height_ratio_median": statistics.median(heights),
            "width_ratio_iqr": [float(np.percentile(widths, 25)), float(np.percentile(widths, 75))],
            "center_dx_median": statistics.median(dxs), "center_dy_median": statistics.median(dys),
            "scale": 1.0 / statistics.median(widths), "offset_x": -statistics.median(dxs), "offset_y": -statistics.median(dys),
        }
    text = ("| detector | FER crops detected | box width / crop (median, IQR) | box height / crop | centre dx / crop | centre dy / crop "
            "| Framing(scale, offset_x, offset_y) |\n|---|---|---|---|---|---|---|\n")
    for name, r in results.items():
        if "scale" not in r:
            text += f"| {name} | 0/{r['total']} | - | - | - | - | - |\n"
            continue
        text += (f"| {name} | {r['detected']}/{r['total']} | {r['width_ratio_median']:.3f} ({r['width_ratio_iqr'][0]:.3f}-{r['width_ratio_iqr'][1]:.3f}) "
                 f"| {r['height_ratio_median']:.3f} | {r['center_dx_median']:+.3f} | {r['center_dy_median']:+.3f} "
                 f"| ({r['scale']:.3f}, {r['offset_x']:+.3f}, {r['offset_y']:+.3f}) |\n")
    return text, results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", nargs="+", choices=["detection", "latency", "framing", "all"], default=["all"])
    parser.add_argument("--detectors", nargs="*", default=None, help=f"default: all of {', '.join(available_detectors())}")
    parser.add_argument("--framing-count", type=int, default=300, help="FER2013 PublicTest images for the framing part")
    parser.add_argument("--check", nargs="*", default=["blazeface", "blazeface_tiled"],
                        help="detectors also run with the face-presence check (as `fer predict` does)")
    parser.add_argument("--min-face-score", type=float, default=DEFAULT_MIN_FACE_SCORE, help="threshold of the check")
    parser.add_argument("--json", type=Path, default=None, help="also write all figures to this JSON file")
    args = parser.parse_args(argv)
    fer_path = os.environ.get("FER2013_PATH")
    detectors = {}
    for name in args.detectors or available_detectors():
        try:
            detectors[name] = create_detector(name)
        except Exception as exc:  # an optional detector whose package is absent
            print(f"skipping {name}: {exc}", file=sys.stderr)
    presence = FacePresenceModel()
    for name in args.check or []:
        if name in detectors:
            detectors[f"{name}+check"] = FaceChecked(detectors[name], presence, args.min_face_score)
    figures = {}
    print(f"cv2 {cv2.__version__}, detectors: {', '.join(detectors)}, cpu threads: {cv2.getNumThreads()}\n")
    parts = {"detection", "latency", "framing"} if "all" in args.part else set(args.part)
    if "detection" in parts:
        scenes = build_scenes(fer_path)
        text, figures["detection"] = detection_table(detectors, scenes)
        print(f"## Detection ({sum(len(s.faces) for s in scenes)} faces in {sum(1 for s in scenes if s.faces)} photos, "
              f"{sum(1 for s in scenes if not s.faces)} face-free photos; IoU >= {IOU_MATCH}; "
              f"+check = face score >= {args.min_face_score})\n\n{text}\n", flush=True)
        for name in args.check or []:
            if name in detectors:
                text, figures[f"threshold {name}"] = threshold_table(detectors[name], presence, scenes)
                print(f"## Face score of every {name} box (choosing --min-face-score)\n\n{text}", flush=True)
    if "latency" in parts:
        text, figures["latency"] = latency_table(detectors)
        print(f"## Latency (median of 5, detection only)\n\n{text}\n")
    if "framing" in parts:
        if not fer_path:
            print("## FER framing\n\nskipped: set FER2013_PATH to measure it\n")
        else:
            text, figures["framing"] = framing_table(detectors, fer_path, args.framing_count)
            print(f"## FER framing ({args.framing_count} PublicTest images, 4x upscaled on a grey 448x448 canvas)\n\n{text}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
