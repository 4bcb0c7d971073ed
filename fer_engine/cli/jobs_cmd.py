"""`fer jobs submit | list | show | cancel | retry | logs`: the durable job queue that workers serve."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from fer_engine.cli.embed_cmd import add_tta_option
from fer_engine.cli.heads_cmd import add_heads_flags, parse_heads
from fer_engine.cli.options import add_training_options, parse_set_overrides, training_overrides
from fer_engine.errors import ConfigError
from fer_engine.jobs.queue import FINISHED_STATES, JOB_STATES, JobQueue
from fer_engine.jobs.summary import job_summary
from fer_engine.pipeline import PIPELINE_STEPS, PipelineSpec

# The one `--set` parser, under the name this module has always exported.
parse_overrides = parse_set_overrides


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `fer jobs ...`."""
    parser = subparsers.add_parser("jobs", help="queue pipeline runs for workers; follow, cancel, retry them")
    commands = parser.add_subparsers(dest="jobs_command", metavar="COMMAND", required=True)

    submit = commands.add_parser("submit", help="queue a pipeline run (a spec file, or --preset/--data)")
    submit.add_argument("spec", nargs="?", type=Path, help="PipelineSpec JSON file (options below override it)")
    add_training_options(
        submit, preset_default=None, preset_default_text=f"the spec file's, else {PipelineSpec().preset}", threads=False
    )
    submit.add_argument("--steps", nargs="+", default=None, choices=PIPELINE_STEPS, help="pipeline steps to run")
    add_heads_flags(submit, default=None, default_text="the spec file's, else all")
    add_tta_option(submit, flag_default="flip", default=None)
    submit.add_argument("--gpus", type=int, default=1, help="devices the job needs (>1: launched with torchrun)")
    submit.add_argument("--max-attempts", type=int, default=3, help="times a lost job is re-queued")
    submit.add_argument("--start-worker", action="store_true", help="start a background worker if none is alive")
    submit.add_argument("--json", action="store_true", help="print the queued job as JSON")
    submit.set_defaults(func=submit_job)

    listing = commands.add_parser("list", help="jobs, newest first")
    listing.add_argument("--state", nargs="+", choices=JOB_STATES, default=None, help="only jobs in these states")
    listing.add_argument("--last", type=int, default=None, metavar="N", help="only the N newest jobs")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=list_jobs)

    show = commands.add_parser("show", help="one job: state, progress, error, run, log")
    show.add_argument("job_id", type=int)
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=show_job)

    cancel = commands.add_parser("cancel", help="cancel a queued job, or stop a running one")
    cancel.add_argument("job_id", type=int)
    cancel.set_defaults(func=cancel_job)

    retry = commands.add_parser("retry", help="queue a failed or cancelled job again (its run resumes)")
    retry.add_argument("job_id", type=int)
    retry.set_defaults(func=retry_job)

    logs = commands.add_parser("logs", help="print a job's log")
    logs.add_argument("job_id", type=int)
    logs.add_argument("--follow", "-f", action="store_true", help="keep printing until the job finishes")
    logs.add_argument("--poll-s", type=float, default=1.0, help=argparse.SUPPRESS)
    logs.set_defaults(func=job_logs)

    for sub in (submit, listing, show, cancel, retry, logs):
        sub.add_argument("--runs-root", default=None, help="runs root (default: $FER_RUNS_DIR or ./runs)")


def build_spec(args: argparse.Namespace) -> dict[str, Any]:
    """The spec dict from a spec file and/or the command-line options (options win)."""
    spec: dict[str, Any] = {}
    if args.spec is not None:
        try:
            spec = json.loads(Path(args.spec).read_text())
        except OSError as error:
            raise ConfigError(f"cannot read spec file {args.spec}: {error.strerror}") from error
        except json.JSONDecodeError as error:
            raise ConfigError(f"spec file {args.spec} is not valid JSON: {error}") from error
        if not isinstance(spec, dict):
            raise ConfigError(f"spec file {args.spec} must hold a JSON object")
    elif args.data is None:
        raise ConfigError("give a spec file, or at least --data PATH (and --preset)")
    overrides = training_overrides(args)
    options = {
        "preset": args.preset,
        "data_path": args.data,
        "steps": args.steps,
        "heads": parse_heads(args.heads) if args.heads is not None else None,
        "search": args.search,
        "tta": args.tta,
        "limit": overrides.pop("limit", None),
        "name": args.name,
    }
    spec.update({key: value for key, value in options.items() if value is not None})
    if overrides:
        spec["overrides"] = {**(spec.get("overrides") or {}), **overrides}
    return spec


