"""`fer embed RUN`: store the GAP embeddings and logits of every split with the run's best checkpoint."""

from __future__ import annotations

import argparse

from fer_engine.classes import SPLIT_NAMES
from fer_engine.errors import ConfigError
from fer_engine.inference import TTA_MODES


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `fer embed`."""
    parser = subparsers.add_parser("embed", help="embeddings/<split>.npz of a run's checkpoint (GAP features + logits)")
    parser.add_argument("run", help="run id (under --runs-root) or run folder")
    parser.add_argument("--data", default=None, help="dataset (default: the data the run was trained on)")
    parser.add_argument("--splits", default=None, help="comma-separated splits (default: every split of the data)")
    add_tta_option(parser, flag_default="flip")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda:N")
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--runs-root", default=None, help="runs root (default: $FER_RUNS_DIR or ./runs)")
    parser.set_defaults(func=embed_command)


def add_tta_option(
    parser: argparse.ArgumentParser, *, flag_default: str | None = None, default: str | None = "none"
) -> None:
    """`--tta MODE` (the registered TTA modes); with `flag_default`, a bare `--tta` means that mode."""
    parser.add_argument(
        "--tta",
        default=default,
        choices=TTA_MODES,
        nargs="?" if flag_default else None,
        const=flag_default,
        help="test-time augmentation averaged into logits and embeddings",
    )


def parse_splits(text: str | None) -> list[str] | None:
    """'train,val' -> ['train', 'val'], checked against the product's split names."""
    if not text:
        return None
    names = [name.strip() for name in text.split(",") if name.strip()]
    for name in names:
        if name not in SPLIT_NAMES:
            raise ConfigError(f"unknown split '{name}'; choose from {', '.join(SPLIT_NAMES)}")
    return names


def embed_command(args: argparse.Namespace) -> int:
    """Embed the run's data (or --data) and print one line per written file."""
    from fer_engine.embeddings import embed_run, read_embeddings
    from fer_engine.pipeline import dataset_for_run, resolve_run

    run = resolve_run(args.run, args.runs_root)
    dataset = dataset_for_run(run, args.data)
    written = embed_run(
        run, dataset, parse_splits(args.splits), device=args.device, batch_size=args.batch_size, tta=args.tta
    )
    for split, path in written.items():
        embedding_set = read_embeddings(path, split)
        print(
            f"{split}: {len(embedding_set)} x {embedding_set.embeddings.shape[1]} embeddings (tta {args.tta}) -> {path}"
        )
    return 0
