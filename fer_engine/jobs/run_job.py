"""The process that runs one claimed job: `python -m fer_engine.jobs.run_job JOB_ID --root R --lease L`.

It runs the job's spec with the job runner, streams progress into the queue, and records the outcome itself
(succeeded / failed with the reason / cancelled / back to queued when interrupted). SIGTERM, a cancel request, the
loss of its worker or of its lease all make `should_stop()` true, so the trainer saves its resume state and
returns. All its queue writes name the lease, so a process whose job was taken away changes nothing.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any, TextIO

from fer_engine.errors import FerError
from fer_engine.jobs.launch import die_with_parent
from fer_engine.jobs.progress import ProgressTracker, event_dict, is_epoch_end
from fer_engine.jobs.queue import CANCELLED, FAILED, RUNNING, SUCCEEDED, Job, JobQueue
from fer_engine.jobs.ray_backend import DEFAULT_MAX_RESTARTS, RayJobRunner, RayTarget
from fer_engine.jobs.reasons import job_reason
from fer_engine.jobs.runners import DEFAULT_RUNNER, JobRunner, resolve_runner, runner_reference
from fer_engine.runs.layout import RunPaths
from fer_engine.sweeps.trial_hook import reporter_for_job

logger = logging.getLogger("fer_engine.jobs")

PROGRESS_WRITE_INTERVAL_S = 1.0
STEP_EVENTS = ("step_started", "step_done", "step_skipped", "stopped", "pipeline_done", "head_started", "head_fitted")


class StopRequest:
    """`should_stop()` for the pipeline: set once, with the first reason (signal, cancel, worker lost, lease lost)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason: str | None = None

    def request(self, reason: str) -> None:
        if not self._event.is_set():
            self.reason = reason
            self._event.set()

    def __call__(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float) -> bool:
        return self._event.wait(timeout)


def is_out_of_memory(error: BaseException) -> bool:
    """torch.OutOfMemoryError (CUDA/MPS), MemoryError, or a RuntimeError saying 'out of memory'."""
    if isinstance(error, MemoryError) or type(error).__name__ == "OutOfMemoryError":
        return True
    return isinstance(error, RuntimeError) and "out of memory" in str(error).lower()


def is_stop_error(error: BaseException) -> bool:
    """The ways a runner ends early when `should_stop()` said so (the pipeline's PipelineStopped, Ctrl-C)."""
    return isinstance(error, (KeyboardInterrupt, SystemExit)) or type(error).__name__ == "PipelineStopped"


def halved_batch_spec(spec: dict[str, Any], run: RunPaths | None) -> tuple[dict[str, Any], int, int] | None:
    """(spec with half the batch size in its overrides, old, new), or None when the batch size is unknown or 1."""
    overrides = dict(spec.get("overrides") or {})
    current = overrides.get("batch_size")
    if current is None and run is not None:
        current = run.read_config().get("batch_size") if run.config.exists() else None
    if not isinstance(current, int) or current < 2:
        return None
    overrides["batch_size"] = current // 2
    return {**spec, "overrides": overrides}, current, current // 2


def remove_stale_temp_files(folder: Path) -> list[Path]:
    """Delete the temp files of atomic writes a killed process left behind (`.<name>.<random>.tmp`).

    Safe only while this process holds the job's lease: nobody else is writing this run then.
    """
    removed = []
    for path in folder.rglob(".*.tmp"):
        if path.is_file():
            path.unlink(missing_ok=True)
            removed.append(path)
    if removed:
        logger.info("removed %d temp file(s) left by an interrupted attempt", len(removed))
    return removed


class _Tee:
    """Write to several text streams (the job log via stdout and the run's run.log)."""

    def __init__(self, *streams: TextIO):
        self.streams = streams

    def write(self, text: str) -> int:
        for stream in self.streams:
            if not stream.closed:  # a library's log handler may outlive the run.log it was given
                stream.write(text)
                stream.flush()
        return len(text)

    def flush(self) -> None:
        for stream in self.streams:
            stream.flush()

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        """The first stream's descriptor (faulthandler, e.g. in ray.init, needs one)."""
        return self.streams[0].fileno()