def submit_job(args: argparse.Namespace) -> int:
    """Validate and queue a pipeline spec."""
    queue = JobQueue(args.runs_root)
    job = queue.submit(build_spec(args), num_devices=args.gpus, max_attempts=args.max_attempts)
    if args.json:
        print(json.dumps(job.to_dict(), indent=2))
    else:
        print(f"queued job {job.id}{f' ({job.name})' if job.name else ''}; follow it with `fer jobs logs {job.id} -f`")
    if args.start_worker:
        from fer_engine.jobs.local_worker import ensure_local_worker

        pid = ensure_local_worker(queue.root)
        if pid is not None and not args.json:
            print(f"started a background worker (pid {pid}, log {queue.root / 'worker.log'})")
    elif not queue.live_workers(60.0) and not args.json:
        print("no worker is running: start one with `fer worker` (or submit with --start-worker)")
    return 0


def list_jobs(args: argparse.Namespace) -> int:
    """Print the queue."""
    jobs = JobQueue(args.runs_root).list(states=args.state, limit=args.last)
    if args.json:
        print(json.dumps([j.to_dict() for j in jobs], indent=2))
        return 0
    if not jobs:
        print("no jobs (queue one with `fer jobs submit`)")
        return 0
    summaries = [job_summary(job, error_chars=60) for job in jobs]
    rows = [
        (
            str(s.id),
            s.state,
            s.owner or "-",
            s.name or "-",
            s.device or "-",
            s.progress or "-",
            s.run_id or "-",
            s.error,
        )
        for s in summaries
    ]
    header = ("ID", "STATE", "OWNER", "NAME", "DEVICE", "PROGRESS", "RUN", "ERROR")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)))
    return 0


def show_job(args: argparse.Namespace) -> int:
    """Print one job."""
    job = JobQueue(args.runs_root).get(args.job_id)
    if args.json:
        print(json.dumps(job.to_dict(), indent=2))
        return 0
    when = lambda t: time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if t else "-"  # noqa: E731
    summary = job_summary(job)
    print(f"job {job.id}  {summary.state}")
    for label, value in (
        ("name", job.name),
        ("run", job.run_id),
        ("device", job.device),
        ("host", job.host),
        ("worker", job.worker_id),
        ("pid", job.pid),
        ("created", when(job.created_at)),
        ("started", when(job.started_at)),
        ("finished", when(job.finished_at)),
        ("heartbeat", when(job.heartbeat_at)),
        ("attempts", summary.attempts),
        ("owner", job.owner),
        ("progress", summary.progress or "-"),
        ("log", job.log_path),
        ("error", summary.error),
    ):
        if value not in (None, ""):
            print(f"  {label}: {value}")
    if job.progress.get("metrics"):
        print(
            "  last metrics: "
            + ", ".join(
                f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in job.progress["metrics"].items()
            )
        )
    print("  spec: " + json.dumps(job.spec))
    return 0


def cancel_job(args: argparse.Namespace) -> int:
    """Cancel a job."""
    job = JobQueue(args.runs_root).request_cancel(args.job_id)
    if job.state == "cancelled":
        print(f"job {job.id} cancelled")
    else:
        print(f"job {job.id} is running; its worker stops it at the next training step and marks it cancelled")
    return 0


def retry_job(args: argparse.Namespace) -> int:
    """Queue a failed/cancelled job again."""
    job = JobQueue(args.runs_root).retry(args.job_id)
    print(f"job {job.id} queued again{f'; it resumes run {job.run_id}' if job.run_id else ''}")
    return 0


def job_logs(args: argparse.Namespace) -> int:
    """Print a job's log; with --follow, keep printing new lines until the job is finished."""
    queue = JobQueue(args.runs_root)
    job = queue.get(args.job_id)
    path = Path(job.log_path) if job.log_path else None
    position = 0
    while True:
        if path is not None and path.exists():
            with open(path, encoding="utf-8", errors="replace") as handle:
                handle.seek(position)
                chunk = handle.read()
                position = handle.tell()
            if chunk:
                sys.stdout.write(chunk)
                sys.stdout.flush()
        if not args.follow or job.state in FINISHED_STATES:
            break
        time.sleep(args.poll_s)
        job = queue.get(args.job_id)
    if position == 0 and not args.follow:
        print(f"job {job.id} has no log yet ({job.state})")
    return 0
