"""Prediction speed on CPU: per-face classification (PyTorch fp32 / bf16 autocast / ONNX Runtime) and end to end.

    python3 benchmarks/predict_speed.py                          # vgg19_bn (random weights) + end to end
    python3 benchmarks/predict_speed.py --checkpoint RUN_OR_DIR  # also that checkpoint's architecture

Speed does not depend on the weights, so architectures are timed with random weights. End to end =
JPEG bytes -> decode -> detect -> face check (face-presence score per box) -> crop -> classify, the model loaded once; photos are built from real
photos (benchmarks/face_scenes.py): 640x480 with one face, 1920x1080 with ten. Targets on the 2-core
development machine: one face < 30 ms, ten faces < 100 ms. Prints markdown tables; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

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


def end_to_end_rows(checkpoint: Path, detector: str, precision: str, repeats: int) -> list[str]:
    """Median end-to-end ms for the one-face 640x480 and ten-face 1920x1080 JPEGs, with a split of where it goes."""
    from fer_engine.predict.detectors import detect_faces
    from fer_engine.predict.image_io import read_rgb
    from fer_engine.predict.predictor import Predictor

    predictor = Predictor.from_checkpoint(checkpoint, detector=detector, precision=precision)
    one_face = face_scenes.astronaut_variants((640, 480))[0]
    ten_faces = face_scenes.group_scenes(1, (1920, 1080))[0]
    rows = []
    for scene, target in ((one_face, 30), (ten_faces, 100)):
        data = face_scenes.encode_jpeg(scene.image)
        found = len(predictor.predict_image(data).faces)
        total = median_ms(lambda: predictor.predict_image(data), repeats)
        decode = median_ms(lambda: read_rgb(data), repeats)
        rgb = read_rgb(data)
        detect = median_ms(lambda: detect_faces(predictor.detector, rgb), repeats)
        boxes = detect_faces(predictor.detector, rgb)
        check = median_ms(lambda: predictor.presence_model.scores(rgb, boxes), repeats)
        height, width = scene.image.shape[:2]
        rows.append(f"| {width}x{height}, {len(scene.faces)} face(s) | {detector} | {predictor.precision} | {found} | {total:.1f} | {decode:.1f} | {detect:.1f} "
                    f"| {check:.1f} ({len(boxes)} boxes) | {max(0.0, total - decode - detect - check):.1f} | < {target} |")
    return rows


def precision_agreement(checkpoint: Path, data: str) -> str:
    """PublicTest accuracy of the checkpoint in fp32 and bf16, and how often their labels agree."""
    from fer_engine.data.loader import load_dataset
    from fer_engine.inference import run_inference

    split = load_dataset(data).split("val")
    model, _ = load_checkpoint(checkpoint)
    labels = {}
    for precision in ("fp32", "bf16"):
        labels[precision] = run_inference(model, split.images, batch_size=256, precision=precision).logits.argmax(1)
    accuracy = {p: float((v == split.labels).mean()) for p, v in labels.items()}
    agree = float((labels["fp32"] == labels["bf16"]).mean())
    return (f"PublicTest ({len(split.labels)} faces, no TTA): fp32 accuracy {100 * accuracy['fp32']:.2f}%, "
            f"bf16 {100 * accuracy['bf16']:.2f}%, same label for {100 * agree:.2f}% of faces")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default=None, help="also time this checkpoint, and use it end to end")
    parser.add_argument("--archs", nargs="*", default=["vgg19_bn"], help="architectures timed with random weights")
    parser.add_argument("--detectors", nargs="*", default=["blazeface", "blazeface_tiled"], help="detectors for end to end")
    parser.add_argument("--precisions", nargs="*", default=["auto", "fp32"], help="classifier precision end to end")
    parser.add_argument("--data", default=None, help="FER2013 source: also compare fp32 and bf16 labels on PublicTest")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's choice)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, "
          f"1-minute load average {load:.1f} at start (other processes share these CPUs)\n")
    print("## Per-face classification (48x48 grey in, probabilities out)\n")
    print("| model | runtime | batch 1 latency (ms) | batch 64 throughput (faces/s) |\n|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for arch in args.archs:
            model = create_model(arch).eval()
            card = ModelCard(arch=arch, embedding_dim=model.embedding_dim)
            for row in classification_rows(arch, model, card, args.repeats):
                print(row, flush=True)
        if args.checkpoint:
            model, card = load_checkpoint(args.checkpoint)
            for row in classification_rows(f"{card.arch} ({args.checkpoint})", model, card, args.repeats):
                print(row, flush=True)
            checkpoint = Path(args.checkpoint)
        else:
            model = create_model(args.archs[0]).eval()
            checkpoint = save_checkpoint(model, ModelCard(arch=args.archs[0], embedding_dim=model.embedding_dim), Path(tmp) / "ckpt")
        print(f"\n## End to end (JPEG bytes -> faces with labels; {card.arch if args.checkpoint else args.archs[0]}, "
              "PyTorch, loaded once; median ms)\n")
        print("| photo | detector | classifier | faces found | total | decode | detect | face check | crop + classify | target |\n"
              "|---|---|---|---|---|---|---|---|---|---|")
        for detector in args.detectors:
            for precision in args.precisions:
                for row in end_to_end_rows(checkpoint, detector, precision, max(5, args.repeats // 2)):
                    print(row, flush=True)
        if args.data and args.checkpoint:
            print(f"\n## bf16 against fp32\n\n{precision_agreement(checkpoint, args.data)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
