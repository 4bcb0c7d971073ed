"""`fer sweep create | list | show | stop | resume`: Optuna hyperparameter sweeps whose trials are queued jobs."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from fer_engine.cli.options import add_training_options, training_overrides
from fer_engine.errors import ConfigError
from fer_engine.sweeps.manage import list_sweeps, resume_sweep, start_sweep, stop_sweep, view_sweep
from fer_engine.sweeps.space import load_space_file
from fer_engine.sweeps.storage import SweepConfig
from fer_engine.sweeps.study import METRICS, PRUNERS, SAMPLERS


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `fer sweep ...`."""
    parser = subparsers.add_parser("sweep", help="hyperparameter sweeps (Optuna) run as queued jobs")
    commands = parser.add_subparsers(dest="sweep_command", metavar="COMMAND", required=True)

    create = commands.add_parser("create", help="create a sweep and queue its first trials")
    create.add_argument(
        "sweep_name",
        metavar="NAME",
        nargs="?",
        default=None,
        help="the sweep's name: letters, digits, - and _ (or --name; default: sweep-<date>-<time>)",
    )
    create.add_argument("--space", required=True, metavar="FILE", help="search space, YAML or JSON (docs/sweeps.md)")
    create.add_argument("--trials", type=int, required=True, metavar="N", help="trials in all")
    create.add_argument("--parallel", type=int, default=2, metavar="K", help="trials in flight at a time (default 2)")
    create.add_argument(
        "--metric",
        default="val_accuracy",
        choices=tuple(METRICS),
        help="per-epoch validation metric a trial is judged on (its best epoch; default val_accuracy)",
    )
    create.add_argument(
        "--direction", default=None, choices=("maximize", "minimize"), help="default: maximize, minimize for val_loss"
    )
    create.add_argument("--sampler", default="tpe", choices=SAMPLERS, help="default tpe")
    create.add_argument("--pruner", default="median", choices=PRUNERS, help="default median")
    create.add_argument(
        "--pruner-startup-trials",
        type=int,
        default=5,
        help="median pruner: trials that complete before any is pruned (default 5)",
    )
    create.add_argument(
        "--pruner-warmup-epochs",
        type=int,
        default=0,
        help="median pruner: epochs of each trial never pruned (default 0)",
    )
    create.add_argument("--sampler-seed", type=int, default=0, help="seed of the sampler (default 0)")
    add_training_options(create, preset_default="fast_cpu", threads=False)
    create.add_argument("--start-worker", action="store_true", help="start a background worker if none is alive")
    create.set_defaults(func=create_command)

    listing = commands.add_parser("list", help="sweeps, newest first")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=list_command)

    show = commands.add_parser("show", help="a sweep's trials, best first")
    show.add_argument("sweep_name", metavar="NAME")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=show_command)

    stop = commands.add_parser("stop", help="queue no more trials (trials in flight finish unless --cancel)")
    stop.add_argument("sweep_name", metavar="NAME")
    stop.add_argument("--cancel", action="store_true", help="also cancel the trials in flight")
    stop.set_defaults(func=stop_command)

    resume = commands.add_parser("resume", help="continue a stopped sweep (finished trials are kept)")
    resume.add_argument("sweep_name", metavar="NAME")
    resume.add_argument("--trials", type=int, default=None, metavar="N", help="a new total of trials")
    resume.add_argument("--start-worker", action="store_true", help="start a background worker if none is alive")
    resume.set_defaults(func=resume_command)

    for sub in (create, listing, show, stop, resume):
        sub.add_argument("--runs-root", default=None, help="runs root (default: $FER_RUNS_DIR or ./runs)")
        sub.add_argument(
            "--storage",
            default=None,
            metavar="URL",
            help="sweeps database URL (default: $FER_SWEEPS_DB, else sweeps.sqlite in the runs root)",
        )


def config_from_args(args: argparse.Namespace) -> SweepConfig:
    """The SweepConfig `fer sweep create` describes (validated when the sweep is created)."""
    if not args.data:
        raise ConfigError("give --data PATH: the dataset every trial trains on")
    space = load_space_file(args.space)
    overrides = training_overrides(args)
    base: dict[str, Any] = {"data_path": args.data, "preset": args.preset, "overrides": overrides}
    if "limit" in overrides:
        base["limit"] = overrides.pop("limit")
    name = args.sweep_name or args.name or time.strftime("sweep-%Y%m%d-%H%M%S")
    if args.sweep_name and args.name and args.sweep_name != args.name:
        raise ConfigError(f"two sweep names given: '{args.sweep_name}' and --name {args.name}")
    return SweepConfig(
        name=name,
        space=space.to_dict(),
        trials=args.trials,
        parallel=args.parallel,
        metric=args.metric,
        direction=args.direction or METRICS[args.metric],
        sampler=args.sampler,
        pruner=args.pruner,
        pruner_startup_trials=args.pruner_startup_trials,
        pruner_warmup_epochs=args.pruner_warmup_epochs,
        seed=args.sampler_seed,
        base_spec=base,
    )


