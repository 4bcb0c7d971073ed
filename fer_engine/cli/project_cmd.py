"""`fer project RUN`: a 2-D map (UMAP, PCA, t-SNE) of a run's stored embeddings, written as CSV."""

from __future__ import annotations

import argparse
from pathlib import Path

from fer_engine.embeddings.projection import PROJECTION_METHODS


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `fer project`."""
    parser = subparsers.add_parser("project", help="2-D UMAP/PCA/t-SNE map of a run's embeddings as CSV")
    parser.add_argument("run", help="run id (under --runs-root) or run folder, with embeddings (`fer embed`)")
    parser.add_argument("--split", default="val", help="which stored split (default: val = PublicTest)")
    parser.add_argument(
        "--method", default="UMAP", help=f"{', '.join(PROJECTION_METHODS)} (case-insensitive; default UMAP)"
    )
    parser.add_argument("--neighbors", type=int, default=15, help="UMAP n_neighbors")
    parser.add_argument("--min-dist", type=float, default=0.1, help="UMAP min_dist")
    parser.add_argument("--perplexity", type=float, default=30.0, help="t-SNE perplexity")
    parser.add_argument(
        "--max-points",
        type=int,
        default=4_000,
        help="seeded sample of at most this many points (default: %(default)s, as the Embeddings page)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out",
        default=None,
        help="CSV path (default: RUN/projections/<split>-<method>.csv, read by the Embeddings page); "
        "a .json of the settings is written beside it",
    )
    parser.add_argument("--runs-root", default=None, help="runs root (default: $FER_RUNS_DIR or ./runs)")
    parser.set_defaults(func=project_command)


def project_command(args: argparse.Namespace) -> int:
    """Project, then write x, y, key, true and predicted class per point and its settings (atomically).

    Written to the run's default place, the map is the one the Embeddings page shows without computing
    when its settings match the page's."""
    from fer_engine.embeddings import load_embeddings
    from fer_engine.embeddings.projection import compute_map, map_file, write_map
    from fer_engine.pipeline import resolve_run

    run = resolve_run(args.run, args.runs_root)
    embedding_set = load_embeddings(run, args.split)
    frame, settings = compute_map(
        embedding_set,
        args.method,
        max_points=args.max_points,
        neighbors=args.neighbors,
        min_dist=args.min_dist,
        perplexity=args.perplexity,
        seed=args.seed,
    )
    out = Path(args.out) if args.out else map_file(run, args.split, args.method)
    write_map(frame, settings, out)
    print(f"{len(frame)} {args.split} points ({settings['method']}, seed {args.seed}) -> {out}")
    return 0
