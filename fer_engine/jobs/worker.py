"""A worker: claims queued jobs for its free devices and runs each in its own process until the queue is served.

With a `RayTarget` (`fer worker --backend ray`) its slots are Ray workers on a cluster instead of local devices: each
job process is then a Ray driver that runs the job's work on the cluster (fer_engine.jobs.ray_backend), and the
worker claims nothing while the cluster is unreachable (the jobs wait in the queue).

Loop: re-queue orphans (jobs whose heartbeat stopped), reap finished job processes, heartbeat itself and the jobs
it watches, stop the jobs a user cancelled, claim a job per free device and start its process. On SIGTERM/SIGINT
it asks its job processes to stop (they save resume state and put their jobs back in the queue), waits, and exits.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from fer_engine.errors import FerError
from fer_engine.jobs.launch import die_with_parent, job_command, job_environment, parse_devices
from fer_engine.jobs.queue import CANCELLED, FAILED, RUNNING, Job, JobQueue
from fer_engine.jobs.ray_backend import RayTarget, cluster_reachable, require_ray
from fer_engine.jobs.runners import DEFAULT_RUNNER, JobRunner, runner_reference

logger = logging.getLogger("fer_engine.jobs.worker")

DEFAULT_HEARTBEAT_S = 5.0
DEFAULT_ORPHAN_TIMEOUT_S = 60.0
DEFAULT_GRACE_S = 60.0
# A cancelled job may take this long to stop on its own (training stops at its next batch); after it, the worker
# kills the job process: embedding, head fitting and evaluation may sit in one long library call.
DEFAULT_CANCEL_GRACE_S = 5.0
RAY_DEVICE = "ray"
MULTI_HOST_REFUSED = (
    "worker {other} on host {host} already serves this runs root: several machines sharing one runs root (SQLite "
    "over a network filesystem) is not supported, it can lose or double jobs. Run one worker next to the runs root "
    "with `fer worker --backend ray --address HEAD:PORT` and let the Ray cluster spread the jobs over machines "
    "(docs/jobs.md, 'Beyond one machine: Ray')"
)


@dataclass
class RunningJob:
    """A job process this worker started and watches."""

    job: Job
    lease: str
    slots: list[int]
    process: subprocess.Popen
    log: IO[Any]
    stop_reason: str | None = None  # 'cancel' or 'shutdown' once the worker asked the process to stop
    stop_sent_at: float | None = None


@dataclass
class WorkerReport:
    """What a worker did before it returned."""

    worker_id: str
    jobs_started: list[int] = field(default_factory=list)
    orphans_requeued: list[int] = field(default_factory=list)


def new_worker_id() -> str:
    """host-pid-random: unique across the machines that share a runs root."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(2)}"


