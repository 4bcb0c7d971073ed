"""`fer evaluate`: score a checkpoint's classifier (or a fitted head) on FER2013 or any labelled face set.

FER2013 (or any source with split folders) keeps `--split train|val|test`. A set without split folders is
scored whole (`--split all`, its default), its class names matched through the aliases; such evaluations,
and every `--through-photo-path` one, are saved beside the run's FER2013 evaluations
(`fer_engine.evaluation.cross_dataset`).
"""

from __future__ import annotations

import argparse
import json
import sys

from fer_engine.classes import ALL_SPLITS, SPLIT_NAMES
from fer_engine.cli.embed_cmd import add_tta_option
from fer_engine.errors import ConfigError
from fer_engine.heads.registry import CLASSIFIER_NAMES, SOFTMAX


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `fer evaluate`."""
    parser = subparsers.add_parser("evaluate", help="accuracy, macro/weighted P/R/F1, per class and confusion matrix")
    parser.add_argument("--checkpoint", required=True, help="checkpoint folder, run folder or run id")
    parser.add_argument("--data", required=True, help="dataset (csv, zip or image folder; any <class>/<image> tree)")
    parser.add_argument(
        "--split",
        default=None,
        choices=(*SPLIT_NAMES, ALL_SPLITS),
        help="val = PublicTest, test = PrivateTest, all = every image (the default for a set without split folders)",
    )
    parser.add_argument(
        "--through-photo-path",
        action="store_true",
        help="run each image through face detection, FER framing and eye levelling as `fer predict` does "
        "(an image with no face found is counted and scored as wrong)",
    )
    parser.add_argument(
        "--head",
        default=SOFTMAX,
        choices=CLASSIFIER_NAMES,
        help="the network's classifier (softmax) or a head fitted with `fer heads`",
    )
    add_tta_option(parser)
    parser.add_argument("--json", action="store_true", help="print the full result as JSON")
    parser.add_argument("--no-save", action="store_true", help="do not store an other-dataset evaluation in the run")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda:N")
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--runs-root", default=None, help="runs root for run ids (default: $FER_RUNS_DIR or ./runs)")
    parser.set_defaults(func=evaluate_command)


def evaluate_command(args: argparse.Namespace) -> int:
    """Evaluate and print a summary (or JSON with accuracy, macro_f1, weighted_f1, per_class, confusion_matrix, n)."""
    from fer_engine.data import load_dataset

    if args.split in (None, ALL_SPLITS):
        dataset = load_dataset(args.data, val_fraction=0.0)  # every image where the source put it, none drawn
        split = args.split or default_split(dataset)
    else:
        dataset, split = load_dataset(args.data), args.split
    if split == ALL_SPLITS or args.through_photo_path or not _has_model_classes(dataset, args):
        return _evaluate_other_dataset(args, dataset, split)
    from fer_engine.evaluation.evaluate import evaluate_checkpoint

    metrics = evaluate_checkpoint(
        args.checkpoint,
        dataset,
        split,
        head=args.head,
        tta=args.tta,
        device=args.device,
        batch_size=args.batch_size,
        runs_root=args.runs_root,
    )
    if args.json:
        print(json.dumps(metrics.to_dict(), indent=2))
        return 0
    print(f"{metrics.head} on {metrics.split} ({metrics.score_kind}), n={metrics.n}, tta={args.tta}")
    _print_scores(metrics)
    return 0


def default_split(dataset) -> str:
    """`all` for a set without split folders; a source with real splits (FER2013) must say which one."""
    if set(dataset.splits) == {"train"}:
        return ALL_SPLITS
    raise ConfigError(
        f"{dataset.source} has the splits {', '.join(dataset.splits)}: choose one with --split "
        f"{'|'.join(SPLIT_NAMES)} (val = PublicTest, test = PrivateTest), or --split all to score every image"
    )


def _has_model_classes(dataset, args: argparse.Namespace) -> bool:
    """True when the dataset's classes are exactly the model's (FER2013), so labels need no mapping."""
    from fer_engine.models.checkpoint import read_card, resolve_checkpoint_dir

    card = read_card(resolve_checkpoint_dir(args.checkpoint, args.runs_root))
    return list(dataset.class_names) == list(card.class_names)


def _evaluate_other_dataset(args: argparse.Namespace, dataset, split: str) -> int:
    """Score any labelled set (aliases, skipped and absent classes, optional photo path), save and print it."""
    from fer_engine.evaluation.cross_dataset import evaluate_on_dataset

    def progress(done: int, total: int) -> None:
        if total >= 500 and not args.json:
            print(f"  {done}/{total} images", file=sys.stderr, flush=True)

    result = evaluate_on_dataset(
        args.checkpoint,
        dataset,
        split,
        through_photo_path=args.through_photo_path,
        head=args.head,
        tta=args.tta,
        device=args.device,
        runs_root=args.runs_root,
        save=not args.no_save,
        on_progress=progress,
    )
    metrics = result.metrics
    if args.json:
        print(json.dumps({**metrics.to_dict(), "saved_to": str(result.path) if result.path else None}, indent=2))
        return 0
    protocol = metrics.protocol
    print(f"{metrics.head} on {dataset.source} (split {split}, {protocol['input']}), n={metrics.n}, tta={args.tta}")
    print(
        "classes: "
        + ", ".join(
            f"{name} -> {target or 'skipped (not a model class)'}" for name, target in result.scoring.mapping.items()
        )
    )
    if result.scoring.skipped_classes:
        skipped = ", ".join(f"{name} {count}" for name, count in result.scoring.skipped_classes.items())
        print(f"skipped {result.scoring.skipped_images} images of classes the model lacks ({skipped})")
    if protocol.get("classes_absent"):
        print(
            f"absent from the data: {', '.join(protocol['classes_absent'])} "
            f"(macro averages over the {len(protocol['macro_over'])} classes present)"
        )
    if result.photo is not None:
        photo = result.photo
        print(
            f"photo path ({protocol.get('detector')}): no face found in {photo.no_face} of {metrics.n} images "
            f"(scored as wrong); {photo.several_faces} with several faces (largest scored); "
            f"{photo.unreadable} unreadable"
        )
    _print_scores(metrics)
    if result.path:
        print(f"saved {result.path}")
    return 0


def _print_scores(metrics) -> None:
    print(f"accuracy {metrics.accuracy * 100:.2f}%  balanced accuracy {metrics.balanced_accuracy * 100:.2f}%")
    print(f"macro     P {metrics.macro_precision:.3f}  R {metrics.macro_recall:.3f}  F1 {metrics.macro_f1:.3f}")
    print(
        f"weighted  P {metrics.weighted_precision:.3f}  R {metrics.weighted_recall:.3f}  F1 {metrics.weighted_f1:.3f}"
    )
    print(f"{'class':<10} {'P':>6} {'R':>6} {'F1':>6} {'support':>8}")
    for name, scores in metrics.per_class.items():
        precision, recall, f1, support = (scores[key] for key in ("precision", "recall", "f1", "support"))
        print(f"{name:<10} {precision:>6.3f} {recall:>6.3f} {f1:>6.3f} {support:>8}")
