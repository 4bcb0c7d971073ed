"""`fer predict IMAGE_OR_FOLDER...`: expressions of every face in photos, as text or JSON Lines, with annotated copies.

Results are written as each image finishes (`--json`: one JSON object per line, flushed), so a batch
stopped late keeps every result already written; one unreadable image is one `error`, not a crash.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from fer_engine.errors import DataError
from fer_engine.inference import TTA_MODES


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `fer predict`."""
    from fer_engine.predict.detectors import DEFAULT_DETECTOR, available_detectors
    from fer_engine.predict.predictor import DEFAULT_MIN_FACE_SCORE

    parser = subparsers.add_parser("predict", help="detect faces in photos and predict their expressions")
    parser.add_argument(
        "inputs", nargs="+", metavar="IMAGE_OR_FOLDER", help="image files and/or folders (walked for images)"
    )
    parser.add_argument(
        "--checkpoint", default=None, help="checkpoint folder, run folder or run id (default: the shipped model)"
    )
    parser.add_argument(
        "--head",
        default="softmax",
        help="softmax, or a classical head fitted in the run with `fer heads` (unknown names are refused)",
    )
    parser.add_argument(
        "--detector",
        default=DEFAULT_DETECTOR,
        choices=available_detectors(),
        help=f"face detector (default {DEFAULT_DETECTOR})",
    )
    parser.add_argument(
        "--tta",
        default="none",
        choices=TTA_MODES,
        nargs="?",
        const="flip",
        help="test-time augmentation; a bare --tta means flip",
    )
    parser.add_argument("--no-align", action="store_true", help="do not rotate faces so the eyes are level")
    parser.add_argument(
        "--precision",
        default="auto",
        choices=["auto", "bf16", "fp32"],
        help="classifier arithmetic; auto = bf16 on CPUs with AMX/AVX512-bf16 (fp32 matches `fer evaluate`)",
    )
    parser.add_argument("--device", default="cpu", help="cpu, auto or cuda:N")
    parser.add_argument(
        "--min-face-score",
        type=float,
        default=DEFAULT_MIN_FACE_SCORE,
        metavar="P",
        help=f"face probability (0-1) a detected box needs to be classified (default {DEFAULT_MIN_FACE_SCORE}; "
        "0 keeps every box)",
    )
    parser.add_argument(
        "--no-face-check",
        action="store_true",
        help="skip the face-presence check; the face score is then the detector's own score",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print JSON Lines: one object per input image, one per line, written as each image finishes",
    )
    parser.add_argument(
        "--annotate", metavar="OUTDIR", default=None, help="write copies with boxes and labels here (PNG)"
    )
    parser.add_argument(
        "--saliency", metavar="OUTDIR", default=None, help="write a Grad-CAM overlay per face here (PNG)"
    )
    parser.set_defaults(func=predict_command)


def predict_command(args: argparse.Namespace) -> int:
    """Predict every input; exit 1 only when no input could be read at all."""
    from fer_engine.device import resolve_device
    from fer_engine.predict.image_io import find_image_files
    from fer_engine.predict.predictor import Predictor, check_min_face_score, short_error

    files = find_image_files(args.inputs)
    if not files:
        raise DataError(f"no image files found in {', '.join(args.inputs)}")
    predictor = Predictor.from_checkpoint(
        args.checkpoint,
        head=args.head,
        detector=args.detector,
        tta=args.tta,
        device=str(resolve_device(args.device)),
        align_eyes=not args.no_align,
        precision=args.precision,
        min_face_score=check_min_face_score(args.min_face_score),
        check_faces=not args.no_face_check,
    )
    writer = _OutputWriter(args.annotate, args.saliency, predictor)
    failed = 0
    for path in files:
        result, rgb = predictor.predict_source(path)
        if rgb is not None:
            try:
                writer.write(rgb, result)
            except Exception as exc:  # noqa: BLE001 - a full disk or odd name loses this image's copies, not the batch
                result.error = short_error(f"results computed, but the annotated copies could not be written: {exc}")
        failed += result.error is not None
        line = json.dumps(result.to_json()) if args.json else _describe(result)
        print(line, flush=True)
    if failed:
        print(f"fer predict: {failed} of {len(files)} input(s) could not be read", file=sys.stderr)
    return 1 if failed == len(files) else 0


def _describe(result) -> str:
    """One human-readable line per image."""
    if result.error:
        return f"{result.image}: error: {result.error}"
    skipped = f" ({result.skipped} box(es) below the face score threshold)" if result.skipped else ""
    if not result.faces:
        return f"{result.image}: no face found{skipped}"
    faces = "; ".join(
        f"{face.label} {face.probabilities[face.label]:.2f} at {list(face.box)} (face {face.face_score:.2f})"
        for face in result.faces
    )
    return f"{result.image}: {len(result.faces)} face(s): {faces}{skipped}"


class _OutputWriter:
    """Writes annotated copies and Grad-CAM overlays under sanitised, unique names (atomically)."""

    def __init__(self, annotate_dir: str | None, saliency_dir: str | None, predictor):
        self.annotate_dir = Path(annotate_dir) if annotate_dir else None
        self.saliency_dir = Path(saliency_dir) if saliency_dir else None
        self.predictor = predictor
        self.taken_annotate: set[str] = set()
        self.taken_saliency: set[str] = set()

    def write(self, rgb, result) -> None:
        from PIL import Image

        from fer_engine.predict.annotate import annotate, safe_output_name, save_png
        from fer_engine.predict.saliency import grad_cam

        if self.annotate_dir:
            name = safe_output_name(result.image, "_annotated.png", self.taken_annotate)
            save_png(annotate(rgb, result), self.annotate_dir / name)
        if self.saliency_dir:
            for index, face in enumerate(result.faces):
                name = safe_output_name(result.image, f"_face{index}_gradcam.png", self.taken_saliency)
                saliency = grad_cam(self.predictor.model, face.crop)
                save_png(Image.fromarray(saliency.overlay), self.saliency_dir / name)
