"""Run a job's work on a Ray cluster: what `fer worker --backend ray` adds to a job process.

The job process stays on the queue's host (it alone writes the SQLite queue: progress, heartbeats, outcome) and
becomes a Ray driver: it ships the job runner to the cluster, as one Ray task asking for the job's CPUs/GPUs, or,
for a job of N devices, as Ray Train's `TorchTrainer` with N workers whose process group the trainer joins. The
remote side writes the run folder at the same path (shared storage) and sends its events back through a small
channel actor; `should_stop()` travels the other way. A Ray worker that dies (process or node) is replaced and the
runner is called again on the same run, which resumes from its last completed epoch.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fer_engine.errors import ConfigError, FerError
from fer_engine.jobs.progress import event_dict
from fer_engine.jobs.runners import resolve_runner
from fer_engine.runs.layout import RunPaths

logger = logging.getLogger("fer_engine.jobs.ray")

INSTALL_HINT = "Ray is not installed; install the extra with `pip install -e .[ray]` (or `pip install 'ray[train]'`)"
STOP_POLL_S = 0.5  # how often the remote side asks whether the job should stop
PUMP_POLL_S = 0.3  # how often the driver forwards events and stop requests
DEFAULT_MAX_RESTARTS = 3  # Ray workers lost per attempt before the job fails
STARTED_EVENT = "ray_worker_started"
LOG_FLUSH_S = 1.0  # wait after the remote work ended, so Ray forwards its last output lines to the job log


@dataclass(frozen=True)
class RayTarget:
    """Where and how jobs run on Ray: cluster address, resources per Ray worker, restarts after a lost worker."""

    address: str = "auto"
    cpus_per_worker: float = 1.0
    gpus_per_worker: float = 0.0
    max_restarts: int = DEFAULT_MAX_RESTARTS

    def __post_init__(self) -> None:
        if not self.address or not (self.address == "auto" or ":" in self.address):
            raise ConfigError(f"Ray address '{self.address}' must be HOST:PORT (the head's GCS port) or 'auto'")
        if self.cpus_per_worker <= 0 or self.gpus_per_worker < 0 or self.max_restarts < 0:
            raise ConfigError("Ray resources: --cpus-per-worker must be > 0, --gpus-per-worker and restarts >= 0")

    def command_args(self) -> list[str]:
        """The job process's command-line options for this target (see `run_job.main`)."""
        return [
            "--ray-address",
            self.address,
            "--ray-cpus",
            f"{self.cpus_per_worker:g}",
            "--ray-gpus",
            f"{self.gpus_per_worker:g}",
            "--ray-max-restarts",
            str(self.max_restarts),
        ]


def require_ray() -> Any:
    """The `ray` module, or a FerError saying how to install it."""
    try:
        import ray
    except ImportError as error:
        raise FerError(f"{INSTALL_HINT} ({error})") from error
    return ray


def resolve_address(address: str) -> str | None:
    """HOST:PORT of the cluster's GCS: `address` itself, or for 'auto' $RAY_ADDRESS or the cluster started on this
    machine (None when there is none)."""
    if address != "auto":
        return address
    require_ray()
    from ray._private import services

    try:
        return services.canonicalize_bootstrap_address("auto")
    except (ConnectionError, ValueError):
        return None


def cluster_reachable(address: str, timeout_s: float = 2.0) -> tuple[bool, str]:
    """(reachable, reason): a TCP connect to the head's GCS port, cheap enough for every worker poll. The worker
    never joins the cluster itself, so a cluster that goes away cannot take the worker down with it."""
    resolved = resolve_address(address)
    if not resolved:
        return False, "no Ray cluster found for address 'auto' (start one with `ray start --head` or pass HOST:PORT)"
    host, _, port = resolved.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout_s):
            return True, ""
    except (OSError, ValueError) as error:
        return False, f"the Ray cluster at {resolved} is unreachable ({error})"