class JobProcess:
    """Runs one claimed job to an outcome recorded in the queue."""

    def __init__(
        self,
        queue: JobQueue,
        job_id: int,
        lease: str,
        *,
        runner: JobRunner,
        heartbeat_s: float = 5.0,
        grace_s: float = 60.0,
        parent_pid: int | None = None,
        ray: RayTarget | None = None,
    ):
        self.queue, self.job_id, self.lease, self.ray = queue, job_id, lease, ray
        self.runner, self.heartbeat_s, self.grace_s, self.parent_pid = runner, heartbeat_s, grace_s, parent_pid
        self.stop = StopRequest()
        self.is_rank_zero = int(os.environ.get("RANK", "0")) == 0
        self._tracker = ProgressTracker()
        self._last_progress_write = 0.0
        self._progress_pending = False  # an update the write throttle held back; the heartbeat writes it
        self._progress_lock = threading.Lock()  # events and the heartbeat thread both write progress
        self._done = threading.Event()
        self._run: RunPaths | None = None
        self._index_synced = False
        # The sweep trial this job runs, if any (None for ordinary jobs; no sweeps database is created).
        self._trial = reporter_for_job(queue.root, job_id) if self.is_rank_zero else None

    # ---- the outcome -------------------------------------------------------------------------------------------
    def run(self) -> str:
        """Run the job; returns the state recorded ('succeeded', 'failed', 'cancelled', 'queued', or 'lost')."""
        job = self.queue.get(self.job_id)
        if job.state != RUNNING or job.lease != self.lease:
            logger.warning("job %s is no longer leased to this process; nothing to do", self.job_id)
            return "lost"
        threading.Thread(target=self._watch, name="job-watch", daemon=True).start()
        try:
            run = self._run = self._resolve_run(job)
        except BaseException as error:  # noqa: BLE001 - e.g. the run to resume was deleted: the recorded reason
            self._done.set()
            return self._after_error(job, None, error)
        try:
            with self._run_log(run):
                logger.info(
                    "job %s: running %s into run %s (attempt %s, device %s)",
                    job.id,
                    job.name or "job",
                    run.run_id,
                    job.attempts + 1,
                    job.device,
                )
                try:
                    self._runner_for(job)(job.spec, run=run, on_event=self._on_event, should_stop=self.stop)
                except BaseException as error:  # noqa: BLE001 - every failure becomes the job's recorded reason
                    return self._after_error(job, run, error)
                return self._after_return(run)
        finally:
            self._done.set()
            if self.is_rank_zero:
                self._sync_index_quietly(run)

    def _runner_for(self, job: Job) -> JobRunner:
        """The job runner itself, or (worker started with --backend ray) a runner that runs it on the Ray cluster
        with one Ray worker per device the job asked for."""
        if self.ray is None:
            return self.runner
        return RayJobRunner(self.ray, runner_reference(self.runner), num_workers=job.num_devices, job_id=job.id)

    def _sync_index_quietly(self, run: RunPaths) -> None:
        try:
            self.queue.store.sync_from_config(run.run_id)
        except Exception as error:  # noqa: BLE001 - the outcome is recorded already; the index is cosmetic here
            logger.warning("job %s: could not refresh the run index: %s", self.job_id, error)

    def _after_return(self, run: RunPaths) -> str:
        if not self.stop():
            return self._finish(SUCCEEDED, None)
        if self._run_succeeded(run):
            return self._finish(SUCCEEDED, None)
        return self._after_interruption()

    def _after_interruption(self) -> str:
        reason = self.stop.reason or "stopped"
        if reason == "lease lost":
            logger.warning("job %s was taken away from this process; leaving it as it is", self.job_id)
            return "lost"
        if reason == "pruned":
            return self._finish(CANCELLED, "pruned by the sweep's pruner")
        if reason == "cancel" or self._cancel_requested():
            return self._finish(CANCELLED, "cancelled by user")
        if self.is_rank_zero:
            self.queue.requeue(self.job_id, lease=self.lease, reason=f"interrupted ({reason}); will resume")
        logger.info(
            "job %s interrupted (%s); back in the queue, it resumes from its last saved state", self.job_id, reason
        )
        return "queued"

    def _after_error(self, job: Job, run: RunPaths | None, error: BaseException) -> str:
        if self.stop() and is_stop_error(error):
            return self._after_interruption()
        out_of_memory = is_out_of_memory(error)
        reason = (
            f"out of memory ({type(error).__name__}); the job log has the details"
            if out_of_memory
            else job_reason(error)
        )
        # The full message and traceback go to the job log (its owner reads it), never into the shared reason.
        logger.error("job %s failed: %s\n%s", self.job_id, reason, "".join(traceback.format_exception(error)))
        if out_of_memory:
            # The trainer resumes only with the same batch size: halve it only before any resume state exists.
            halved = halved_batch_spec(job.spec, run) if run is None or not run.resume_state.exists() else None
            if halved is not None and job.attempts + 1 < job.max_attempts and self.is_rank_zero:
                spec, old, new = halved
                note = f"out of memory at batch size {old}; re-queued with batch size {new}"
                self.queue.requeue(self.job_id, lease=self.lease, reason=note, count_attempt=True, spec=spec)
                logger.warning("job %s: %s", self.job_id, note)
                return "queued"
        return self._finish(FAILED, reason)

    def _finish(self, state: str, error: str | None) -> str:
        if self.is_rank_zero:
            self._write_progress(force=True)
            if not self.queue.finish(self.job_id, state, error, lease=self.lease):
                logger.warning("job %s: outcome '%s' not recorded, the job was taken away", self.job_id, state)
                return "lost"
        logger.info("job %s %s%s", self.job_id, state, f": {error}" if error else "")
        return state

    def _run_succeeded(self, run: RunPaths) -> bool:
        try:
            return self.queue.store.get(run.run_id).status == SUCCEEDED
        except FerError:
            return False

    def _cancel_requested(self) -> bool:
        try:
            return self.queue.get(self.job_id).cancel_requested
        except FerError:
            return False

    # ---- the run folder and its log ---------------------------------------------------------------------------
    def _resolve_run(self, job: Job) -> RunPaths:
        """The job's run: the one it started before (resume), the spec's resume_run_id, or a new one (created by
        rank 0 and recorded on the job before any work, so a re-queued job resumes it; other ranks wait for it)."""
        existing = job.run_id or job.spec.get("resume_run_id")
        if not self.is_rank_zero:
            existing = existing or self._wait_for_run_id()
        if existing:
            run = self.queue.store.find(existing)
            if self.is_rank_zero:
                remove_stale_temp_files(run.root)
        else:
            overrides = job.spec.get("overrides") or {}
            config = {"job_id": job.id, "preset": job.spec.get("preset") or "", "arch": overrides.get("arch") or ""}
            run = self.queue.store.create_run(name=job.name or f"job-{job.id}", kind="train", config=config)
        if self.is_rank_zero and job.run_id != run.run_id:
            self.queue.attach_run(self.job_id, run.run_id, lease=self.lease)
        return run

    def _wait_for_run_id(self, timeout_s: float = 300.0) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not self.stop():
            run_id = self.queue.get(self.job_id).run_id
            if run_id:
                return run_id
            time.sleep(0.2)
        raise FerError(f"job {self.job_id}: rank 0 did not create the run within {timeout_s:.0f} s")

    def _run_log(self, run: RunPaths):
        """Tee stdout/stderr and the logging output into the run's run.log while the job runs."""
        return _TeeToFile(run.log_file if self.is_rank_zero else None)

    # ---- progress, heartbeat, stop conditions -----------------------------------------------------------------
    def _on_event(self, event: Any) -> None:
        data = event_dict(event)
        if self._trial is not None and is_epoch_end(data) and self._trial.on_epoch(data):
            self.stop.request("pruned")  # the sweep's pruner stops this trial; the trainer saves and returns
        if self._run is not None and self.is_rank_zero and (not self._index_synced or is_epoch_end(data)):
            # Copy arch/preset/loss from the config the pipeline resolved into the run index (cheap, rare).
            self._index_synced = self.queue.store.sync_from_config(self._run.run_id)
        with self._progress_lock:
            step_before = self._tracker.progress.step
            progress = self._tracker.update(data)
        # A new step, or a step's start/end, is written at once: the table must never name a step that is over.
        step_changed = progress.step != step_before or data.get("event") in STEP_EVENTS
        if is_epoch_end(data) and progress.epoch is not None:
            metrics = " ".join(f"{k}={v:.4g}" for k, v in progress.metrics.items() if isinstance(v, float))
            eta = f" ETA {progress.eta_seconds:.0f}s" if progress.eta_seconds is not None else ""
            logger.info(
                "job %s: %s epoch %s/%s %s%s",
                self.job_id,
                progress.step or "train",
                progress.epoch,
                progress.total_epochs or "?",
                metrics,
                eta,
            )
        self._write_progress(force=is_epoch_end(data) or step_changed)

    def _write_progress(self, force: bool = False) -> None:
        """Write the progress to the queue, at most once per PROGRESS_WRITE_INTERVAL_S unless `force`; an update
        held back is written by the next heartbeat, so the last batch of a quiet stretch still shows."""
        if not self.is_rank_zero:
            return
        with self._progress_lock:
            now = time.monotonic()
            if not force and now - self._last_progress_write < PROGRESS_WRITE_INTERVAL_S:
                self._progress_pending = True
                return
            self._last_progress_write, self._progress_pending = now, False
            written = self.queue.update_progress(self.job_id, self._tracker.progress.to_dict(), lease=self.lease)
        if not written:
            self.stop.request("lease lost")

    def _watch(self) -> None:
        """Heartbeat; turn a cancel request, a lost worker or a lost lease into a stop request; force an exit
        when the pipeline does not stop within the grace period after losing its worker or lease."""
        stop_seen_at: float | None = None
        while not self._done.wait(self.heartbeat_s):
            if self.is_rank_zero:
                try:
                    current = self.queue.heartbeat(self.job_id, lease=self.lease)
                except Exception as error:  # noqa: BLE001 - a failing disk must not kill the watcher
                    logger.warning("job %s: heartbeat failed: %s", self.job_id, error)
                    continue
                if current is None:
                    self.stop.request("lease lost")
                elif current.cancel_requested:
                    self.stop.request("cancel")
                elif self._progress_pending:
                    self._write_progress()
            if self.parent_pid is not None and os.getppid() != self.parent_pid:
                self.stop.request("worker lost")
            if self.stop() and self.stop.reason in ("lease lost", "worker lost"):
                stop_seen_at = stop_seen_at or time.monotonic()
                if time.monotonic() - stop_seen_at > self.grace_s:
                    logger.error(
                        "job %s: did not stop within %.0f s after '%s'; exiting",
                        self.job_id,
                        self.grace_s,
                        self.stop.reason,
                    )
                    logging.shutdown()
                    os._exit(3)


