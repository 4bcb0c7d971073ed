"""Training speed on this machine: raw step throughput vs the trainer's end-to-end throughput, and evaluation.

For each architecture it measures
  * raw steps: forward + backward + SGD step on one pre-staged batch (no data handling), per precision and
    memory format (fp32 / bf16, NCHW / channels_last);
  * the trainer: `fer_engine.training.train` for one limited epoch (data slicing, batched augmentation,
    metrics), with the precision and memory format it resolves itself; ratio = trainer / raw (target >= 0.95);
  * evaluation: `run_inference` images/s on val images;
  * on CUDA: achieved TFLOP/s (FLOPs of one step from FlopCounterMode) against the card's dense bf16 peak.

Examples:
  python3 benchmarks/train_speed.py --arch vgg19_bn vgg19_bn_half --batch-size 64 --steps 3
  python3 benchmarks/train_speed.py --data /path/fer2013.zip --arch vgg19_bn --steps 20 --modes bf16-cl
  # on a CPU shared with other work: one thread, CPU-time clock (images per CPU-second of one core)
  python3 benchmarks/train_speed.py --threads 1 --clock cpu --modes fp32,fp32-cl,bf16,bf16-cl
  # torch.compile, fused optimizers (ratios against the first mode)
  python3 benchmarks/train_speed.py --arch vgg19_bn --threads 1 --clock cpu --skip-trainer --steps 10 \
      --modes bf16-cl,bf16-cl+fused,bf16-cl+compile,bf16-cl+compile+fused,bf16-cl+compile-max
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fer_engine.data.dataset import FerDataset, Split  # noqa: E402
from fer_engine.data.synthetic import synthetic_images  # noqa: E402
from fer_engine.device import autocast, device_name, resolve_device, resolve_precision  # noqa: E402
from fer_engine.inference import run_inference  # noqa: E402
from fer_engine.models import create_model  # noqa: E402
from fer_engine.runs.layout import RunPaths  # noqa: E402
from fer_engine.training import get_preset, train  # noqa: E402

# Dense (no sparsity) bf16 tensor-core peaks in TFLOP/s, from the vendors' data sheets.
BF16_PEAK_TFLOPS = {"H200": 989.0, "H100 SXM": 989.0, "H100 80GB HBM3": 989.0, "H100 PCIe": 756.0, "H100": 756.0,
                    "A100": 312.0, "L40S": 362.0, "L4": 121.0, "A10": 125.0, "RTX 4090": 165.0}
MODES = {"fp32": ("fp32", False), "fp32-cl": ("fp32", True), "bf16": ("bf16", False), "bf16-cl": ("bf16", True)}
# Options appended to a mode with '+', e.g. bf16-cl+compile+fused: how the step is built, not what it computes.
STEP_OPTIONS = {
    "compile": "torch.compile(model) (inductor, default mode)",
    "compile-max": "torch.compile(model, mode='max-autotune')",
    "freezing": "inductor freezing on (torch._inductor.config.freezing)",
    "fused": "SGD(fused=True): one fused optimizer kernel",
    "foreach": "SGD(foreach=True): multi-tensor optimizer step",
}


def parse_mode(mode: str) -> tuple[str, bool, set[str]]:
    """'bf16-cl+compile+fused' -> ('bf16', True, {'compile', 'fused'}); SystemExit naming an unknown part."""
    base, *options = mode.split("+")
    if base not in MODES:
        raise SystemExit(f"unknown mode '{base}'; modes: {', '.join(MODES)}")
    unknown = set(options) - set(STEP_OPTIONS)
    if unknown:
        raise SystemExit(f"unknown step option(s) {', '.join(sorted(unknown))}; options: {', '.join(STEP_OPTIONS)}")
    precision, channels_last = MODES[base]
    return precision, channels_last, set(options)


@dataclass
class RawResult:
    mode: str
    images_per_second: float
    tflops: float | None
    warmup_seconds: float  # wall time of the untimed warm-up steps (includes compilation)


def make_dataset(data: str, batch_size: int, steps: int, eval_images: int) -> FerDataset:
    """The real data (`--data PATH`) or a generated set with enough images for `steps` batches."""
    if data != "synthetic":
        from fer_engine.data import load_dataset

        return load_dataset(data)
    per_class_train = -(-batch_size * steps // 7)
    train_images, train_labels = synthetic_images(per_class_train, seed=0)
    val_images, val_labels = synthetic_images(-(-eval_images // 7), seed=1)
    keys = lambda n: np.array([str(i) for i in range(n)])  # noqa: E731
    return FerDataset({"train": Split(train_images, train_labels, keys(len(train_labels))),
                       "val": Split(val_images, val_labels, keys(len(val_labels)))}, source="synthetic",
                      fingerprint="synthetic")


def step_flops(arch: str, batch_size: int, device: torch.device) -> int:
    """FLOPs of one forward + backward on a batch (FlopCounterMode counts a multiply-add as 2)."""
    from torch.utils.flop_counter import FlopCounterMode

    model = create_model(arch).to(device)
    images = torch.rand(batch_size, 1, 48, 48, device=device)
    counter = FlopCounterMode(display=False)
    with counter:
        F.cross_entropy(model(images), torch.zeros(batch_size, dtype=torch.long, device=device)).backward()
    return int(counter.get_total_flops())


def clock(kind: str) -> float:
    """Wall seconds, or this process's CPU seconds (`--clock cpu`: robust to other processes on a shared CPU
    when run with --threads 1, since a waiting single-threaded process uses no CPU time)."""
    return time.process_time() if kind == "cpu" else time.perf_counter()


def raw_steps(arch: str, batch_size: int, steps: int, warmup: int, mode: str, device: torch.device,
              flops: int | None, clock_kind: str = "wall") -> RawResult:
    """Images/s of bare training steps on one pre-staged batch (uint8 on the device, as the trainer holds it)."""
    precision, channels_last, options = parse_mode(mode)
    torch.manual_seed(0)
    model = create_model(arch).to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer_kwargs = {"fused": True} if "fused" in options else {"foreach": True} if "foreach" in options else {}
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, **optimizer_kwargs)
    if "freezing" in options:
        import torch._inductor.config as inductor_config

        inductor_config.freezing = True
    step_model = model
    if "compile" in options or "compile-max" in options:
        step_model = torch.compile(model, mode="max-autotune" if "compile-max" in options else None)
    images = torch.randint(0, 256, (batch_size, 48, 48), dtype=torch.uint8, device=device)
    labels = torch.randint(0, 7, (batch_size,), device=device)
    model.train()
    compile_started = time.perf_counter()
    for step in range(warmup + steps):
        if step == warmup:
            _sync(device)
            warmup_seconds = time.perf_counter() - compile_started
            started = clock(clock_kind)
        inputs = images.unsqueeze(1).float().div_(255.0)
        if channels_last:
            inputs = inputs.contiguous(memory_format=torch.channels_last)
        with autocast(device, precision):
            logits = step_model(inputs)
        loss = F.cross_entropy(logits.float(), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    _sync(device)
    seconds = clock(clock_kind) - started
    tflops = flops * steps / seconds / 1e12 if flops else None
    return RawResult(mode, batch_size * steps / seconds, tflops, warmup_seconds)


def trainer_epoch(arch: str, dataset: FerDataset, batch_size: int, steps: int, warmup: int, device: str,
                  precision: str, clock_kind: str = "wall") -> tuple[float, str, bool]:
    """Images/s of `train()`'s own loop (batch slicing, batched augmentation, forward/backward, metrics) over
    `steps` steps after `warmup` untimed ones, timed between its step callbacks (validation not included)."""
    config = get_preset("strong").with_overrides(
        arch=arch, epochs=1, batch_size=batch_size, device=device, precision=precision, warmup_epochs=0,
        limit=batch_size * (steps + warmup) + 7, eval_batch_size=512,
    )
    stamps: list[float] = []

    def on_step(epoch: int, step: int, total: int, loss: float) -> None:
        stamps.append(clock(clock_kind))

    with tempfile.TemporaryDirectory() as tmp:
        result = train(config, dataset, RunPaths(Path(tmp) / "run"), on_step=on_step, step_interval=1,
                       progress_bar=False)
    timed = stamps[warmup - 1 :] if warmup else stamps
    if len(timed) < 2:
        raise SystemExit("the trainer ran too few steps to time; raise --steps")
    speed = batch_size * (len(timed) - 1) / (timed[-1] - timed[0])
    return speed, result.summary["precision"], config.channels_last


def eval_speed(arch: str, dataset: FerDataset, device: torch.device, precision: str, channels_last: bool,
               count: int, clock_kind: str = "wall") -> float:
    """Images/s of `run_inference` (batch 512, no TTA) on up to `count` val images."""
    model = create_model(arch).to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    images = dataset.split("val").images[:count]
    run_inference(model, images[:64], batch_size=512, device=device, precision=precision, channels_last=channels_last)
    _sync(device)
    started = clock(clock_kind)
    run_inference(model, images, batch_size=512, device=device, precision=precision, channels_last=channels_last)
    _sync(device)
    return len(images) / (clock(clock_kind) - started)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _peak(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    for key, value in BF16_PEAK_TFLOPS.items():
        if key in name:
            return value
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", nargs="+", default=["vgg19_bn", "vgg19_bn_half"])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=3, help="timed steps (raw and trainer)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps first (at least 1 for the trainer)")
    parser.add_argument("--modes", default="fp32,fp32-cl,bf16,bf16-cl",
                        help=f"raw-step modes among {', '.join(MODES)}, each optionally followed by +OPTION "
                             f"({'; '.join(f'{k}: {v}' for k, v in STEP_OPTIONS.items())}), e.g. bf16-cl+compile")
    parser.add_argument("--data", default="synthetic", help="FER2013 path, or 'synthetic' (default)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="auto", help="trainer precision (auto, bf16, fp32)")
    parser.add_argument("--eval-images", type=int, default=1024)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--skip-trainer", action="store_true")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="wall time, or process CPU time (CPU only; use with --threads 1 on a busy machine)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    dataset = make_dataset(args.data, args.batch_size, args.steps + args.warmup, args.eval_images)
    name_of_device = device_name(device)
    print(f"device {device} ({name_of_device}), torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"batch {args.batch_size}, {args.steps} timed steps after {args.warmup} warm-up, {args.clock} clock, load average "
          f"{os.getloadavg()[0]:.1f}")
    peak = _peak(device)
    header = f"{'arch':<16} {'what':<28} {'img/s':>9} {'TFLOP/s':>9} {'% bf16 peak':>12}"
    print(header)
    print("-" * len(header))
    for arch in args.arch:
        flops = step_flops(arch, args.batch_size, device) if device.type == "cuda" else None
        raw: dict[str, RawResult] = {}
        for mode in modes:
            raw[mode] = raw_steps(arch, args.batch_size, args.steps, args.warmup, mode, device, flops, args.clock)
            result = raw[mode]
            tflops = f"{result.tflops:.1f}" if result.tflops else "-"
            share = f"{100 * result.tflops / peak:.1f}%" if (result.tflops and peak) else "-"
            first = next(iter(raw.values()))
            ratio = f"x{result.images_per_second / first.images_per_second:.2f} vs {first.mode}"
            print(f"{arch:<16} {'raw step ' + mode:<28} {result.images_per_second:>9.1f} {tflops:>9} {share:>12}"
                  f"   {ratio}, warm-up {result.warmup_seconds:.0f} s", flush=True)
        if not args.skip_trainer:
            speed, precision, channels_last = trainer_epoch(arch, dataset, args.batch_size, args.steps, args.warmup,
                                                            args.device, args.precision, args.clock)
            trainer_mode = f"{precision}{'-cl' if channels_last else ''}"
            baseline = raw.get(trainer_mode)
            ratio = f"ratio {speed / baseline.images_per_second:.2f} vs raw {trainer_mode}" if baseline else \
                f"(no raw {trainer_mode} run)"
            print(f"{arch:<16} {'trainer epoch ' + trainer_mode:<28} {speed:>9.1f}   {ratio}", flush=True)
        eval_precision = resolve_precision(args.precision, device)
        evaluation = eval_speed(arch, dataset, device, eval_precision, True, args.eval_images, args.clock)
        print(f"{arch:<16} {'evaluation ' + eval_precision + '-cl':<28} {evaluation:>9.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