# ---- the remote side ----------------------------------------------------------------------------------------------
class _ChannelClient:
    """The remote side's end of the channel: events out (rank 0 only), a throttled `should_stop()` in."""

    def __init__(self, channel: Any, send_events: bool):
        self.channel, self.send_events = channel, send_events
        self._stop, self._checked_at = False, 0.0

    def emit(self, event: Any) -> None:
        if self.send_events:
            self.channel.push.remote(event_dict(event))

    def should_stop(self) -> bool:
        import ray

        if not self._stop and time.monotonic() - self._checked_at >= STOP_POLL_S:
            self._checked_at = time.monotonic()
            self._stop = bool(ray.get(self.channel.stop_requested.remote(), timeout=60))
        return self._stop


def _run_runner(runner_ref: str, spec: dict[str, Any], run_root: str, channel: Any, rank: int) -> None:
    """Call the job runner on this Ray worker, its events going to the driver through `channel`."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    client = _ChannelClient(channel, send_events=rank == 0)
    client.emit({"event": STARTED_EVENT, "pid": os.getpid(), "host": socket.gethostname(), "rank": rank})
    resolve_runner(runner_ref)(spec, run=RunPaths(Path(run_root)), on_event=client.emit, should_stop=client.should_stop)


def _task_entry(runner_ref: str, spec: dict[str, Any], run_root: str, channel: Any) -> None:
    """A one-device job: the runner in one Ray task."""
    _run_runner(runner_ref, spec, run_root, channel, rank=0)


def _train_loop(config: dict[str, Any]) -> None:
    """A Ray Train worker: name its rank the way torchrun does, so the trainer joins Ray's process group through the
    same code path (`fer_engine.training.distributed`) and only rank 0 writes the run and sends events."""
    import ray.train

    context = ray.train.get_context()
    os.environ.update(
        RANK=str(context.get_world_rank()),
        WORLD_SIZE=str(context.get_world_size()),
        LOCAL_RANK=str(context.get_local_rank()),
        LOCAL_WORLD_SIZE=str(context.get_local_world_size()),
    )
    _run_runner(
        config["runner_ref"], config["spec"], config["run_root"], config["channel"], rank=context.get_world_rank()
    )


def _channel_class(ray: Any) -> Any:
    @ray.remote(num_cpus=0)
    class JobChannel:
        """Events from the job's rank 0 to the driver; the driver's stop request to every rank."""

        def __init__(self) -> None:
            self.events: list[dict[str, Any]] = []
            self.stop = False

        def push(self, event: dict[str, Any]) -> None:
            self.events.append(event)

        def drain(self) -> list[dict[str, Any]]:
            events, self.events = self.events, []
            return events

        def request_stop(self) -> None:
            self.stop = True

        def stop_requested(self) -> bool:
            return self.stop

    return JobChannel


# ---- the driver side (the job process) ----------------------------------------------------------------------------
class WorkerLost(Exception):
    """A Ray worker process or node running the job died: the attempt is restarted from the run's resume state."""


def _nothing_to_abandon() -> None:
    """No Ray work started yet, so nothing to cancel."""


