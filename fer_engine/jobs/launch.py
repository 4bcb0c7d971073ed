"""How a worker starts a job process: the command line (plain, or under torchrun for a multi-GPU job) and its
environment (the job's GPUs made visible as cuda:0..N-1, the worker's import path)."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from pathlib import Path

from fer_engine.errors import ConfigError

_PR_SET_PDEATHSIG = 1


def job_command(
    job_id: int,
    *,
    root: Path,
    lease: str,
    runner: str,
    num_devices: int,
    parent_pid: int | None,
    heartbeat_s: float,
    grace_s: float,
    ray_args: list[str] | None = None,
) -> list[str]:
    """`python -m fer_engine.jobs.run_job ...`, or the same under `torch.distributed.run` (torchrun) with one
    process per device when the job asked for several. With `ray_args` (a Ray-backed worker) it is always one
    process: the Ray driver, which asks the cluster for one Ray worker per device."""
    job_args = [
        "fer_engine.jobs.run_job",
        str(job_id),
        "--root",
        str(root),
        "--lease",
        lease,
        "--runner",
        runner,
        "--heartbeat-s",
        f"{heartbeat_s:g}",
        "--grace-s",
        f"{grace_s:g}",
        *(ray_args or []),
    ]
    if num_devices <= 1 or ray_args:
        if parent_pid is not None:
            job_args += ["--parent-pid", str(parent_pid)]
        return [sys.executable, "-m", *job_args]
    # Under torchrun the rank processes' parent is torchrun's agent (which dies with the worker), not the worker.
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nnodes=1",
        f"--nproc-per-node={num_devices}",
        "-m",
        *job_args,
    ]


def visible_devices(devices: list[str], inherited: str | None = None) -> str:
    """CUDA_VISIBLE_DEVICES for a job holding `devices` ('' for CPU: the job then sees no GPU).

    Indices are the worker's own (`cuda:1` is the worker's second visible GPU), mapped through an inherited
    CUDA_VISIBLE_DEVICES, so inside the job its devices are cuda:0..N-1 and `device='auto'` picks them.
    """
    indices = []
    for device in devices:
        if device == "cpu":
            continue
        kind, _, index = device.partition(":")
        if kind != "cuda" or not index.isdigit():
            raise ConfigError(f"worker device '{device}' must be 'cpu' or 'cuda:N'")
        indices.append(int(index))
    if not indices:
        return ""
    if inherited:
        visible = [v.strip() for v in inherited.split(",") if v.strip()]
        if max(indices) >= len(visible):
            raise ConfigError(f"device cuda:{max(indices)} is not among CUDA_VISIBLE_DEVICES={inherited}")
        return ",".join(visible[i] for i in indices)
    return ",".join(str(i) for i in indices)


def job_environment(job_id: int, devices: list[str]) -> dict[str, str]:
    """The worker's environment plus the job's devices and the worker's import path (for test/tool runners)."""
    env = dict(os.environ)
    env["CUDA_VISIBLE_DEVICES"] = visible_devices(devices, os.environ.get("CUDA_VISIBLE_DEVICES"))
    env["FER_JOB_ID"] = str(job_id)
    env["FER_JOB_DEVICES"] = ",".join(devices)
    importable = [os.path.abspath(p) for p in sys.path if p and os.path.isdir(p)]
    inherited_path = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(importable + inherited_path))
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def parse_devices(text: str | list[str] | None) -> list[str]:
    """'cpu', 'cuda:0,cuda:1', 'cpu,cpu' (two CPU slots) or 'auto' (every visible GPU, else one CPU slot)."""
    if isinstance(text, list):
        items = text
    else:
        items = [t.strip() for t in (text or "auto").split(",") if t.strip()]
    if items == ["auto"]:
        return auto_devices()
    for device in items:
        visible_devices([device])  # raises ConfigError for anything but cpu / cuda:N
    if len(set(d for d in items if d != "cpu")) != len([d for d in items if d != "cpu"]):
        raise ConfigError(f"devices {items} name a GPU twice")
    return items


def auto_devices() -> list[str]:
    """Every GPU torch can see, or ['cpu']."""
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    return [f"cuda:{i}" for i in range(count)] or ["cpu"]


def die_with_parent() -> None:
    """Ask Linux to SIGTERM this process when its parent dies (a job process outliving its worker would run
    unsupervised and race the attempt that re-runs its job). Used as Popen's preexec_fn and by the job itself."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except (OSError, AttributeError):
            pass
