"""Prediction speed on CPU: per-face classification (PyTorch fp32 / bf16 autocast / ONNX Runtime) and end to end.

    python3 benchmarks/predict_speed.py                          # vgg19_bn (random weights) + end to end
    python3 benchmarks/predict_speed.py --checkpoint RUN_OR_DIR  # also that checkpoint's architecture

Speed does not depend on the weights, so architectures are timed with random weights. End to end =
JPEG bytes -> decode -> detect -> face check (all boxes in one batched face-presence call) -> crop ->
classify (one batched forward), the model loaded once; each stage is also timed alone. Photos are built
from real photos (benchmarks/face_scenes.py): 640x480 with one face, 1920x1080 with ten. Targets on the
2-core development machine: one face < 30 ms, ten faces < 100 ms. Prints markdown tables and the load
average at start and end (other processes inflate every figure); asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import face_scenes  # noqa: E402

from fer_engine.models import create_model  # noqa: E402
from fer_engine.models.checkpoint import ModelCard, load_checkpoint, save_checkpoint  # noqa: E402
from fer_engine.predict.onnx_export import INPUT_NAME, OUTPUT_NAME, ProbabilityModel, export_onnx  # noqa: E402


def median_ms(function, repeats: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def classification_rows(label: str, model: torch.nn.Module, card: ModelCard, repeats: int) -> list[str]:
    """Batch-1 latency and batch-64 throughput for fp32, bf16 autocast and ONNX Runtime."""
    import onnxruntime as ort

    wrapped = ProbabilityModel(model).eval()
    one = torch.rand(1, 1, 48, 48)
    batch = torch.rand(64, 1, 48, 48)
    rows = []

    def torch_runner(inputs, bf16: bool):
        def run():
            with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                wrapped(inputs)
        return run

    for name, bf16 in (("PyTorch fp32", False), ("PyTorch bf16 autocast", True)):
        latency = median_ms(torch_runner(one, bf16), repeats)
        batch_ms = median_ms(torch_runner(batch, bf16), max(3, repeats // 4))
        rows.append(f"| {label} | {name} | {latency:.1f} | {64000 / batch_ms:.0f} |")
    with tempfile.TemporaryDirectory() as tmp:
        path = export_onnx(model, card, Path(tmp) / "model.onnx")
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        one_np, batch_np = one.numpy(), batch.numpy()
        latency = median_ms(lambda: session.run([OUTPUT_NAME], {INPUT_NAME: one_np}), repeats)
        batch_ms = median_ms(lambda: session.run([OUTPUT_NAME], {INPUT_NAME: batch_np}), max(3, repeats // 4))
        rows.append(f"| {label} | ONNX Runtime | {latency:.1f} | {64000 / batch_ms:.0f} |")
    return rows


def end_to_end_rows(checkpoint: Path, detector: str, precision: str, repeats: int) -> list[tuple[str, str, float]]:
    """Median end-to-end ms for the one-face 640x480 and ten-face 1920x1080 JPEGs, with each stage timed alone.

    Returns (photo, table row, total ms) per photo. Stages: decode (JPEG -> RGB), detect (BlazeFace pyramid),
    face check (all boxes in one batched LiteRT call), crop (FER-framed 48x48 crops), classify (one batched
    forward of all faces); "rest" is the total minus the stages (reading order, result objects). Each stage
    is the median of its own repeats.
    """
    from fer_engine.predict.predictor import Predictor

    predictor = Predictor.from_checkpoint(checkpoint, detector=detector, precision=precision)
    one_face = face_scenes.astronaut_variants((640, 480))[0]
    ten_faces = face_scenes.group_scenes(1, (1920, 1080))[0]
    return [photo_row(predictor, scene, target, repeats) for scene, target in ((one_face, 30), (ten_faces, 100))]


def photo_row(predictor, scene, target: int, repeats: int) -> tuple[str, str, float]:
    """(photo, table row, total ms) of one photo: the whole pipeline, then each stage alone."""
    from fer_engine.predict.detectors import detect_faces
    from fer_engine.predict.framing import crop_face_fer, framing_for
    from fer_engine.predict.image_io import read_rgb

    data = face_scenes.encode_jpeg(scene.image)
    found = len(predictor.predict_image(data).faces)
    total = median_ms(lambda: predictor.predict_image(data), repeats)
    decode = median_ms(lambda: read_rgb(data), repeats)
    rgb = read_rgb(data)
    detect = median_ms(lambda: detect_faces(predictor.detector, rgb), repeats)
    boxes = detect_faces(predictor.detector, rgb)
    check = median_ms(lambda: predictor.presence_model.scores(rgb, boxes), repeats)
    kept = predictor.face_boxes(rgb)[0]
    framing = framing_for(predictor.detector_name)

    def crops() -> np.ndarray:
        return np.stack([crop_face_fer(rgb, box, framing, align_eyes=predictor.align_eyes) for box in kept])

    crop = median_ms(crops, repeats) if kept else 0.0
    faces = crops() if kept else None
    classify = median_ms(lambda: predictor.classify(faces), repeats) if kept else 0.0
    rest = total - decode - detect - check - crop - classify
    height, width = scene.image.shape[:2]
    photo = f"{width}x{height}, {len(scene.faces)} face(s)"
    return (photo, f"| {photo} | {predictor.detector_name} | {predictor.precision} | {found} | {total:.1f} | {decode:.1f} "
                   f"| {detect:.1f} | {check:.1f} ({len(boxes)} boxes) | {crop:.1f} | {classify:.1f} | {rest:.1f} | < {target} |", total)


def precision_agreement(checkpoint: Path, data: str) -> str:
    """PublicTest accuracy of the checkpoint in fp32, bf16 autocast and the predictor's bf16 path; label agreement.

    The predictor's bf16 path (what photos get) runs a copy with weights cast once, in channels_last
    (fer_engine/predict/inference_copy.py): it differs from plain autocast by the summation order only.
    """
    from fer_engine.data.loader import load_dataset
    from fer_engine.inference import run_inference
    from fer_engine.predict.predictor import Predictor

    split = load_dataset(data).split("val")
    predictor = Predictor.from_checkpoint(checkpoint, detector=None, precision="bf16")
    labels = {precision: run_inference(predictor.model, split.images, batch_size=256, precision=precision).logits.argmax(1)
              for precision in ("fp32", "bf16")}
    labels["photos"] = predictor.classify(split.images)[0].argmax(1)
    accuracy = {name: 100 * float((value == split.labels).mean()) for name, value in labels.items()}

    def agree(a: str, b: str) -> str:
        same = labels[a] == labels[b]
        return f"{100 * float(same.mean()):.2f}% ({int((~same).sum())} differ)"

    return (f"PublicTest ({len(split.labels)} faces, no TTA): accuracy fp32 {accuracy['fp32']:.2f}%, bf16 autocast "
            f"{accuracy['bf16']:.2f}%, predictor bf16 path {accuracy['photos']:.2f}%. Same label: bf16 autocast vs fp32 "
            f"{agree('bf16', 'fp32')}; predictor bf16 path vs bf16 autocast {agree('photos', 'bf16')}, vs fp32 {agree('photos', 'fp32')}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default=None, help="also time this checkpoint, and use it end to end")
    parser.add_argument("--archs", nargs="*", default=["vgg19_bn"], help="architectures timed with random weights")
    parser.add_argument("--detectors", nargs="*", default=["blazeface", "blazeface_tiled"], help="detectors for end to end")
    parser.add_argument("--precisions", nargs="*", default=["auto", "fp32"], help="classifier precision end to end")
    parser.add_argument("--data", default=None, help="FER2013 source: also compare fp32 and bf16 labels on PublicTest")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's choice)")
    parser.add_argument("--end-to-end-only", action="store_true", help="skip the per-face classification table")
    parser.add_argument("--rounds", type=int, default=1, help="run the end-to-end table this many times; print the median total")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, "
          f"1-minute load average {load:.1f} at start (other processes share these CPUs)\n")
    if not args.end_to_end_only:
        print("## Per-face classification (48x48 grey in, probabilities out)\n")
        print("| model | runtime | batch 1 latency (ms) | batch 64 throughput (faces/s) |\n|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for arch in [] if args.end_to_end_only else args.archs:
            model = create_model(arch).eval()
            card = ModelCard(arch=arch, embedding_dim=model.embedding_dim)
            for row in classification_rows(arch, model, card, args.repeats):
                print(row, flush=True)
        if args.checkpoint:
            model, card = load_checkpoint(args.checkpoint)
            if not args.end_to_end_only:
                for row in classification_rows(f"{card.arch} ({args.checkpoint})", model, card, args.repeats):
                    print(row, flush=True)
            checkpoint = Path(args.checkpoint)
        else:
            model = create_model(args.archs[0]).eval()
            checkpoint = save_checkpoint(model, ModelCard(arch=args.archs[0], embedding_dim=model.embedding_dim), Path(tmp) / "ckpt")
        print(f"\n## End to end (JPEG bytes -> faces with labels; {card.arch if args.checkpoint else args.archs[0]}, "
              "PyTorch, loaded once; median ms)\n")
        print("| photo | detector | classifier | faces found | total | decode | detect | face check | crop | classify | rest "
              "| target |\n|---|---|---|---|---|---|---|---|---|---|---|---|")
        totals: dict[str, list[float]] = {}
        for _ in range(max(1, args.rounds)):
            for detector in args.detectors:
                for precision in args.precisions:
                    for photo, row, total in end_to_end_rows(checkpoint, detector, precision, max(5, args.repeats // 2)):
                        print(row, flush=True)
                        totals.setdefault(f"{photo}, {detector}, {precision}", []).append(total)
        if args.rounds > 1:
            print(f"\nMedian total over {args.rounds} rounds: "
                  + "; ".join(f"{key}: {statistics.median(values):.1f} ms" for key, values in totals.items()))
        if args.data and args.checkpoint:
            print(f"\n## bf16 against fp32\n\n{precision_agreement(checkpoint, args.data)}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\n1-minute load average {load:.1f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