class RayJobRunner:
    """A job runner (same contract as `fer_engine.jobs.runners`) that runs `runner_ref` on the Ray cluster."""

    def __init__(self, target: RayTarget, runner_ref: str, num_workers: int = 1, job_id: int | None = None):
        self.target, self.runner_ref, self.num_workers, self.job_id = target, runner_ref, max(1, num_workers), job_id

    def __call__(
        self, spec: dict[str, Any], *, run: RunPaths, on_event: Callable[[Any], None], should_stop: Callable[[], bool]
    ) -> RunPaths:
        ray = self._connect()
        restarts = 0
        while True:
            try:
                self._attempt(ray, spec, run, on_event, should_stop, restarts)
                return run
            except WorkerLost as lost:
                if should_stop():
                    raise FerError(f"the Ray worker was lost while the job was stopping ({lost})") from lost
                reachable, problem = cluster_reachable(self.target.address)
                if not reachable:
                    raise FerError(
                        f"lost the Ray cluster: {problem}; `fer jobs retry {self.job_id}` resumes the job "
                        "from its last completed epoch"
                    ) from lost
                restarts += 1
                if restarts > self.target.max_restarts:
                    raise FerError(f"the job lost its Ray worker {restarts} times; last: {lost}") from lost
                logger.warning(
                    "job %s: Ray worker lost (%s); restart %d of %d resumes from the last completed epoch",
                    self.job_id,
                    lost,
                    restarts,
                    self.target.max_restarts,
                )

    def _connect(self) -> Any:
        ray = require_ray()
        if ray.is_initialized():
            return ray
        reachable, reason = cluster_reachable(self.target.address)
        if not reachable:
            raise FerError(f"{reason}; the job was not started (`fer jobs retry` once the cluster is back)")
        env = {
            key: os.environ[key]
            for key in ("PYTHONPATH", "OMP_NUM_THREADS", "FER_JOB_ID", "PYTHONUNBUFFERED")
            if key in os.environ
        }
        os.environ.setdefault("RAY_COLOR_PREFIX", "0")  # plain "(pid=...)" prefixes in the job log, no ANSI codes
        handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
        try:
            ray.init(
                address=resolve_address(self.target.address),
                log_to_driver=True,
                logging_level=logging.WARNING,
                runtime_env={"env_vars": env},
            )
        except (ConnectionError, RuntimeError) as error:
            raise FerError(f"could not join the Ray cluster at {self.target.address}: {error}") from error
        finally:
            if threading.current_thread() is threading.main_thread():
                # ray.init installs handlers that exit at once; the job's own ones stop it gracefully instead.
                for signum, handler in handlers.items():
                    signal.signal(signum, handler)
        return ray

    def _attempt(
        self,
        ray: Any,
        spec: dict[str, Any],
        run: RunPaths,
        on_event: Callable[[Any], None],
        should_stop: Callable[[], bool],
        restarts: int,
    ) -> None:
        channel = _channel_class(ray).remote()
        abandon: Callable[[], None] = _nothing_to_abandon
        try:
            if self.num_workers == 1:
                done, abandon = self._start_task(ray, spec, run, channel)
            else:
                done, abandon = self._start_trainer(spec, run, channel, restarts)
            self._pump(ray, channel, done, on_event, should_stop)
        except BaseException:
            abandon()  # never two attempts writing the same run
            raise
        finally:
            try:
                ray.kill(channel)
            except Exception as error:  # noqa: BLE001 - the channel's node may be gone with the cluster
                logger.debug("job %s: could not kill the event channel: %s", self.job_id, error)

    def _start_task(
        self, ray: Any, spec: dict[str, Any], run: RunPaths, channel: Any
    ) -> tuple[Callable[[float], bool], Callable[[], None]]:
        # max_calls=1: a fresh Ray worker process per attempt, which exits (freeing its memory) when it is done.
        task = ray.remote(max_calls=1)(_task_entry).options(
            num_cpus=self.target.cpus_per_worker, num_gpus=self.target.gpus_per_worker, max_retries=0
        )
        ref = task.remote(self.runner_ref, spec, str(run.root), channel)

        def done(timeout_s: float) -> bool:
            ready, _ = ray.wait([ref], timeout=timeout_s)
            if ready:
                _result(ray, ref)
            return bool(ready)

        def abandon() -> None:
            try:
                ray.cancel(ref, force=True)
                ray.wait([ref], timeout=30)
            except Exception as error:  # noqa: BLE001 - already finished, or the cluster is gone
                logger.debug("job %s: cancelling the Ray task: %s", self.job_id, error)

        return done, abandon

    def _start_trainer(
        self, spec: dict[str, Any], run: RunPaths, channel: Any, restarts: int
    ) -> tuple[Callable[[float], bool], Callable[[], None]]:
        import ray
        from ray.train import FailureConfig, RunConfig, ScalingConfig
        from ray.train.torch import TorchConfig, TorchTrainer

        use_gpu = self.target.gpus_per_worker > 0
        resources = {"CPU": self.target.cpus_per_worker, **({"GPU": self.target.gpus_per_worker} if use_gpu else {})}
        trainer = TorchTrainer(
            _train_loop,
            train_loop_config={
                "runner_ref": self.runner_ref,
                "spec": spec,
                "run_root": str(run.root),
                "channel": channel,
            },
            scaling_config=ScalingConfig(num_workers=self.num_workers, use_gpu=use_gpu, resources_per_worker=resources),
            torch_config=TorchConfig(backend="nccl" if use_gpu else "gloo"),
            # Failures come back here (max_failures=0) so every restart resumes through the same path as a task's.
            run_config=RunConfig(
                name=f"attempt-{restarts}-{time.time_ns()}",
                storage_path=str(run.state_dir / "ray"),
                failure_config=FailureConfig(max_failures=0),
            ),
        )
        outcome: dict[str, BaseException] = {}

        def fit() -> None:
            try:
                trainer.fit()
            except BaseException as error:  # noqa: BLE001 - handed to the driver's thread below
                outcome["error"] = error

        thread = threading.Thread(target=fit, name="ray-train-fit", daemon=True)
        thread.start()

        def done(timeout_s: float) -> bool:
            thread.join(timeout_s)
            if thread.is_alive():
                return False
            if "error" in outcome:
                raise _unwrap_train_error(outcome["error"])
            return True

        def abandon() -> None:
            # Without its channel every rank's should_stop() fails within STOP_POLL_S, and fit() ends.
            try:
                ray.kill(channel)
            except Exception as error:  # noqa: BLE001 - the channel's node may be gone with the cluster
                logger.debug("job %s: could not kill the event channel: %s", self.job_id, error)
            thread.join(60)

        return done, abandon

    def _pump(
        self,
        ray: Any,
        channel: Any,
        done: Callable[[float], bool],
        on_event: Callable[[Any], None],
        should_stop: Callable[[], bool],
    ) -> None:
        """Forward the remote events to `on_event` and a stop request to the remote side until the work ends."""
        stop_sent = False
        while True:
            finished = done(PUMP_POLL_S)
            for event in _drain(ray, channel):
                if event.get("event") == STARTED_EVENT:
                    logger.info(
                        "job %s: running on Ray worker pid %s on %s (rank %s)",
                        self.job_id,
                        event["pid"],
                        event["host"],
                        event["rank"],
                    )
                else:
                    on_event(event)
            if finished:
                time.sleep(LOG_FLUSH_S)  # Ray forwards the remote output with a short delay: keep its last lines
                return
            if should_stop() and not stop_sent:
                channel.request_stop.remote()
                stop_sent = True


