"""`fer reproduce`: the paper's whole experiment in one command (train, embed, heads, evaluate, report)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from fer_engine.cli.embed_cmd import add_tta_option
from fer_engine.cli.heads_cmd import add_head_options, class_weight_option, parse_heads
from fer_engine.cli.options import add_training_options, apply_threads, training_overrides
from fer_engine.pipeline import PipelineSpec


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `fer reproduce`."""
    parser = subparsers.add_parser("reproduce", help="train + embed + heads + evaluate + report, resumable")
    add_training_options(parser, preset_default=PipelineSpec().preset)
    add_head_options(parser)
    add_tta_option(parser, flag_default="flip")
    parser.add_argument("--resume", default=None, metavar="RUN_ID", help="continue this run where it stopped")
    parser.add_argument("--runs-root", default=None, help="runs root (default: $FER_RUNS_DIR or ./runs)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    parser.set_defaults(func=reproduce_command)


def spec_from_args(args: argparse.Namespace) -> PipelineSpec:
    """The PipelineSpec a `fer reproduce` command line describes."""
    overrides = training_overrides(args)
    limit = overrides.pop("limit", None)
    return PipelineSpec(
        data_path=args.data or "",
        preset=args.preset,
        overrides=overrides,
        heads=parse_heads(args.heads),
        search=args.search,
        tta=args.tta,
        runs_root=args.runs_root,
        name=args.name or "",
        limit=limit,
        resume_run_id=args.resume,
        class_weight=class_weight_option(args.class_weight),
        n_iter=args.n_iter,
        cv=args.cv,
        max_train=args.max_train,
    )


def _print_event(event: dict[str, Any]) -> None:
    """One short progress line per meaningful event, on stderr (stdout carries the report)."""
    kind = event.get("event")
    if kind == "step_started":
        print(f"[{event['step']}] ...", file=sys.stderr, flush=True)
    elif kind == "step_skipped":
        print(f"[{event['step']}] skipped: {event['reason']}", file=sys.stderr, flush=True)
    elif kind == "epoch":
        val = event.get("val_accuracy")
        print(
            f"  epoch {event['epoch']}/{event.get('total_epochs', '?')} train_loss {event.get('train_loss', 0):.4f}"
            + (f" val_accuracy {val:.4f}" if isinstance(val, float) else ""),
            file=sys.stderr,
            flush=True,
        )
    elif kind == "head_fitted":
        val = event["scores"].get("val", {}).get("accuracy")
        print(
            f"  {event['head']}: {event['fit_seconds']:.1f}s"
            + (f", val accuracy {val:.4f}" if val is not None else ""),
            file=sys.stderr,
            flush=True,
        )


def reproduce_command(args: argparse.Namespace) -> int:
    """Run the pipeline and print the report."""
    from fer_engine.pipeline import run_pipeline

    apply_threads(args.threads)
    spec = spec_from_args(args)
    run = run_pipeline(spec, on_event=None if args.quiet else _print_event)
    print(run.report_markdown.read_text(), end="")
    print(f"\nrun {run.run_id}: {run.root}")
    return 0
