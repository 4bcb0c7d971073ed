"""Video speed on this CPU: frames per second of `fer predict-video` at 640x480, every frame analysed, with one
face and with four, and the live camera's delay from frame to drawn label.

    python3 benchmarks/video_speed.py                 # 4 s clips at 25 fps, the shipped model
    python3 benchmarks/video_speed.py --seconds 8 --threads 2

Clips are made from real face photos that ship with scikit-image (the astronaut and LFW faces), moving and
zooming (fer_engine/video/synthetic.py), encoded as H.264. Rows: the whole pipeline (decode -> detect -> face
check -> classify -> track -> smooth), the same plus drawing and H.264 encoding of the annotated video, and
`LiveAnnotator.process` per camera frame. Targets: >= 25 fps with one face; live delay < 100 ms. The machine is
shared: the load average printed beside the figures says how busy it was. Prints a markdown table; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
import skimage.data
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fer_engine.predict.predictor import Predictor  # noqa: E402
from fer_engine.video.live import LiveAnnotator  # noqa: E402
from fer_engine.video.pipeline import analyse_video  # noqa: E402
from fer_engine.video.synthetic import FacePath, render_frames, write_video  # noqa: E402

SIZE = (640, 480)


def face_paths(count: int, seconds: float) -> list[FacePath]:
    """`count` faces (1 or 4), each drifting and zooming within its own part of the frame."""
    astronaut = skimage.data.astronaut()[0:300, 90:390]
    lfw = [cv2.resize((skimage.data.lfw_subset()[i] * 255).astype(np.uint8), (150, 150), interpolation=cv2.INTER_CUBIC)
           for i in (10, 25, 97)]
    if count == 1:
        return [FacePath(astronaut, 0, seconds, (250, 220), (390, 260), 170, 210)]
    centres = [(170, 130), (470, 130), (170, 350), (470, 350)]
    return [FacePath(image, 0, seconds, (x - 20, y), (x + 20, y + 10), 120, 140)
            for image, (x, y) in zip([astronaut, *lfw], centres)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each clip (default 4)")
    parser.add_argument("--fps", type=float, default=25.0, help="frame rate of the clips (default 25)")
    parser.add_argument("--checkpoint", default=None, help="model to time (default: the shipped one)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    predictor = Predictor.from_checkpoint(args.checkpoint)
    load_before = os.getloadavg()
    print(f"CPU: {os.cpu_count()} cores, torch threads {torch.get_num_threads()}, classifier precision "
          f"{predictor.precision}; load average before: {load_before[0]:.2f}\n")
    print("| clip (640x480, every frame) | frames | faces per frame | frames/s | ms per frame |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as scratch:
        for count in (1, 4):
            clip = write_video(Path(scratch) / f"faces{count}.mp4",
                               render_frames(face_paths(count, args.seconds), seconds=args.seconds, fps=args.fps, size=SIZE),
                               fps=args.fps)
            analyse_video(clip, predictor)  # warm-up: first calls build kernels
            for annotated in (False, True):
                out = Path(scratch) / "annotated.mp4" if annotated else None
                result = analyse_video(clip, predictor, annotate_to=out)
                faces = len(result.records) / max(result.frames_analysed, 1)
                fps = result.frames_analysed / result.seconds
                what = "analysis + annotated H.264" if annotated else "analysis"
                print(f"| {count} face(s), {what} | {result.frames_analysed} | {faces:.2f} | {fps:.1f} | {1000 / fps:.1f} |")
        live = LiveAnnotator(predictor)
        frames = list(render_frames(face_paths(1, args.seconds), seconds=min(args.seconds, 2.0), fps=args.fps, size=SIZE))
        delays = [live.process(frame).latency_ms for frame in frames]
        print(f"\nlive camera, 1 face: median delay from frame to drawn label {statistics.median(delays[2:]):.1f} ms "
              f"(max {max(delays[2:]):.1f} ms) over {len(delays) - 2} frames")
    load_after = os.getloadavg()
    print(f"load average after: {load_after[0]:.2f} (1 min), {load_after[1]:.2f} (5 min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
