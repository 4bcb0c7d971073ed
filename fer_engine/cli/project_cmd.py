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
    parser.add_argument("--method", default="UMAP",
                        help=f"{', '.join(PROJECTION_METHODS)} (case-insensitive; default UMAP)")
    parser.add_argument("--neighbors", type=int, default=15, help="UMAP n_neighbors")
    parser.add_argument("--min-dist", type=float, default=0.1, help="UMAP min_dist")
    parser.add_argument("--perplexity", type=float, default=30.0, help="t-SNE perplexity")
    parser.add_argument("--max-points", type=int, default=40_000, help="seeded sample of at most this many points")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="CSV path (default: RUN/projections/<split>-<method>.csv)")
    parser.add_argument("--runs-root", default=None, help="runs root (default: $FER_RUNS_DIR or ./runs)")
    parser.set_defaults(func=project_command)


def project_command(args: argparse.Namespace) -> int:
    """Project, then write x, y, key, true and predicted class per point (atomically) and print the path."""
    import pandas as pd

    from fer_engine.embeddings import load_embeddings
    from fer_engine.embeddings.projection import project, sample_rows
    from fer_engine.io_utils import atomic_write
    from fer_engine.pipeline import resolve_run

    run = resolve_run(args.run, args.runs_root)
    embedding_set = load_embeddings(run, args.split)
    rows = sample_rows(len(embedding_set), args.max_points, args.seed)
    points = project(embedding_set.embeddings[rows], args.method, neighbors=args.neighbors, min_dist=args.min_dist,
                     perplexity=args.perplexity, seed=args.seed)
    names = list(embedding_set.class_names)
    frame = pd.DataFrame({
        "x": points[:, 0], "y": points[:, 1], "key": embedding_set.keys[rows],
        "true_class": [names[i] for i in embedding_set.labels[rows]],
        "predicted_class": [names[i] for i in embedding_set.softmax_predictions[rows]],
    })
    slug = args.method.lower().replace("-", "")
    out = Path(args.out) if args.out else run.root / "projections" / f"{args.split}-{slug}.csv"
    atomic_write(out, lambda temp: frame.to_csv(temp, index=False))
    print(f"{len(frame)} {args.split} points ({args.method}, seed {args.seed}) -> {out}")
    return 0
