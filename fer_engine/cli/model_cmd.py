"""`fer model list | summary`: the registered architectures, their layers, parameter counts and FLOPs."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass, field

import torch
from torch import nn


@dataclass
class LayerRow:
    """One leaf module: its name, type, output shape for one image, and parameter count."""

    name: str
    type: str
    output_shape: list[int]
    params: int


@dataclass
class ModelSummary:
    """What `fer model summary` reports; FLOPs count a multiply-add as 2 (torch's FlopCounterMode)."""

    arch: str
    input_size: int
    num_classes: int
    params: int
    trainable_params: int
    embedding_dim: int
    flops_per_image: int
    layers: list[LayerRow] = field(default_factory=list)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `fer model ...`."""
    parser = subparsers.add_parser("model", help="architectures: list, layer summary, parameters and FLOPs")
    commands = parser.add_subparsers(dest="model_command", metavar="COMMAND", required=True)
    listing = commands.add_parser("list", help="registered architecture names")
    listing.set_defaults(func=list_models)
    summary = commands.add_parser("summary", help="layers, parameter count and FLOPs per image of an architecture")
    summary.add_argument("--arch", default="vgg19", help="architecture (default: vgg19, the paper's)")
    summary.add_argument("--input-size", type=int, default=48, help="model input side (default 48)")
    summary.add_argument("--num-classes", type=int, default=7)
    summary.add_argument("--json", action="store_true", help="print JSON (keys: params, flops_per_image, layers, ...)")
    summary.set_defaults(func=summary_command)


def list_models(args: argparse.Namespace) -> int:  # noqa: ARG001
    """Print the registered architecture names."""
    from fer_engine.models import available_models

    for name in available_models():
        print(name)
    return 0


def summarize_model(arch: str, input_size: int = 48, num_classes: int = 7) -> ModelSummary:
    """Build `arch` and measure its layers (one forward with hooks) and FLOPs per image (FlopCounterMode)."""
    from torch.utils.flop_counter import FlopCounterMode

    from fer_engine.errors import ConfigError
    from fer_engine.models import create_model

    if input_size < 32:
        raise ConfigError(f"--input-size {input_size} is too small: VGG-19 needs at least 32 pixels")
    model = create_model(arch, num_classes=num_classes, input_size=input_size).eval()
    rows: list[LayerRow] = []
    hooks = []
    for name, module in model.named_modules():
        if name and not list(module.children()):
            hooks.append(module.register_forward_hook(_shape_recorder(rows, name, module)))
    image = torch.zeros(1, 1, input_size, input_size)
    try:
        with torch.no_grad():
            model(image)
    finally:
        for hook in hooks:
            hook.remove()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(image)
    return ModelSummary(
        arch=arch,
        input_size=input_size,
        num_classes=num_classes,
        params=sum(p.numel() for p in model.parameters()),
        trainable_params=sum(p.numel() for p in model.parameters() if p.requires_grad),
        embedding_dim=int(getattr(model, "embedding_dim", 0)),
        flops_per_image=int(counter.get_total_flops()),
        layers=rows,
    )


def _shape_recorder(rows: list[LayerRow], name: str, module: nn.Module):
    def record(_module: nn.Module, _inputs, output) -> None:
        shape = list(output.shape[1:]) if isinstance(output, torch.Tensor) else []
        rows.append(
            LayerRow(name, type(module).__name__, shape, sum(p.numel() for p in module.parameters(recurse=False)))
        )

    return record


def summary_command(args: argparse.Namespace) -> int:
    """Print the summary as a table or JSON."""
    summary = summarize_model(args.arch, args.input_size, args.num_classes)
    if args.json:
        print(json.dumps(asdict(summary), indent=2))
        return 0
    print(f"{summary.arch}: input 1x{summary.input_size}x{summary.input_size}, {summary.num_classes} classes")
    print(f"{'layer':<16} {'type':<18} {'output':<16} {'params':>12}")
    for row in summary.layers:
        print(f"{row.name:<16} {row.type:<18} {'x'.join(map(str, row.output_shape)):<16} {row.params:>12,}")
    print(f"parameters: {summary.params:,} (trainable {summary.trainable_params:,})")
    print(f"embedding: {summary.embedding_dim}-d (global average pool)")
    print(f"FLOPs per image: {summary.flops_per_image / 1e9:.3f} G (forward; a multiply-add counts 2)")
    return 0
