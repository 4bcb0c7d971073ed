"""`fer export --format onnx`: the model + softmax as an ONNX graph, checked against PyTorch."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `fer export`."""
    parser = subparsers.add_parser(
        "export", help="export a checkpoint for serving (ONNX: probabilities from 48x48 grey faces)"
    )
    parser.add_argument("--format", choices=["onnx"], default="onnx", help="export format (only onnx)")
    parser.add_argument(
        "--checkpoint", default=None, help="checkpoint folder, run folder or run id (default: the shipped model)"
    )
    parser.add_argument(
        "--output", default=None, help="output file (default: model.onnx beside the checkpoint's weights)"
    )
    parser.add_argument("--no-check", action="store_true", help="skip the ONNX Runtime vs PyTorch comparison")
    parser.set_defaults(func=export_command)


def export_command(args: argparse.Namespace) -> int:
    """Export, then compare ONNX Runtime's probabilities with PyTorch's on real-range inputs and print the gap."""
    import numpy as np

    from fer_engine.models.checkpoint import load_checkpoint, resolve_checkpoint_dir
    from fer_engine.predict.onnx_export import export_onnx, onnx_parity
    from fer_engine.predict.predictor import default_checkpoint

    checkpoint_dir = resolve_checkpoint_dir(args.checkpoint or default_checkpoint())
    model, card = load_checkpoint(checkpoint_dir)
    output = Path(args.output) if args.output else checkpoint_dir / "model.onnx"
    export_onnx(model, card, output)
    print(f"exported {card.arch} ({len(card.class_names)} classes) -> {output}")
    print("input 'faces': (N, 1, 48, 48) float32 grey in [0, 1]; output 'probabilities': (N, classes)")
    if not args.no_check:
        from fer_engine.data.synthetic import synthetic_images

        faces = synthetic_images(2, seed=1)[0][:, None].astype(np.float32) / 255.0
        print(
            f"ONNX Runtime vs PyTorch on {len(faces)} faces: max |probability difference| = {onnx_parity(model, output, faces):.2e}"
        )
    return 0
