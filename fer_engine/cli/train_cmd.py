"""`fer train`: train a model from a preset with any field overridden, into an indexed, resumable run.

A thin front of the pipeline's train step (`run_pipeline` with steps ['train']): the flags become a
`PipelineSpec`, the pipeline creates or resumes the run, and this module prints progress and handles Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import signal
import threading
from pathlib import Path
from typing import Any

from fer_engine.cli.options import COMMON_FIELDS, add_training_options, apply_threads, training_overrides
from fer_engine.errors import ConfigError
from fer_engine.pipeline import PipelineSpec, PipelineStopped, run_pipeline
from fer_engine.runs.layout import RunPaths
from fer_engine.training.trainer import RESUMABLE_FIELDS

# `fer train` flag -> config field, for the flags that are plain overrides (the common ones included).
FLAG_FIELDS = {
    **COMMON_FIELDS,
    "batch_size": "batch_size",
    "lr": "lr",
    "loss": "loss",
    "miner": "triplet.miner",
    "distance": "triplet.distance",
    "margin": "triplet.margin",
    "precision": "precision",
    "pretrained": "pretrained",
    "input_size": "input_size",
    "class_weighting": "class_weighting",
    "tta": "eval_tta",
    "select_metric": "select_metric",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `fer train`."""
    from fer_engine.inference import TTA_MODES
    from fer_engine.metric_learning import DISTANCES, MINERS
    from fer_engine.training.config import CLASS_WEIGHTINGS, LOSSES, PRECISIONS, SELECT_METRICS

    parser = subparsers.add_parser(
        "train",
        help="train a model (preset + overrides) into a new run",
        description="Train a model from a preset; every config field can be overridden (--set key=value). "
        "The resolved config, the data fingerprint and this command line are saved in the run.",
    )
    add_training_options(parser, preset_default="strong")
    parser.add_argument("--batch-size", type=int, default=None, help="global batch size")
    parser.add_argument("--lr", type=float, default=None, help="(peak) learning rate")
    parser.add_argument("--loss", choices=LOSSES, default=None)
    parser.add_argument("--miner", choices=list(MINERS), default=None, help="triplet mining")
    parser.add_argument("--distance", choices=list(DISTANCES), default=None, help="triplet distance")
    parser.add_argument("--margin", type=float, default=None, help="triplet margin")
    parser.add_argument(
        "--select-metric", choices=SELECT_METRICS, default=None, help="val metric choosing the checkpoint"
    )
    parser.add_argument("--precision", choices=PRECISIONS, default=None)
    parser.add_argument(
        "--pretrained",
        default=None,
        metavar="PATH|cache",
        help="ImageNet initialisation from a torchvision weights file, or 'cache' (torch hub cache)",
    )
    parser.add_argument("--input-size", type=int, default=None, help="model input side (images are resized inside)")
    parser.add_argument("--class-weighting", choices=CLASS_WEIGHTINGS, default=None)
    parser.add_argument("--tta", choices=TTA_MODES, default=None, help="test-time augmentation of per-epoch validation")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model")
    parser.add_argument("--skip-bad", action="store_true", help="skip unreadable images instead of failing")
    parser.add_argument("--runs-root", default=None, help="runs root (default: $FER_RUNS_DIR or ./runs)")
    parser.add_argument("--resume", default=None, metavar="RUN", help="continue this run from its last completed epoch")
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress bar (default: when stderr is a terminal)",
    )
    parser.set_defaults(func=train_command, _parser=parser)


def train_command(args: argparse.Namespace) -> int:
    """Run the pipeline's train step for the flags (a new run, or `--resume RUN`) and report the outcome."""
    apply_threads(args.threads)
    spec = spec_from_args(args)
    is_main = int(os.environ.get("RANK", "0")) == 0  # under torchrun only rank 0 prints
    stop_requested = threading.Event()
    previous_handler = _install_interrupt_handler(stop_requested)
    reporter = _Reporter(is_main)
    try:
        run = run_pipeline(
            spec,
            on_event=reporter,
            should_stop=stop_requested.is_set,
            command=None if args.resume else _command_line(args),
            progress_bar=args.progress,
            server_caps=False,
        )
    except PipelineStopped:
        if reporter.run is not None and is_main:
            summary = reporter.run.read_summary()
            print(
                f"stopped after epoch {summary.get('epochs_completed', 0)}; continue with: "
                f"fer train --resume {reporter.run.run_id}"
                + (f" --runs-root {args.runs_root}" if args.runs_root else "")
            )
        return 130
    finally:
        reporter.close()
        if previous_handler is not None:
            signal.signal(signal.SIGINT, previous_handler)
    if is_main:
        _print_outcome(run)
    return 0