class _TeeToFile:
    """Context manager: stdout, stderr and logging also go to `path` (the run's run.log)."""

    def __init__(self, path: Path | None):
        self.path = path
        self._file: TextIO | None = None
        self._saved: tuple[Any, Any] | None = None

    def __enter__(self) -> _TeeToFile:
        if self.path is None:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "a", encoding="utf-8", buffering=1)
        self._saved = (sys.stdout, sys.stderr)
        sys.stdout = _Tee(self._saved[0], self._file)
        sys.stderr = _Tee(self._saved[1], self._file)
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(sys.stderr)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._saved is not None:
            sys.stdout, sys.stderr = self._saved
            for handler in logging.getLogger().handlers:
                if isinstance(handler, logging.StreamHandler):
                    handler.setStream(sys.stderr)
        if self._file is not None:
            self._file.close()


def _install_signal_handlers(stop: StopRequest) -> None:
    def handle(signum: int, _frame: Any) -> None:
        stop.request(f"{signal.Signals(signum).name} received")

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


def main(argv: list[str] | None = None) -> int:
    """Entry point of a job process (started by a worker, directly, under torchrun, or as a Ray driver)."""
    parser = argparse.ArgumentParser(prog="python -m fer_engine.jobs.run_job", description=__doc__)
    parser.add_argument("job_id", type=int)
    parser.add_argument("--root", required=True, help="runs root holding index.sqlite")
    parser.add_argument("--lease", required=True, help="the lease the worker got when it claimed the job")
    parser.add_argument("--runner", default=DEFAULT_RUNNER, help="job runner as module:function")
    parser.add_argument("--parent-pid", type=int, default=None, help="the worker's pid (stop if it dies)")
    parser.add_argument("--heartbeat-s", type=float, default=5.0)
    parser.add_argument("--grace-s", type=float, default=60.0)
    parser.add_argument("--ray-address", default=None, help="run the work on this Ray cluster (HOST:PORT or auto)")
    parser.add_argument("--ray-cpus", type=float, default=1.0, help="CPUs per Ray worker")
    parser.add_argument("--ray-gpus", type=float, default=0.0, help="GPUs per Ray worker")
    parser.add_argument(
        "--ray-max-restarts", type=int, default=DEFAULT_MAX_RESTARTS, help="lost Ray workers replaced before failing"
    )
    args = parser.parse_args(argv)
    die_with_parent()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.parent_pid is not None and os.getppid() != args.parent_pid:
        logger.error("job %s: the worker (pid %s) is already gone; not starting", args.job_id, args.parent_pid)
        return 1
    ray = (
        None
        if args.ray_address is None
        else RayTarget(args.ray_address, args.ray_cpus, args.ray_gpus, args.ray_max_restarts)
    )
    process = JobProcess(
        JobQueue(args.root),
        args.job_id,
        args.lease,
        runner=resolve_runner(args.runner),
        heartbeat_s=args.heartbeat_s,
        grace_s=args.grace_s,
        parent_pid=args.parent_pid,
        ray=ray,
    )
    _install_signal_handlers(process.stop)
    outcome = process.run()
    logging.shutdown()
    return 0 if outcome in (SUCCEEDED, CANCELLED, "queued", "lost") else 1


if __name__ == "__main__":
    sys.exit(main())
