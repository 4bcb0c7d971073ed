"""`fer worker`: serve the job queue of a runs root on this machine's devices, or on a Ray cluster with
`--backend ray` (also `python -m` this module)."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from fer_engine.jobs.ray_backend import DEFAULT_MAX_RESTARTS, RayTarget
from fer_engine.jobs.runners import DEFAULT_RUNNER
from fer_engine.jobs.worker import (
    DEFAULT_CANCEL_GRACE_S,
    DEFAULT_GRACE_S,
    DEFAULT_HEARTBEAT_S,
    DEFAULT_ORPHAN_TIMEOUT_S,
    Worker,
)


def add_worker_arguments(parser: argparse.ArgumentParser) -> None:
    """The worker's options (shared by `fer worker` and `python -m fer_engine.cli.worker_cmd`)."""
    parser.add_argument(
        "--devices", default="auto", help="cpu, cuda:0,cuda:1, cpu,cpu (two CPU slots) or auto (every GPU, else cpu)"
    )
    parser.add_argument("--max-jobs", type=int, default=None, help="exit after running this many jobs")
    parser.add_argument("--once", action="store_true", help="exit when the queue is empty (CI, scripts)")
    parser.add_argument("--runs-root", default=None, help="runs root (default: $FER_RUNS_DIR or ./runs)")
    parser.add_argument("--heartbeat-s", type=float, default=DEFAULT_HEARTBEAT_S, help="heartbeat period")
    parser.add_argument(
        "--orphan-timeout-s",
        type=float,
        default=DEFAULT_ORPHAN_TIMEOUT_S,
        help="re-queue running jobs whose heartbeat is older than this",
    )
    parser.add_argument(
        "--grace-s",
        type=float,
        default=DEFAULT_GRACE_S,
        help="how long a stopping job may take to save its state before it is killed",
    )
    parser.add_argument(
        "--cancel-grace-s",
        type=float,
        default=DEFAULT_CANCEL_GRACE_S,
        help="how long a cancelled job may take to stop before it is killed",
    )
    parser.add_argument("--idle-exit-s", type=float, default=None, help="exit after this long with nothing to do")
    parser.add_argument("--worker-id", default=None, help=argparse.SUPPRESS)
    parser.add_argument(
        "--job-runner",
        default=DEFAULT_RUNNER,
        help="advanced: the module:function each job runs (default: the pipeline)",
    )
    ray = parser.add_argument_group("Ray cluster (--backend ray; needs `pip install -e .[ray]`)")
    ray.add_argument(
        "--backend",
        choices=("local", "ray"),
        default="local",
        help="run jobs on this machine's devices (local) or on a Ray cluster (ray)",
    )
    ray.add_argument(
        "--address",
        default=os.environ.get("FER_RAY_ADDRESS", "auto"),
        help="the Ray head's HOST:PORT, or auto (RAY_ADDRESS or the cluster started on this machine)",
    )
    ray.add_argument(
        "--ray-workers",
        type=int,
        default=2,
        help="Ray workers kept busy at once; a job submitted with --gpus N takes N of them",
    )
    ray.add_argument("--cpus-per-worker", type=float, default=1.0, help="CPUs each Ray worker of a job asks for")
    ray.add_argument(
        "--gpus-per-worker",
        type=float,
        default=0.0,
        help="GPUs each Ray worker of a job asks for (0: train on CPU; 1 on a GPU cluster)",
    )
    ray.add_argument(
        "--max-restarts",
        type=int,
        default=DEFAULT_MAX_RESTARTS,
        help="lost Ray workers (killed process, dead node) replaced per attempt before the job fails",
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `fer worker`."""
    parser = subparsers.add_parser("worker", help="run queued jobs on this machine (Ctrl-C stops it cleanly)")
    add_worker_arguments(parser)
    parser.set_defaults(func=run_worker)


def run_worker(args: argparse.Namespace) -> int:
    """Serve the queue until stopped (or until empty with --once)."""
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    ray = None
    if args.backend == "ray":
        ray = RayTarget(args.address, args.cpus_per_worker, args.gpus_per_worker, args.max_restarts)
    worker = Worker(
        args.runs_root,
        devices=args.devices,
        max_jobs=args.max_jobs,
        once=args.once,
        heartbeat_s=args.heartbeat_s,
        orphan_timeout_s=args.orphan_timeout_s,
        grace_s=args.grace_s,
        idle_exit_s=args.idle_exit_s,
        job_runner=args.job_runner,
        worker_id=args.worker_id,
        cancel_grace_s=args.cancel_grace_s,
        ray=ray,
        ray_workers=args.ray_workers,
    )
    report = worker.run()
    print(
        f"worker {report.worker_id}: ran {len(report.jobs_started)} job(s)"
        f"{f', re-queued orphans {report.orphans_requeued}' if report.orphans_requeued else ''}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m fer_engine.cli.worker_cmd ...`: the worker alone (used to start detached workers)."""
    from fer_engine.errors import FerError

    parser = argparse.ArgumentParser(prog="fer worker")
    add_worker_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run_worker(args)
    except FerError as error:
        print(f"fer: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