def create_command(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    queued = start_sweep(config, args.runs_root, url=args.storage)
    print(f"sweep {config.name}: {config.trials} trials, {config.parallel} at a time; {queued} queued now")
    print(f"follow it with `fer sweep show {config.name}` (workers queue the next trials as these finish)")
    _maybe_start_worker(args)
    return 0


def list_command(args: argparse.Namespace) -> int:
    rows = list_sweeps(args.runs_root, url=args.storage)
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "name": r.name,
                        "status": r.status,
                        "message": r.message,
                        "created_at": r.created_at,
                        "config": r.config.to_dict(),
                    }
                    for r in rows
                ],
                indent=2,
            )
        )
        return 0
    if not rows:
        print("no sweeps (create one with `fer sweep create`)")
        return 0
    for row in rows:
        created = time.strftime("%Y-%m-%d %H:%M", time.localtime(row.created_at))
        config = row.config
        print(
            f"{row.name}  {row.status}  {config.trials} trials x{config.parallel}  {config.direction} "
            f"{config.metric}  {config.sampler}/{config.pruner}  {created}"
            + (f"  ({row.message})" if row.message else "")
        )
    return 0


def show_command(args: argparse.Namespace) -> int:
    view = view_sweep(args.sweep_name, args.runs_root, url=args.storage)
    if args.json:
        print(
            json.dumps(
                {
                    "name": view.row.name,
                    "status": view.row.status,
                    "message": view.row.message,
                    "config": view.row.config.to_dict(),
                    "best": view.best,
                    "trials": view.trials,
                },
                indent=2,
            )
        )
        return 0
    config = view.row.config
    counts = ", ".join(f"{n} {state}" for state, n in sorted(view.counts().items())) or "no trials yet"
    print(f"sweep {view.row.name}  {view.row.status}  ({counts}; {config.trials} planned)")
    if view.row.message:
        print(f"  note: {view.row.message}")
    if view.best:
        print(
            f"  best: trial {view.best['trial']}  {config.metric}={view.best['value']:.4f}  run {view.best['run_id']}"
        )
        print(f"        {_params_text(view.best['params'])}")
    for trial in view.trials:
        value = f"{trial['value']:.4f}" if trial["value"] is not None else "-"
        print(
            f"  #{trial['trial']:<3} {trial['state']:<8} {value:>8}  job {trial['job_id'] or '-'}"
            f" ({trial['job_state'] or '-'})  run {trial['run_id'] or '-'}  {_params_text(trial['params'])}"
        )
    return 0


def stop_command(args: argparse.Namespace) -> int:
    cancelled = stop_sweep(args.sweep_name, args.runs_root, url=args.storage, cancel_running=args.cancel)
    extra = f"; cancelled job(s) {', '.join(map(str, cancelled))}" if cancelled else ""
    print(f"sweep {args.sweep_name} stopped: no new trials{extra}; `fer sweep resume {args.sweep_name}` continues it")
    return 0


def resume_command(args: argparse.Namespace) -> int:
    queued = resume_sweep(args.sweep_name, args.runs_root, url=args.storage, trials=args.trials)
    print(f"sweep {args.sweep_name} resumed; {queued} trial(s) queued now")
    _maybe_start_worker(args)
    return 0


def _maybe_start_worker(args: argparse.Namespace) -> None:
    from fer_engine.jobs.queue import JobQueue

    queue = JobQueue(args.runs_root)
    if args.start_worker:
        from fer_engine.jobs.local_worker import ensure_local_worker

        pid = ensure_local_worker(queue.root)
        if pid is not None:
            print(f"started a background worker (pid {pid}, log {queue.root / 'worker.log'})")
    elif not queue.live_workers(60.0):
        print("no worker is running: start one with `fer worker` (or pass --start-worker)")


def _params_text(params: dict[str, Any]) -> str:
    return " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())
