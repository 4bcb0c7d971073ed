"""`fer ship RUN --data PATH`: make a finished run the shipped default model (checkpoints/default)."""

from __future__ import annotations

import argparse
import shlex
import sys

from fer_engine.paths import DEFAULT_CHECKPOINT_DIR


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "ship", help="copy a run to checkpoints/default with fp16 weights, evaluate it on val, write CARD.md"
    )
    parser.add_argument("run", help="run id (under --runs-root) or run folder")
    parser.add_argument("--data", required=True, help="dataset whose val split (PublicTest) scores the shipped model")
    parser.add_argument("--to", default=str(DEFAULT_CHECKPOINT_DIR), help="destination folder (default: %(default)s)")
    parser.add_argument("--runs-root", default=None)
    parser.set_defaults(func=run_ship)


def run_ship(args: argparse.Namespace) -> int:
    from fer_engine.data import load_dataset
    from fer_engine.pipeline import resolve_run
    from fer_engine.shipping import ship_run

    run = resolve_run(args.run, args.runs_root)
    dataset = load_dataset(args.data)
    command = "fer " + " ".join(shlex.quote(arg) for arg in sys.argv[1:])
    shipped = ship_run(run, args.to, dataset, command=command)
    print((shipped.root / "CARD.md").read_text())
    return 0
