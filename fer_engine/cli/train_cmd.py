"""`fer train`: train a model from a preset with any field overridden, into an indexed, resumable run."""

from __future__ import annotations

import argparse
import logging
import shlex
import signal
import threading
from pathlib import Path
from typing import Any

from fer_engine.cli.options import COMMON_FIELDS, add_training_options, apply_threads, training_overrides
from fer_engine.errors import ConfigError, DataError
from fer_engine.runs.layout import RunPaths
from fer_engine.runs.store import RunStore

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
# Fields that may change when a run is resumed (the rest must stay as trained).
RESUMABLE_FIELDS = ("epochs", "device", "precision")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `fer train`."""
    from fer_engine.inference import TTA_MODES
    from fer_engine.metric_learning import DISTANCES, MINERS
    from fer_engine.training.config import CLASS_WEIGHTINGS, LOSSES, PRECISIONS, SELECT_METRICS

    parser = subparsers.add_parser(
        "train", help="train a model (preset + overrides) into a new run",
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
    parser.add_argument("--select-metric", choices=SELECT_METRICS, default=None, help="val metric choosing the checkpoint")
    parser.add_argument("--precision", choices=PRECISIONS, default=None)
    parser.add_argument("--pretrained", default=None, metavar="PATH|cache",
                        help="ImageNet initialisation from a torchvision weights file, or 'cache' (torch hub cache)")
    parser.add_argument("--input-size", type=int, default=None, help="model input side (images are resized inside)")
    parser.add_argument("--class-weighting", choices=CLASS_WEIGHTINGS, default=None)
    parser.add_argument("--tta", choices=TTA_MODES, default=None, help="test-time augmentation of per-epoch validation")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model")
    parser.add_argument("--skip-bad", action="store_true", help="skip unreadable images instead of failing")
    parser.add_argument("--runs-root", default=None, help="runs root (default: $FER_RUNS_DIR or ./runs)")
    parser.add_argument("--resume", default=None, metavar="RUN", help="continue this run from its last completed epoch")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="show a progress bar (default: when stderr is a terminal)")
    parser.set_defaults(func=train_command, _parser=parser)


def train_command(args: argparse.Namespace) -> int:
    """Validate everything, create (or reopen) the run, train, and record the outcome in the run index."""
    from fer_engine.device import resolve_device
    from fer_engine.training.trainer import check_training_inputs

    apply_threads(args.threads)
    store = RunStore(args.runs_root)
    if args.resume:
        paths, config, dataset = _prepare_resume(args, store)
        check_training_inputs(config, dataset)
        context = _join_torchrun(config.device)
    else:
        config = _config_from_args(args)
        resolve_device(config.device)  # a CUDA request on a CPU machine fails before the data is read
        dataset = _load_data(args.data, args.skip_bad)
        check_training_inputs(config, dataset)
        context = _join_torchrun(config.device)
        run_id = None
        if context.is_main:
            run_id = store.create_run(name=args.name or config.preset, kind="train",
                                      config=_run_config(config, dataset, _command_line(args))).run_id
        paths = RunPaths(store.root / context.broadcast(run_id))
    try:
        return _run_training(args, store, paths, config, dataset, is_main=context.is_main)
    finally:
        context.close()


def _join_torchrun(device: str):
    """Under `torchrun`, join the process group now so that rank 0 alone creates the run (a world of one otherwise)."""
    from fer_engine.device import resolve_device
    from fer_engine.training.distributed import DistributedContext

    return DistributedContext.from_environment(resolve_device(device).type)


def _config_from_args(args: argparse.Namespace):
    """The preset with the flags and `--set` overrides applied (ConfigError names any bad field or value)."""
    from fer_engine.training.presets import get_preset

    if not args.data:
        raise ConfigError("--data PATH is required (a fer2013.csv, an image folder or a .zip); or --resume RUN")
    overrides = training_overrides(args, FLAG_FIELDS)
    if args.compile:
        overrides["compile"] = True
    if overrides.get("loss") == "triplet" and "select_metric" not in overrides:
        overrides["select_metric"] = "val_knn_accuracy"  # triplet alone trains no classifier head to score
    overrides["data_path"] = str(Path(args.data).expanduser().resolve())
    return get_preset(args.preset).with_overrides(**overrides)


def _load_data(path: str | None, skip_bad: bool):
    from fer_engine.data import load_dataset

    if not path or not Path(path).expanduser().exists():
        raise DataError(f"data path '{path}' does not exist (give a fer2013.csv, an image folder or a .zip)")
    return load_dataset(Path(path).expanduser(), skip_bad=skip_bad)


def _prepare_resume(args: argparse.Namespace, store: RunStore):
    """The run, its saved config (with only epochs/device/precision changeable) and the same data."""
    from fer_engine.training.config import TrainConfig

    paths = store.paths(args.resume)
    saved = paths.read_config()
    config = TrainConfig.from_run_config(saved)
    changes = {field: getattr(args, flag) for flag, field in FLAG_FIELDS.items()
               if getattr(args, flag) is not None and field in RESUMABLE_FIELDS}
    refused = [flag for flag, field in FLAG_FIELDS.items()
               if getattr(args, flag) is not None and field not in RESUMABLE_FIELDS]
    if refused or args.overrides or args.compile:
        raise ConfigError(
            f"--resume continues a run with its saved config; only --epochs, --device and --precision may change "
            f"(got {', '.join('--' + f.replace('_', '-') for f in refused) or '--set/--compile'})"
        )
    config = config.with_overrides(**changes)
    from fer_engine.device import resolve_device

    resolve_device(config.device)
    dataset = _load_data(args.data or config.data_path, args.skip_bad)
    if saved.get("data_fingerprint") and dataset.fingerprint != saved["data_fingerprint"]:
        raise DataError(
            f"the data at {args.data or config.data_path} is not the data run {paths.run_id} was trained on "
            f"(fingerprint {dataset.fingerprint} != {saved['data_fingerprint']})"
        )
    if not paths.resume_state.exists():
        raise ConfigError(f"run {paths.run_id} has no resume state ({paths.resume_state}): it never finished an epoch")
    return paths, config, dataset


def _run_config(config, dataset, command: str) -> dict[str, Any]:
    """config.json: the resolved config, the data identity and summary, and the command that made the run."""
    from fer_engine.data.summary import summarize

    summary = summarize(dataset)
    return {
        **config.to_dict(),
        "data_fingerprint": dataset.fingerprint,
        "command": command,
        "data": {
            "source": summary.source, "source_format": summary.source_format,
            "split_totals": summary.split_totals, "absent_splits": summary.absent_splits,
            "drawn_splits": summary.drawn_splits, "skipped_count": summary.skipped_count,
            "imbalance_ratio": summary.imbalance_ratio,
        },
    }


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
        flag = action.option_strings[-1] if isinstance(action, argparse.BooleanOptionalAction) and value is False \
            else action.option_strings[0]
        if isinstance(action, (argparse._StoreTrueAction, argparse.BooleanOptionalAction)):
            words.append(flag)
        elif isinstance(action, argparse._AppendAction):
            for item in value:
                words += [flag, str(item)]
        else:
            words += [flag, str(value)]
    return shlex.join(words)


def _run_training(args: argparse.Namespace, store: RunStore, paths: RunPaths, config, dataset, *,
                  is_main: bool = True) -> int:
    """Train with Ctrl-C turned into a clean, resumable stop; keep the run index in step with the outcome.

    Under torchrun only rank 0 prints and updates the index (every rank trains)."""
    from fer_engine.training.trainer import train

    if is_main:
        print(f"run {paths.run_id}: {config.arch}, preset {config.preset or '-'}, loss {config.loss}, "
              f"{config.epochs} epochs -> {paths.root}", flush=True)
    stop_requested = threading.Event()
    previous_handler = _install_interrupt_handler(stop_requested)
    log_handler = _attach_run_log(paths) if is_main else None
    if is_main:
        store.update(paths.run_id, status="running")
        logging.getLogger("fer_engine.training").info(
            "%s: preset %s, %d epochs, %s schedule with %g warm-up epochs", "resumed" if args.resume else "started",
            config.preset or "-", config.epochs, config.scheduler, config.warmup_epochs)
    try:
        result = train(config, dataset, paths, resume=bool(args.resume),
                       on_epoch=_print_epoch(config.epochs) if is_main else None,
                       should_stop=stop_requested.is_set, progress_bar=args.progress)
    except BaseException as exc:
        status = "cancelled" if isinstance(exc, KeyboardInterrupt) else "failed"
        if is_main:
            store.update(paths.run_id, status=status, metrics={"error": str(exc)[:500]} if status == "failed" else None)
        raise
    finally:
        if log_handler is not None:
            logging.getLogger("fer_engine.training").removeHandler(log_handler)
            log_handler.close()
        if previous_handler is not None:
            signal.signal(signal.SIGINT, previous_handler)
    if not is_main:
        return 0 if result.status == "succeeded" else 130
    summary = result.summary
    headline = {
        "best_val_accuracy": summary.get("best_val_accuracy"),
        "best_val_macro_f1": summary.get("best_val_macro_f1"),
        "best_val_loss": summary.get("best_val_loss"),
        "best_val_knn_accuracy": summary.get("best_val_knn_accuracy"),
        "best_epoch": summary.get("best_epoch"),
        "train_seconds": summary.get("total_seconds"),
        "epochs_completed": summary.get("epochs_completed"),
    }
    if result.status == "interrupted":
        store.update(paths.run_id, status="cancelled", metrics=headline)
        print(f"stopped after epoch {result.epochs_completed}; continue with: fer train --resume {paths.run_id}"
              + (f" --runs-root {args.runs_root}" if args.runs_root else ""))
        return 130
    store.update(paths.run_id, status="succeeded", metrics=headline)
    print(f"run {paths.run_id} done: best epoch {result.best_epoch} ({config.select_metric}), "
          f"val accuracy {_percent(summary.get('best_val_accuracy'))}, macro-F1 {_number(summary.get('best_val_macro_f1'))}"
          f"{', stopped early' if result.stopped_early else ''}")
    print(f"checkpoint: {paths.checkpoint_dir}")
    return 0


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