def spec_from_args(args: argparse.Namespace) -> PipelineSpec:
    """The pipeline spec (train step only) a `fer train` command line describes; ConfigError for a bad flag."""
    overrides = training_overrides(args, FLAG_FIELDS)
    if args.compile:
        overrides["compile"] = True
    if args.resume:
        _check_resume_flags(args, overrides)
    elif not args.data:
        raise ConfigError("--data PATH is required (a fer2013.csv, an image folder or a .zip); or --resume RUN")
    elif overrides.get("loss") == "triplet" and "select_metric" not in overrides:
        overrides["select_metric"] = "val_knn_accuracy"  # triplet alone trains no classifier head to score
    limit = overrides.pop("limit", None)
    return PipelineSpec(
        data_path=str(Path(args.data).expanduser().resolve()) if args.data else "",
        preset=args.preset,
        overrides=overrides,
        steps=["train"],
        heads=[],
        runs_root=args.runs_root,
        name=args.name or "",
        limit=limit,
        resume_run_id=args.resume,
        skip_bad=args.skip_bad,
    )


def _check_resume_flags(args: argparse.Namespace, overrides: dict[str, Any]) -> None:
    """With --resume only the flags of the resumable fields may be given (the pipeline checks their values)."""
    refused = [
        flag for flag, field in FLAG_FIELDS.items() if getattr(args, flag) is not None and field not in RESUMABLE_FIELDS
    ]
    if refused or args.overrides or args.compile:
        raise ConfigError(
            f"--resume continues a run with its saved config; only --epochs, --device and --precision may change "
            f"(got {', '.join('--' + f.replace('_', '-') for f in refused) or '--set/--compile'})"
        )


class _Reporter:
    """The pipeline's events as `fer train`'s output: a header, one line per epoch, the run's run.log."""

    def __init__(self, is_main: bool):
        self.is_main = is_main
        self.run: RunPaths | None = None
        self._log_handler: logging.Handler | None = None
        self._print_epoch: Any = None

    def __call__(self, event: dict[str, Any]) -> None:
        if not self.is_main:
            return
        if event.get("event") == "training_started":
            config = event["config"]
            self.run = RunPaths(event["run_root"])
            self._log_handler = self._log_handler or _attach_run_log(self.run)
            self._print_epoch = _print_epoch(config["epochs"])
            print(
                f"run {self.run.run_id}: {config['arch']}, preset {config['preset'] or '-'}, loss {config['loss']}, "
                f"{config['epochs']} epochs -> {self.run.root}",
                flush=True,
            )
        elif event.get("event") == "epoch" and self._print_epoch is not None:
            self._print_epoch(event)

    def close(self) -> None:
        if self._log_handler is not None:
            logging.getLogger("fer_engine.training").removeHandler(self._log_handler)
            self._log_handler.close()


def _print_outcome(run: RunPaths) -> None:
    summary = run.read_summary()
    print(
        f"run {run.run_id} done: best epoch {summary.get('best_epoch')} ({summary.get('select_metric')}), "
        f"val accuracy {_percent(summary.get('best_val_accuracy'))}, macro-F1 {_number(summary.get('best_val_macro_f1'))}"
        f"{', stopped early' if summary.get('stopped_early') else ''}"
    )
    print(f"checkpoint: {run.checkpoint_dir}")


def _command_line(args: argparse.Namespace) -> str:
    """`fer train ...` with every flag the user gave (those that differ from the parser's defaults).

    The preset is always written, so the command keeps its meaning if the default preset changes."""
    parser: argparse.ArgumentParser = args._parser
    words = ["fer", "train"]
    for action in parser._actions:
        if not action.option_strings or action.dest in ("help",):
            continue
        value = getattr(args, action.dest, None)
        if value == action.default and action.dest != "preset":
            continue
        flag = (
            action.option_strings[-1]
            if isinstance(action, argparse.BooleanOptionalAction) and value is False
            else action.option_strings[0]
        )
        if isinstance(action, (argparse._StoreTrueAction, argparse.BooleanOptionalAction)):
            words.append(flag)
        elif isinstance(action, argparse._AppendAction):
            for item in value or ():
                words += [flag, str(item)]
        else:
            words += [flag, str(value)]
    return shlex.join(words)


def _install_interrupt_handler(stop_requested: threading.Event):
    """First Ctrl-C asks training to stop at the next step (resumable); a second one interrupts at once."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handle(signum, frame):  # noqa: ARG001
        if stop_requested.is_set():
            raise KeyboardInterrupt
        stop_requested.set()
        print("\nfer: stopping after this step (Ctrl-C again to abort now)", flush=True)

    return signal.signal(signal.SIGINT, handle)


def _attach_run_log(paths: RunPaths) -> logging.Handler:
    """Per-epoch lines of the trainer also go to the run's run.log."""
    paths.root.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(paths.log_file, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("fer_engine.training")
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    return handler


def _print_epoch(total_epochs: int):
    def report(record: dict[str, Any]) -> None:
        print(
            f"epoch {record['epoch']:>3}/{total_epochs}  train loss {_number(record.get('train_loss'))} "
            f"acc {_percent(record.get('train_accuracy'))} | val loss {_number(record.get('val_loss'))} "
            f"acc {_percent(record.get('val_accuracy'))} F1 {_number(record.get('val_macro_f1'))}"
            + (f" kNN {_percent(record['val_knn_accuracy'])}" if record.get("val_knn_accuracy") is not None else "")
            + f" | lr {record['lr']:.3g} | {record.get('images_per_second') or 0:.0f} img/s | "
            f"{record['epoch_seconds']:.0f} s{'  *best' if record.get('is_best') else ''}",
            flush=True,
        )

    return report


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.2f}%"
