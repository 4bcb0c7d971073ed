"""Sweep the `blazeface` pyramid's settings on the detector-comparison scenes: faces found, false faces, time.

    FER2013_PATH=/work/shared/datasets/fer2013-dev.zip python3 benchmarks/detector_pyramid_sweep.py

Chose FINEST_SCALE and FINE_MIN_SCORE in fer_engine/predict/detectors/blazeface_pyramid.py (docs/detectors.md).
Same scenes and matching as benchmarks/detector_comparison.py; prints a markdown table, asserts nothing.
`--check` counts what `fer predict` keeps: boxes after the face-presence check (face score >= 0.5); the
times then include the check on every box of the timed photos.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import detector_comparison  # noqa: E402
import face_scenes  # noqa: E402

from fer_engine.predict.detectors import detect_faces  # noqa: E402
from fer_engine.predict.detectors.blazeface_pyramid import BlazeFacePyramidDetector  # noqa: E402
from fer_engine.predict.detectors.presence import FacePresenceModel  # noqa: E402
from fer_engine.predict.predictor import DEFAULT_MIN_FACE_SCORE  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--finest", type=float, nargs="+", default=[0.4, 0.5, 0.6])
    parser.add_argument("--fine-scores", type=float, nargs="+", default=[0.5, 0.6, 0.65, 0.75])
    parser.add_argument("--base-scores", type=float, nargs="+", default=[0.5], help="score of the whole-photo pass")
    parser.add_argument("--check", action="store_true", help="apply the face-presence check, as `fer predict` does")
    args = parser.parse_args(argv)
    presence = FacePresenceModel() if args.check else None
    scenes = detector_comparison.build_scenes(os.environ.get("FER2013_PATH"))
    small = face_scenes.astronaut_variants()[0].image
    large = face_scenes.group_scenes(1, (1920, 1080))[0].image
    print("| finest scale | score for whole / finer passes | faces found | false faces on face-free photos | in face photos "
          "| 640x480 ms | 1920x1080 ms |\n|---|---|---|---|---|---|---|")
    for finest, fine, base in [(f, s, b) for f in args.finest for s in args.fine_scores for b in args.base_scores]:
            raw = BlazeFacePyramidDetector(finest_scale=finest, fine_min_confidence=fine, min_confidence=base)
            detector = detector_comparison.FaceChecked(raw, presence, DEFAULT_MIN_FACE_SCORE) if presence else raw
            found = total = false_free = false_faces = 0
            for scene in scenes:
                boxes = [b.as_int_tuple() for b in detect_faces(detector, scene.image)]
                hits, false_pos = detector_comparison.match(boxes, scene.faces)
                if scene.faces:
                    found, total, false_faces = found + hits, total + len(scene.faces), false_faces + false_pos
                else:
                    false_free += false_pos
            print(f"| {finest} | {base} / {fine} | {100 * found / total:.0f}% ({found}/{total}) | {false_free} | {false_faces} "
                  f"| {detector_comparison.median_detect_ms(detector, small, 7):.1f} | {detector_comparison.median_detect_ms(detector, large, 7):.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
