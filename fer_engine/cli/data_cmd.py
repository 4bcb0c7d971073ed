"""`fer data summary|audit PATH`: class counts per split (paper Table 1) and a data-quality audit of a FER source."""

from __future__ import annotations

import argparse
import json

from fer_engine.data.audit import audit_dataset
from fer_engine.data.loader import load_dataset
from fer_engine.data.summary import summarize


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `data` command group."""
    data = subparsers.add_parser("data", help="inspect a FER dataset (CSV, image folder or .zip)")
    commands = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND", required=True)

    summary = commands.add_parser("summary", help="images per split and class, absent/drawn splits, imbalance")
    _add_source_arguments(summary)
    summary.add_argument(
        "--val-fraction",
        type=float,
        default=0.1,
        help="share of train drawn as val when the source has none (default 0.1)",
    )
    summary.add_argument("--seed", type=int, default=0, help="seed of the drawn val split (default 0)")
    summary.set_defaults(func=run_summary)

    audit = commands.add_parser(
        "audit", help="exact/near duplicates (within and across splits), blank and dark/bright images"
    )
    _add_source_arguments(audit)
    audit.set_defaults(func=run_audit, val_fraction=0.1, seed=0)


def _add_source_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="PATH", help="fer2013.csv, icml_face_data.csv, an image folder or a .zip")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--skip-bad", action="store_true", help="skip unreadable rows/images (listed) instead of failing"
    )
    parser.add_argument("--no-cache", action="store_true", help="decode the source again instead of using the cache")


def _load(args: argparse.Namespace):
    return load_dataset(
        args.path, skip_bad=args.skip_bad, val_fraction=args.val_fraction, seed=args.seed, use_cache=not args.no_cache
    )


def run_summary(args: argparse.Namespace) -> int:
    """Print the per-split, per-class counts of PATH."""
    summary = summarize(_load(args))
    print(json.dumps(summary.to_dict(), indent=2) if args.json else summary.to_text())
    return 0


def run_audit(args: argparse.Namespace) -> int:
    """Print the duplicate / blank / dark / bright findings for PATH."""
    report = audit_dataset(_load(args))
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.to_text())
    return 0
