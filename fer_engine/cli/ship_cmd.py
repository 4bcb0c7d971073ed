"""`fer ship RUN --data PATH`: make a finished run the shipped default model (checkpoints/default);
`fer ship RUN --example NAME`: keep it, without weights, as an example run (checkpoints/examples/NAME)."""

from __future__ import annotations

import argparse
import shlex
import sys

from fer_engine.errors import ConfigError
from fer_engine.paths import DEFAULT_CHECKPOINT_DIR


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "ship", help="copy a run to checkpoints/default with fp16 weights (or to checkpoints/examples, no weights)"
    )
    parser.add_argument("run", help="run id (under --runs-root) or run folder")
    parser.add_argument(
        "--data",
        default=None,
        help="dataset whose val split (PublicTest) scores the shipped model (not needed with --example)",
    )
    parser.add_argument("--to", default=str(DEFAULT_CHECKPOINT_DIR), help="destination folder (default: %(default)s)")
    parser.add_argument(
        "--example",
        default=None,
        metavar="NAME",
        help="ship as example NAME instead: no weights; metrics, evaluations, float16 val embeddings "
        "and a UMAP map, in checkpoints/examples/NAME ($FER_EXAMPLES_DIR overrides the folder)",
    )
    parser.add_argument("--note", default="", help="with --example: a line for its CARD.md on how the run was made")
    parser.add_argument("--runs-root", default=None)
    parser.set_defaults(func=run_ship)


def run_ship(args: argparse.Namespace) -> int:
    from fer_engine.pipeline import resolve_run

    run = resolve_run(args.run, args.runs_root)
    command = "fer " + " ".join(shlex.quote(arg) for arg in sys.argv[1:])
    if args.example:
        from fer_engine.runs.examples import MIB, export_example, folder_bytes

        example = export_example(run, args.example, command=command, note=args.note)
        print(example.card_markdown.read_text())
        print(f"example '{args.example}': {example.root} ({folder_bytes(example.root) / MIB:.2f} MiB)")
        return 0
    if not args.data:
        raise ConfigError("--data is required to ship a model (it scores the shipped weights on val)")
    from fer_engine.data import load_dataset
    from fer_engine.shipping import ship_run

    dataset = load_dataset(args.data)
    shipped = ship_run(run, args.to, dataset, command=command)
    print(shipped.card_markdown.read_text())
    return 0