class Worker:
    """Serves the job queue of a runs root with one job per device slot, each job in its own process."""

    def __init__(
        self,
        root: str | Path | None = None,
        devices: tuple[str, ...] | list[str] | str | None = ("cpu",),
        *,
        max_jobs: int | None = None,
        once: bool = False,
        heartbeat_s: float = DEFAULT_HEARTBEAT_S,
        orphan_timeout_s: float = DEFAULT_ORPHAN_TIMEOUT_S,
        grace_s: float = DEFAULT_GRACE_S,
        poll_s: float = 1.0,
        idle_exit_s: float | None = None,
        job_runner: JobRunner | str = DEFAULT_RUNNER,
        worker_id: str | None = None,
        cancel_grace_s: float = DEFAULT_CANCEL_GRACE_S,
        ray: RayTarget | None = None,
        ray_workers: int = 2,
    ):
        self.queue = JobQueue(root)
        self.root = self.queue.root
        self.ray = ray
        if ray is not None:
            require_ray()
            if ray_workers < 1:
                raise FerError("--ray-workers must be at least 1")
            # One slot per Ray worker kept busy at once; a job of N devices holds N (a TorchTrainer of N workers).
            self.devices = [RAY_DEVICE] * ray_workers
        else:
            self.devices = parse_devices(list(devices) if isinstance(devices, tuple) else devices)
        self.max_jobs, self.once, self.idle_exit_s = max_jobs, once, idle_exit_s
        self.heartbeat_s, self.orphan_timeout_s, self.grace_s, self.poll_s = (
            heartbeat_s,
            orphan_timeout_s,
            grace_s,
            poll_s,
        )
        self.cancel_grace_s = cancel_grace_s
        self.runner = runner_reference(job_runner)
        self.worker_id = worker_id or new_worker_id()
        self.host = socket.gethostname()
        self.running: dict[int, RunningJob] = {}
        self.report = WorkerReport(self.worker_id)
        self._stopping = threading.Event()
        self._stop_count = 0
        self._ray_problem: str | None = None

    # ---- lifecycle ----------------------------------------------------------------------------------------------
    def request_stop(self) -> None:
        """Stop claiming, ask the job processes to stop (their jobs go back to the queue), then return from run()."""
        self._stop_count += 1
        self._stopping.set()

    def run(self) -> WorkerReport:
        """Serve the queue until stopped (or, with `once`/`max_jobs`/`idle_exit_s`, until there is no more to do)."""
        from fer_engine.sweeps.scheduler import top_up_quietly  # here: sweeps import the queue, which imports this

        self._refuse_other_hosts()
        previous_handlers = self._install_signal_handlers()
        self.queue.register_worker(self.worker_id, self.devices, pid=os.getpid(), host=self.host)
        logger.info(
            "worker %s serving %s on %s",
            self.worker_id,
            self.root,
            f"the Ray cluster at {self.ray.address} ({len(self.devices)} Ray workers)"
            if self.ray
            else ",".join(self.devices),
        )
        last_beat = last_orphan_check = 0.0
        idle_since = time.monotonic()
        try:
            while not self._stopping.is_set():
                now = time.monotonic()
                if now - last_orphan_check >= min(self.heartbeat_s, self.orphan_timeout_s / 2):
                    self._requeue_orphans()
                    last_orphan_check = now
                self._reap()
                if now - last_beat >= self.heartbeat_s:
                    self.queue.worker_heartbeat(self.worker_id, {rj.job.id: rj.lease for rj in self._alive()})
                    last_beat = now
                self._stop_cancelled()
                self._escalate()
                top_up_quietly(self.root)  # sweeps: record finished trials, queue the next ones (every 5 s at most)
                claimed = self._claim_and_start()
                if self.running or claimed:
                    idle_since = time.monotonic()
                elif self._done(idle_since) and self._leave_if_still_idle():
                    break
                self._stopping.wait(self.poll_s)
        finally:
            self._shutdown()
            self.queue.unregister_worker(self.worker_id)
            for signum, handler in previous_handlers.items():
                signal.signal(signum, handler)
            logger.info("worker %s stopped after %d job(s)", self.worker_id, len(self.report.jobs_started))
        return self.report

    def _refuse_other_hosts(self) -> None:
        """One host serves a runs root: a live worker of another host means a shared-SQLite multi-host set-up."""
        for record in self.queue.live_workers(self.orphan_timeout_s):
            if record.host != self.host:
                raise FerError(MULTI_HOST_REFUSED.format(other=record.worker_id, host=record.host))

    def _leave_if_still_idle(self) -> bool:
        """Unregister, then look at the queue once more: a job submitted meanwhile either is seen here (the worker
        stays) or its submitter finds no live worker and starts one (ensure_local_worker after submit)."""
        self.queue.unregister_worker(self.worker_id)
        if not self.queue.has_queued(max_devices=len(self.devices)):
            return True
        self.queue.register_worker(self.worker_id, self.devices, pid=os.getpid(), host=self.host)
        return False

    def _done(self, idle_since: float) -> bool:
        if self.max_jobs is not None and len(self.report.jobs_started) >= self.max_jobs:
            return True
        if self.once:
            return True
        return self.idle_exit_s is not None and time.monotonic() - idle_since >= self.idle_exit_s

    def _install_signal_handlers(self) -> dict[int, Any]:
        """SIGTERM/SIGINT -> request_stop (main thread only); returns the handlers to restore afterwards."""
        if threading.current_thread() is not threading.main_thread():
            return {}

        def handle(signum: int, _frame: Any) -> None:
            logger.info("worker %s: %s received, stopping", self.worker_id, signal.Signals(signum).name)
            self.request_stop()

        return {signum: signal.signal(signum, handle) for signum in (signal.SIGTERM, signal.SIGINT)}

    # ---- claiming and starting ----------------------------------------------------------------------------------
    def _free_slots(self) -> list[int]:
        busy = {slot for rj in self.running.values() for slot in rj.slots}
        return [slot for slot in range(len(self.devices)) if slot not in busy]

    def _cluster_ready(self) -> bool:
        """Local backend: always. Ray: whether the cluster answers now (a TCP connect before each claim); while it
        does not, queued jobs wait (nothing is claimed, so nothing fails) and the worker keeps serving cancels and
        heartbeats."""
        if self.ray is None:
            return True
        reachable, reason = cluster_reachable(self.ray.address)
        problem = None if reachable else reason
        if problem != self._ray_problem:
            if problem:
                logger.warning("worker %s: %s; queued jobs wait until it answers", self.worker_id, problem)
            else:
                logger.info("worker %s: the Ray cluster at %s answers", self.worker_id, self.ray.address)
        self._ray_problem = problem
        return problem is None

    def _claim_and_start(self) -> bool:
        claimed = False
        if not self._free_slots() or not self._cluster_ready():
            return False
        while not self._stopping.is_set():
            if self.max_jobs is not None and len(self.report.jobs_started) >= self.max_jobs:
                break
            free = self._free_slots()
            if not free:
                break
            job = self.queue.claim(self.worker_id, [self.devices[s] for s in free], host=self.host)
            if job is None:
                break
            self._start(job, free[: job.num_devices])
            claimed = True
        return claimed

    def _start(self, job: Job, slots: list[int]) -> None:
        assert job.lease is not None
        devices = [self.devices[s] for s in slots]
        command = job_command(
            job.id,
            root=self.root.resolve(),
            lease=job.lease,
            runner=self.runner,
            num_devices=job.num_devices,
            parent_pid=os.getpid(),
            heartbeat_s=self.heartbeat_s,
            grace_s=self.grace_s,
            ray_args=self.ray.command_args() if self.ray else None,
        )
        log_path = Path(job.log_path or self.root / "jobs" / f"{job.id}.log")
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(log_path, "a", encoding="utf-8")
        log.write(
            f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} worker {self.worker_id} starts job {job.id}"
            f" on {','.join(devices)} (attempt {job.attempts + 1})\n"
        )
        log.flush()
        try:
            process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self._job_environment(job.id, devices),
                preexec_fn=die_with_parent,
            )
        except OSError as error:
            log.close()
            self.queue.finish(job.id, FAILED, f"could not start the job process: {error}", lease=job.lease)
            return
        self.queue.set_pid(job.id, process.pid, lease=job.lease)
        self.running[job.id] = RunningJob(job=job, lease=job.lease, slots=slots, process=process, log=log)
        self.report.jobs_started.append(job.id)
        logger.info("worker %s: job %s started (pid %s) on %s", self.worker_id, job.id, process.pid, ",".join(devices))

    def _job_environment(self, job_id: int, devices: list[str]) -> dict[str, str]:
        """A local job sees its devices; a Ray driver none (Ray gives the job's GPUs to its Ray workers)."""
        if self.ray is None:
            return job_environment(job_id, devices)
        env = job_environment(job_id, ["cpu"])
        env["FER_JOB_DEVICES"] = ",".join(devices)
        return env

    # ---- watching ------------------------------------------------------------------------------------------------
    def _alive(self) -> list[RunningJob]:
        return [rj for rj in self.running.values() if rj.process.poll() is None]

    def _requeue_orphans(self) -> None:
        for job in self.queue.requeue_orphans(self.orphan_timeout_s):
            self.report.orphans_requeued.append(job.id)
            logger.warning("worker %s: job %s was orphaned -> %s (%s)", self.worker_id, job.id, job.state, job.error)

    def _reap(self) -> None:
        """Close finished job processes; record an outcome for those that died without recording one."""
        for job_id, rj in list(self.running.items()):
            code = rj.process.poll()
            if code is None:
                continue
            del self.running[job_id]
            rj.log.close()
            current = self.queue.get(job_id)
            if current.state != RUNNING or current.lease != rj.lease:
                logger.info("worker %s: job %s ended as %s", self.worker_id, job_id, current.state)
                continue
            if rj.stop_reason == "cancel" or current.cancel_requested:
                self.queue.finish(job_id, CANCELLED, "cancelled by user (job process stopped)", lease=rj.lease)
                self._mark_run_cancelled(current.run_id)
            elif rj.stop_reason == "shutdown":
                self.queue.requeue(job_id, lease=rj.lease, reason="worker stopped before the job did; will resume")
            else:
                self.queue.finish(job_id, FAILED, self._exit_reason(code, rj.job.log_path), lease=rj.lease)
            logger.warning("worker %s: job %s process exited with code %s", self.worker_id, job_id, code)

    def _exit_reason(self, code: int, log_path: str | None) -> str:
        """Why a job process died without an outcome; for a Ray driver, whether its cluster went away."""
        reason = _exit_reason(code, log_path)
        if self.ray is not None:
            reachable, problem = cluster_reachable(self.ray.address)
            if not reachable:
                return f"lost the Ray cluster ({problem}); `fer jobs retry` resumes from the last epoch. {reason}"
        return reason

    def _mark_run_cancelled(self, run_id: str | None) -> None:
        """The run index of a killed job's run says cancelled, not running (the job process could not say it)."""
        if not run_id:
            return
        try:
            if self.queue.store.get(run_id).status == RUNNING:
                self.queue.store.update(run_id, status=CANCELLED)
        except FerError as error:
            logger.warning("worker %s: run %s of a cancelled job: %s", self.worker_id, run_id, error)

    def _stop_cancelled(self) -> None:
        for job_id in self.queue.cancel_requests([rj.job.id for rj in self._alive()]):
            rj = self.running[job_id]
            if rj.stop_reason is None:
                self._signal(rj, "cancel")

    def _signal(self, rj: RunningJob, reason: str) -> None:
        rj.stop_reason, rj.stop_sent_at = reason, time.monotonic()
        try:
            rj.process.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            pass

    def _escalate(self, grace_s: float | None = None) -> None:
        """SIGKILL job processes that were asked to stop and did not within the grace period (a cancelled job's
        shorter one: its resume state matters less than giving the device back within seconds)."""
        for rj in self._alive():
            if rj.stop_sent_at is None:
                continue
            limit = (
                grace_s
                if grace_s is not None
                else (self.cancel_grace_s if rj.stop_reason == "cancel" else self.grace_s)
            )
            if time.monotonic() - rj.stop_sent_at > limit:
                logger.warning(
                    "worker %s: job %s did not stop within %.0f s; killing it", self.worker_id, rj.job.id, limit
                )
                rj.process.kill()
                rj.stop_sent_at = None  # killed once; _reap records the outcome

    def _shutdown(self) -> None:
        """Ask every job process to stop, wait for them (second signal: kill now), put unfinished jobs back."""
        for rj in self._alive():
            if rj.stop_reason is None:
                self._signal(rj, "shutdown")
        deadline = time.monotonic() + self.grace_s
        while self._alive() and time.monotonic() < deadline and self._stop_count < 2:
            time.sleep(0.1)
        for rj in self._alive():
            rj.process.kill()
            rj.process.wait()
        for rj in self.running.values():
            rj.process.wait()
        self._reap()


def _exit_reason(code: int, log_path: str | None) -> str:
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
        hint = " (the system may have run out of memory)" if -code == signal.SIGKILL else ""
        reason = f"the job process was killed by {name}{hint}"
    else:
        reason = f"the job process exited with code {code} without recording an outcome"
    return f"{reason}; see the job's log" if log_path else reason
