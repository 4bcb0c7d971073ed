"""`fer study triplet`: the triplet-loss study (loss x miner x distance), one run per cell, one table."""

from __future__ import annotations

import argparse

from fer_engine.cli.options import LIMIT_HELP
from fer_engine.errors import ConfigError
from fer_engine.heads.registry import HEAD_NAMES
from fer_engine.training.config import DISTANCES, LOSSES, MINERS


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `fer study triplet`."""
    parser = subparsers.add_parser("study", help="grids of runs compared in one table")
    commands = parser.add_subparsers(dest="study_command", metavar="STUDY", required=True)
    triplet = commands.add_parser(
        "triplet",
        help="cross-entropy vs triplet loss (miners x distances): embeddings, heads, the paper beside",
        description="Train one run per grid cell through the pipeline, measure embedding quality (k-NN, MAP@R, "
        "silhouette) and every head, and write one table (Markdown, CSV, JSON) under "
        "<runs root>/studies/. Default grid: ce; triplet random/euclidean (the paper), "
        "semihard/euclidean, semihard/cosine, hard/cosine; ce+triplet semihard/cosine.",
    )
    triplet.add_argument("--data", required=True, help="FER2013 source (CSV, image folder or .zip)")
    triplet.add_argument("--losses", type=_names, default=None, help=f"comma list of {', '.join(LOSSES)}")
    triplet.add_argument(
        "--miners",
        type=_names,
        default=None,
        help=f"comma list of {', '.join(MINERS)} (with --distances: full cross product)",
    )
    triplet.add_argument("--distances", type=_names, default=None, help=f"comma list of {', '.join(DISTANCES)}")
    triplet.add_argument("--arch", default="vgg19_bn_quarter", help="backbone (default: vgg19_bn_quarter)")
    triplet.add_argument("--preset", default="fast_cpu", help="training recipe the cells override (default: fast_cpu)")
    triplet.add_argument(
        "--budget",
        type=float,
        default=None,
        metavar="MINUTES",
        help="fit the whole study in this many minutes: epochs (and limit) sized from a measured speed",
    )
    triplet.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="epochs per run (with --budget: the most allowed; default: the preset's)",
    )
    triplet.add_argument("--limit", type=int, default=None, metavar="N", help=LIMIT_HELP)
    triplet.add_argument(
        "--heads", type=_names, default=None, help=f"comma list of {', '.join(HEAD_NAMES)} (default: all)"
    )
    triplet.add_argument("--seed", type=int, default=0)
    triplet.add_argument("--device", default="auto", help="auto, cpu or cuda:N")
    triplet.add_argument("--runs-root", default=None, help="runs root (default: $FER_RUNS_DIR or ./runs)")
    triplet.add_argument(
        "--dry-run",
        action="store_true",
        help="print the grid and the epochs/limit the budget allows, then stop (no training)",
    )
    triplet.set_defaults(func=triplet_study_command)


def _names(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected a comma-separated list of names")
    return names


def triplet_study_command(args: argparse.Namespace) -> int:
    """Run the study and print its table; exit 0 when every run succeeded, 1 otherwise."""
    from fer_engine.study.grid import build_grid
    from fer_engine.study.triplet_study import TripletStudySpec, plan_triplet_study, run_triplet_study

    if args.limit is not None and args.limit < 7:
        raise ConfigError(f"--limit must be at least 7 (one image per class), got {args.limit}")
    spec = TripletStudySpec(
        data_path=args.data,
        cells=build_grid(args.losses, args.miners, args.distances),
        arch=args.arch,
        preset=args.preset,
        budget_minutes=args.budget,
        epochs=args.epochs,
        limit=args.limit,
        heads=tuple(args.heads) if args.heads else HEAD_NAMES,
        seed=args.seed,
        runs_root=args.runs_root,
        device=args.device,
    )
    if args.dry_run:
        plan = plan_triplet_study(spec)
        print(f"grid: {', '.join(cell.label for cell in spec.cells)}")
        print(
            f"plan: {plan.epochs} epochs, limit {plan.limit or 'none'} per split; "
            f"estimated {plan.estimated_total_seconds / 60:.1f} min in all; {plan.note}"
        )
        return 0
    result = run_triplet_study(spec)
    print()
    print(result.table_markdown)
    print(f"study written to {result.folder} (study.md, study.csv, study.json)")
    failed = [row for row in result.rows if row.status != "succeeded"]
    for row in failed:
        print(f"run {row.run_id} ({row.cell}) {row.status}: {row.error}")
    return 0 if not failed else 1
