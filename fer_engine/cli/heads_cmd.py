"""`fer heads RUN`: fit SVM / XGBoost / random forest / MLP heads on a run's training embeddings."""

from __future__ import annotations

import argparse

from fer_engine.errors import ConfigError
from fer_engine.heads.registry import CLASS_WEIGHT_CHOICES, HEAD_NAMES


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `fer heads`."""
    parser = subparsers.add_parser("heads", help="fit classical heads on a run's train embeddings, scored on val")
    parser.add_argument("run", help="run id (under --runs-root) or run folder")
    add_head_options(parser)
    parser.add_argument("--seed", type=int, default=0, help="random state of heads, search and subsampling")
    parser.add_argument("--runs-root", default=None, help="runs root (default: $FER_RUNS_DIR or ./runs)")
    parser.set_defaults(func=heads_command)


def add_head_options(parser: argparse.ArgumentParser) -> None:
    """The head options shared by `fer heads` and `fer reproduce`."""
    add_heads_flags(parser, default=",".join(HEAD_NAMES))
    parser.add_argument("--n-iter", type=int, default=25, help="random-search candidates")
    parser.add_argument("--cv", type=int, default=3, help="random-search CV folds (inside train)")
    parser.add_argument(
        "--class-weight",
        choices=CLASS_WEIGHT_CHOICES,
        default="none",
        help="'balanced' weighs classes inversely to their frequency",
    )
    parser.add_argument(
        "--max-train",
        type=int,
        default=None,
        help="fit (and search) on a stratified subsample of at most N training embeddings",
    )


def add_heads_flags(parser: argparse.ArgumentParser, *, default: str | None, default_text: str = "all") -> None:
    """`--heads` and `--search`, shared by `fer heads`, `fer reproduce` and `fer jobs submit`."""
    parser.add_argument(
        "--heads",
        default=default,
        metavar="NAMES",
        help=f"comma-separated heads to fit: {', '.join(HEAD_NAMES)} (default: {default_text})",
    )
    parser.add_argument(
        "--search",
        action="store_true",
        default=None if default is None else False,
        help="random search (the paper's: 25 candidates, 3-fold stratified CV inside train)",
    )


def parse_heads(text: str) -> list[str]:
    """'svm,rf' -> ['svm', 'rf'], each a registered head."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise ConfigError(f"no head named; choose from {', '.join(HEAD_NAMES)}")
    for name in names:
        if name not in HEAD_NAMES:
            raise ConfigError(f"unknown head '{name}'; choose from {', '.join(HEAD_NAMES)}")
    return names


def class_weight_option(value: str) -> str | None:
    """'none' -> None (the CLI spelling of no class weighting)."""
    return None if value == "none" else value


def heads_command(args: argparse.Namespace) -> int:
    """Fit the heads and print a table of fit time, training accuracy and val/test scores."""
    from fer_engine.heads import fit_heads
    from fer_engine.pipeline import resolve_run

    run = resolve_run(args.run, args.runs_root)

    def progress(event: dict) -> None:
        if event["event"] == "head_started":
            print(f"fitting {event['head']}{' (random search)' if event['search'] else ''} ...", flush=True)

    records = fit_heads(
        run,
        parse_heads(args.heads),
        search=args.search,
        class_weight=class_weight_option(args.class_weight),
        n_iter=args.n_iter,
        cv=args.cv,
        max_train=args.max_train,
        random_state=args.seed,
        on_event=progress,
    )
    print(f"{'head':<8} {'n_train':>8} {'fit_s':>8} {'train acc (fitted)':>19} {'val acc':>8} {'val macro F1':>13}")
    for name, record in records.items():
        val = record.scores.get("val", {})
        val_acc = f"{val['accuracy'] * 100:.2f}%" if val else "absent"
        val_f1 = f"{val['macro_f1']:.3f}" if val else "absent"
        print(
            f"{name:<8} {record.n_train:>8} {record.fit_seconds:>8.1f} {record.training_accuracy * 100:>18.2f}% "
            f"{val_acc:>8} {val_f1:>13}"
        )
    print(f"heads written to {run.heads_dir}")
    return 0
