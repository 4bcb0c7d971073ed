"""`fer predict-video VIDEO`: expressions of every face over time, with stable track ids, as a table (CSV/JSON),
a per-face summary, and an annotated video that browsers play.

Exit status: 0 when the whole video was analysed; 1 when decoding stopped part-way (every result before the
bad spot is still written, and the reason printed); 2 (FerError) when the file cannot be used at all.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys

from fer_engine.inference import TTA_MODES

for _package in ("av", "trackers", "supervision"):  # checked, not imported: `fer` starts fast
    if importlib.util.find_spec(_package) is None:  # `fer` then lists the command as unavailable, naming the package
        raise ModuleNotFoundError(f"No module named '{_package}'", name=_package)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `fer predict-video`."""
    from fer_engine.predict.detectors import DEFAULT_DETECTOR, available_detectors
    from fer_engine.predict.predictor import DEFAULT_MIN_FACE_SCORE
    from fer_engine.video.limits import DEFAULT_MAX_MB, DEFAULT_MAX_PIXELS, DEFAULT_MAX_SECONDS
    from fer_engine.video.smooth import DEFAULT_TIME_CONSTANT
    from fer_engine.video.track import DEFAULT_MAX_MISS_SECONDS

    parser = subparsers.add_parser("predict-video", help="expressions of every face over time in a video file")
    parser.add_argument(
        "video", metavar="VIDEO", help="a video file (MP4, WebM, MOV, AVI, MKV...: anything FFmpeg reads)"
    )
    parser.add_argument("--every", type=int, default=1, metavar="N", help="analyse every Nth frame (default 1: all)")
    parser.add_argument(
        "--json", metavar="OUT", default=None, help="write the summary and per-frame table as JSON here"
    )
    parser.add_argument("--csv", metavar="OUT", default=None, help="write the per-frame, per-face table as CSV here")
    parser.add_argument(
        "--annotate",
        metavar="OUT",
        default=None,
        help="write the video with boxes, track ids and labels here (.mp4: H.264, .webm: VP9)",
    )
    parser.add_argument(
        "--smooth",
        type=float,
        default=DEFAULT_TIME_CONSTANT,
        metavar="SECONDS",
        help=f"time constant of each face's moving average of probabilities (default {DEFAULT_TIME_CONSTANT}; 0: none)",
    )
    parser.add_argument(
        "--max-miss",
        type=float,
        default=DEFAULT_MAX_MISS_SECONDS,
        metavar="SECONDS",
        help=f"a face unseen longer than this gets a new track id (default {DEFAULT_MAX_MISS_SECONDS})",
    )
    parser.add_argument(
        "--max-mb",
        type=float,
        default=None,
        help=f"largest file accepted (default FER_VIDEO_MAX_MB or {DEFAULT_MAX_MB:g})",
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=None,
        help=f"longest video accepted (default FER_VIDEO_MAX_SECONDS or {DEFAULT_MAX_SECONDS:g})",
    )
    parser.add_argument(
        "--max-pixels",
        type=int,
        default=None,
        help=f"largest frame, width x height (default FER_VIDEO_MAX_PIXELS or {DEFAULT_MAX_PIXELS})",
    )
    parser.add_argument(
        "--checkpoint", default=None, help="checkpoint folder, run folder or run id (default: the shipped model)"
    )
    parser.add_argument(
        "--detector",
        default=DEFAULT_DETECTOR,
        choices=available_detectors(),
        help=f"face detector (default {DEFAULT_DETECTOR})",
    )
    parser.add_argument("--tta", default="none", choices=TTA_MODES, help="test-time augmentation of each face")
    parser.add_argument("--precision", default="auto", choices=["auto", "bf16", "fp32"], help="classifier arithmetic")
    parser.add_argument("--device", default="cpu", help="cpu, auto or cuda:N")
    parser.add_argument(
        "--min-face-score",
        type=float,
        default=DEFAULT_MIN_FACE_SCORE,
        metavar="P",
        help=f"face probability a box needs to be classified and tracked (default {DEFAULT_MIN_FACE_SCORE})",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress line on stderr")
    parser.set_defaults(func=predict_video_command)


def predict_video_command(args: argparse.Namespace) -> int:
    from fer_engine.device import resolve_device
    from fer_engine.predict.predictor import Predictor, check_min_face_score
    from fer_engine.video.limits import VideoLimits
    from fer_engine.video.pipeline import analyse_video
    from fer_engine.video.records import write_records_csv

    limits = VideoLimits.from_env(max_mb=args.max_mb, max_seconds=args.max_seconds, max_pixels=args.max_pixels)
    predictor = Predictor.from_checkpoint(
        args.checkpoint,
        detector=args.detector,
        tta=args.tta,
        device=str(resolve_device(args.device)),
        precision=args.precision,
        min_face_score=check_min_face_score(args.min_face_score),
    )
    progress = None if args.quiet else _progress_line
    analysis = analyse_video(
        args.video,
        predictor,
        every=args.every,
        limits=limits,
        annotate_to=args.annotate,
        time_constant=args.smooth,
        max_miss_seconds=args.max_miss,
        on_progress=progress,
    )
    if progress:
        print(file=sys.stderr)
    if args.csv:
        write_records_csv(args.csv, analysis.records, analysis.class_names)
    if args.json:
        analysis.write_json(args.json)
    for line in describe(analysis):
        print(line)
    if analysis.error:
        print(f"fer predict-video: {analysis.error}", file=sys.stderr)
        return 1
    return 0


def describe(analysis) -> list[str]:
    """Human-readable lines: the video, then one line per face (track) with its share of time per expression."""
    info = analysis.info
    length = f"{info.duration:.1f} s" if info.duration is not None else "unknown length"
    lines = [
        f"{info.name}: {info.width}x{info.height}, {info.fps:.2f} fps, {length}; analysed "
        f"{analysis.frames_analysed} of {analysis.frames_decoded} frame(s) in {analysis.seconds:.1f} s; "
        f"{len(analysis.tracks)} face track(s)"
    ]
    for track in analysis.tracks:
        shares = ", ".join(
            f"{name} {share:.0%}" for name, share in sorted(track.share.items(), key=lambda kv: -kv[1]) if share > 0
        )
        lines.append(
            f"  face #{track.track_id}: {track.first_time:.2f}-{track.last_time:.2f} s, {track.frames} frame(s): {shares}"
        )
    if analysis.annotated:
        lines.append(f"annotated video: {analysis.annotated}")
    return lines


def _progress_line(fraction: float) -> None:
    print(f"\ranalysing: {fraction:4.0%}", end="", file=sys.stderr, flush=True)
