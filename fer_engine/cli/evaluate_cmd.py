"""`fer evaluate`: score a checkpoint's softmax classifier or one of its run's heads on a split of a dataset."""

from __future__ import annotations

import argparse
import json

from fer_engine.classes import SPLIT_NAMES
from fer_engine.cli.embed_cmd import add_tta_option
from fer_engine.heads.registry import CLASSIFIER_NAMES, SOFTMAX


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `fer evaluate`."""
    parser = subparsers.add_parser("evaluate", help="accuracy, macro/weighted P/R/F1, per class and confusion matrix")
    parser.add_argument("--checkpoint", required=True, help="checkpoint folder, run folder or run id")
    parser.add_argument("--data", required=True, help="dataset (csv, zip or image folder)")
    parser.add_argument("--split", required=True, choices=SPLIT_NAMES, help="val = PublicTest, test = PrivateTest")
    parser.add_argument(
        "--head",
        default=SOFTMAX,
        choices=CLASSIFIER_NAMES,
        help="the network's classifier (softmax) or a head fitted with `fer heads`",
    )
    add_tta_option(parser)
    parser.add_argument("--json", action="store_true", help="print the full result as JSON")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda:N")
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--runs-root", default=None, help="runs root for run ids (default: $FER_RUNS_DIR or ./runs)")
    parser.set_defaults(func=evaluate_command)


def evaluate_command(args: argparse.Namespace) -> int:
    """Evaluate and print a summary (or JSON with accuracy, macro_f1, weighted_f1, per_class, confusion_matrix, n)."""
    from fer_engine.data import load_dataset
    from fer_engine.evaluation.evaluate import evaluate_checkpoint

    dataset = load_dataset(args.data)
    metrics = evaluate_checkpoint(
        args.checkpoint,
        dataset,
        args.split,
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
    print(f"accuracy {metrics.accuracy * 100:.2f}%  balanced accuracy {metrics.balanced_accuracy * 100:.2f}%")
    print(f"macro     P {metrics.macro_precision:.3f}  R {metrics.macro_recall:.3f}  F1 {metrics.macro_f1:.3f}")
    print(
        f"weighted  P {metrics.weighted_precision:.3f}  R {metrics.weighted_recall:.3f}  F1 {metrics.weighted_f1:.3f}"
    )
    print(f"{'class':<10} {'P':>6} {'R':>6} {'F1':>6} {'support':>8}")
    for name, scores in metrics.per_class.items():
        precision, recall, f1, support = (scores[key] for key in ("precision", "recall", "f1", "support"))
        print(f"{name:<10} {precision:>6.3f} {recall:>6.3f} {f1:>6.3f} {support:>8}")
    return 0
