"""Worker processes for the job and sweep tests, started as users start them, and polling with a deadline."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

from support.paths import TESTS_ROOT


def importable_path() -> str:
    """PYTHONPATH for a child process: `tests/` (so it imports `support.*` job runners) and this process's path."""
    return os.pathsep.join(dict.fromkeys([str(TESTS_ROOT), *[p for p in sys.path if p and os.path.isdir(p)]]))


def start_worker(root: Path, runner: str, *args: str, devices: str = "cpu", log: Path | None = None,
                 env: dict[str, str] | None = None) -> subprocess.Popen:
    """`python -m fer_engine.cli.worker_cmd` serving `root` with job runner `runner` ('module:function'), in its own
    process group so `kill_group` also ends its job processes."""
    environment = {**os.environ, **(env or {}), "PYTHONPATH": importable_path()}
    command = [sys.executable, "-m", "fer_engine.cli.worker_cmd", "--runs-root", str(root), "--devices", devices,
               "--job-runner", runner, *args]
    out = open(log, "a") if log else subprocess.DEVNULL
    return subprocess.Popen(command, env=environment, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL a started worker and everything in its process group (its job processes)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=30)


def wait_for(condition: Callable[[], Any], timeout_s: float, what: str, poll_s: float = 0.1) -> Any:
    """Poll `condition` until it returns something truthy; fail the test after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll_s)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
