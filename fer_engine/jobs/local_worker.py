"""Start a background worker on this machine when none is alive, so users who submit jobs never manage workers."""

from __future__ import annotations

import fcntl
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fer_engine.jobs.queue import JobQueue
from fer_engine.jobs.worker import DEFAULT_HEARTBEAT_S, new_worker_id
from fer_engine.paths import PROJECT_ROOT

# A worker counts as alive while its heartbeat is younger than this (a few heartbeats plus a slow start).
WORKER_ALIVE_S = 6 * DEFAULT_HEARTBEAT_S
WORKER_LOG = "worker.log"


@contextmanager
def _launch_lock(root: Path) -> Iterator[None]:
    """One launcher at a time per runs root (two dashboard sessions must not start two workers)."""
    with open(root / ".worker-launch.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_local_worker(
    root: str | Path | None = None, *, devices: str = "auto", idle_exit_s: float | None = 900.0, any_host: bool = True
) -> int | None:
    """Start a detached `fer worker` for `root` unless a worker heartbeat is alive; returns the new pid or None.

    The worker logs to `root/worker.log`, survives the caller (own session) and, with `idle_exit_s`, exits after
    that long with nothing to do (the next call starts another). `any_host=False` ignores workers on other hosts.
    With FER_RAY_ADDRESS set (HOST:PORT or auto) the worker runs the jobs on that Ray cluster (`--backend ray`).
    """
    queue = JobQueue(root)
    with _launch_lock(queue.root):
        host = None if any_host else socket.gethostname()
        if queue.live_workers(WORKER_ALIVE_S, host=host):
            return None
        worker_id = new_worker_id()
        command = [
            sys.executable,
            "-m",
            "fer_engine.cli.worker_cmd",
            "--runs-root",
            str(queue.root.resolve()),
            "--devices",
            devices,
            "--worker-id",
            worker_id,
        ]
        if idle_exit_s is not None:
            command += ["--idle-exit-s", f"{idle_exit_s:g}"]
        if os.environ.get("FER_RAY_ADDRESS"):  # a lab's cluster: the background worker runs jobs there
            command += ["--backend", "ray", "--address", os.environ["FER_RAY_ADDRESS"]]
        env = dict(os.environ)  # the worker imports fer_engine from where the caller did, installed or not
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p)
        with open(queue.root / WORKER_LOG, "a", encoding="utf-8") as log:
            process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                close_fds=True,
                env=env,
            )
        # Registered now (the worker refreshes the row when it starts) so a concurrent caller sees it.
        queue.register_worker(worker_id, [devices], pid=process.pid)
        return process.pid