def _drain(ray: Any, channel: Any) -> list[dict[str, Any]]:
    """The events the remote side sent since the last call; a dead channel (its node died) is a lost worker."""
    from ray import exceptions

    try:
        return ray.get(channel.drain.remote(), timeout=60)
    except (exceptions.ActorDiedError, exceptions.ActorUnavailableError, exceptions.GetTimeoutError) as error:
        raise WorkerLost(f"the job's event channel: {_short(error)}") from error


def _result(ray: Any, ref: Any) -> Any:
    """ray.get, with the job's own exception re-raised as itself (its reason, stop and OOM handling stay the same
    as for a local job) and a dead worker or node turned into WorkerLost."""
    from ray import exceptions

    try:
        return ray.get(ref)
    except exceptions.RayTaskError as error:
        cause = error.cause if isinstance(getattr(error, "cause", None), BaseException) else None
        if cause is None:
            raise
        raise cause from None
    except (
        exceptions.WorkerCrashedError,
        exceptions.NodeDiedError,
        exceptions.ActorDiedError,
        exceptions.ObjectLostError,
        exceptions.OutOfMemoryError,
    ) as error:
        raise WorkerLost(_short(error)) from error


def _short(error: BaseException) -> str:
    """'ErrorType: first sentence' (Ray's messages run on with node ids and hints)."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text.split('. ')[0]}" if text else type(error).__name__


def _unwrap_train_error(error: BaseException) -> BaseException:
    """A TorchTrainer failure: the job's own exception when a rank raised one, else WorkerLost (a rank's process
    or node died)."""
    from ray import exceptions

    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, (exceptions.WorkerCrashedError, exceptions.NodeDiedError, exceptions.ActorDiedError)):
            return WorkerLost(_short(current))
        if isinstance(current, exceptions.RayTaskError) and isinstance(getattr(current, "cause", None), BaseException):
            return current.cause
        children = [current.__cause__, current.__context__]
        for attribute in ("worker_failures", "errors"):
            value = getattr(current, attribute, None)
            if isinstance(value, dict):
                children += list(value.values())
            elif isinstance(value, (list, tuple)):
                children += list(value)
        if not isinstance(current, exceptions.RayError) and type(current).__module__.split(".")[0] != "ray":
            return current
        pending += [child for child in children if isinstance(child, BaseException)]
    return WorkerLost(_short(error))


# ---- a cluster on this machine (tests, benchmarks, trying the backend out) ---------------------------------------
def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LocalCluster:
    """`ray start --head --block` on this machine as a child process group, stopped (all of it) by `stop()`.

    Small on purpose (CPUs and object store are arguments): it shares the machine with everything else. Use it as
    a context manager; `address` is what `fer worker --backend ray --address` takes.
    """

    def __init__(
        self,
        num_cpus: int = 2,
        object_store_bytes: int = 200_000_000,
        env: dict[str, str] | None = None,
        log_path: Path | None = None,
    ):
        self.num_cpus, self.object_store_bytes, self.env, self.log_path = num_cpus, object_store_bytes, env, log_path
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.temp_dir = tempfile.mkdtemp(prefix="fer-ray-", dir="/tmp")  # short: Ray's socket paths have a limit
        self.process: subprocess.Popen | None = None

    def start(self, timeout_s: float = 180.0) -> LocalCluster:
        require_ray()
        command = [
            sys.executable,
            "-m",
            "ray.scripts.scripts",
            "start",
            "--head",
            "--block",
            "--node-ip-address",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--num-cpus",
            str(self.num_cpus),
            "--num-gpus",
            "0",
            "--object-store-memory",
            str(self.object_store_bytes),
            "--include-dashboard",
            "false",
            "--disable-usage-stats",
            "--temp-dir",
            self.temp_dir,
            "--dashboard-agent-listen-port",
            str(free_port()),
        ]
        log = open(self.log_path, "a") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(self.env or {})},
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout_s
        while not cluster_reachable(self.address, timeout_s=1.0)[0] or not self._raylet_up():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise FerError(
                    f"the local Ray cluster did not start within {timeout_s:.0f} s"
                    f"{f'; see {self.log_path}' if self.log_path else ''}"
                )
            time.sleep(0.5)
        return self

    def _raylet_up(self) -> bool:
        """`ray start --block` says it is up once the head node's processes all run."""
        return any(Path(self.temp_dir).glob("session_*/sockets/raylet*"))

    def stop(self, grace_s: float = 20.0) -> None:
        """SIGTERM `ray start` (it stops what it started), then SIGKILL whatever of its group is left."""
        if self.process is not None:
            try:
                self.process.terminate()
                self.process.wait(timeout=grace_s)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()
            self.process = None
        shutil.rmtree(self.temp_dir, ignore_errors=True)

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
