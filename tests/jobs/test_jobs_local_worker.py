"""ensure_local_worker: starts one detached worker when none is alive, and no second one."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from fer_engine.jobs import JobQueue, ensure_local_worker
from support.processes import wait_for

pytestmark = pytest.mark.timeout(90)


def _reaped(pid: int) -> bool:
    """True once the (child) process has exited; reaps it."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return done == pid


@pytest.mark.slow  # a detached worker process starts and idles out
def test_starts_one_detached_worker_that_exits_when_idle(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    pid = ensure_local_worker(root, devices="cpu", idle_exit_s=2)
    try:
        assert pid is not None
        assert ensure_local_worker(root, devices="cpu", idle_exit_s=2) is None  # one is alive (or starting)
        [worker] = JobQueue(root).live_workers(60)
        assert worker.pid == pid and os.getpgid(pid) == pid  # its own session: survives the caller's Ctrl-C
        wait_for(lambda: "serving" in (root / "worker.log").read_text(), 30, "the worker to start")
        started = time.monotonic()
        wait_for(lambda: _reaped(pid), 30, "the idle worker to exit")
        assert time.monotonic() - started < 30
        assert JobQueue(root).live_workers(60) == []
    finally:
        try:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError, TypeError):
            pass
