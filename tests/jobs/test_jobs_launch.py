"""How a worker launches job processes: command lines (plain and torchrun), visible devices, device lists."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from fer_engine.errors import ConfigError
from fer_engine.jobs import JobQueue, Worker
from fer_engine.jobs.launch import job_command, parse_devices, visible_devices
from support.runners import FakeSpec


def test_single_device_job_runs_as_a_plain_child_of_the_worker() -> None:
    command = job_command(7, root=Path("/r"), lease="abc", runner="m:f", num_devices=1, parent_pid=42,
                          heartbeat_s=5, grace_s=60)
    assert command[:4] == [sys.executable, "-m", "fer_engine.jobs.run_job", "7"]
    assert command[command.index("--parent-pid") + 1] == "42" and command[command.index("--lease") + 1] == "abc"


def test_multi_device_job_runs_under_torchrun_with_one_process_per_device() -> None:
    command = job_command(7, root=Path("/r"), lease="abc", runner="m:f", num_devices=4, parent_pid=42,
                          heartbeat_s=5, grace_s=60)
    assert command[:3] == [sys.executable, "-m", "torch.distributed.run"]
    assert "--nproc-per-node=4" in command and "--standalone" in command
    assert command[command.index("-m", 3) + 1] == "fer_engine.jobs.run_job"
    assert "--parent-pid" not in command  # ranks are children of torchrun's agent, not of the worker


def test_visible_devices_map_worker_indices_through_an_inherited_mask() -> None:
    assert visible_devices(["cpu"]) == ""
    assert visible_devices(["cuda:1", "cuda:3"]) == "1,3"
    assert visible_devices(["cuda:0", "cuda:1"], inherited="4,5,6") == "4,5"
    with pytest.raises(ConfigError, match="not among"):
        visible_devices(["cuda:3"], inherited="4,5")
    with pytest.raises(ConfigError, match="'cpu' or 'cuda:N'"):
        visible_devices(["gpu0"])


def test_parse_devices() -> None:
    assert parse_devices("cuda:0, cuda:1") == ["cuda:0", "cuda:1"]
    assert parse_devices("cpu,cpu") == ["cpu", "cpu"]
    with pytest.raises(ConfigError, match="twice"):
        parse_devices("cuda:0,cuda:0")
    assert parse_devices("auto") in (["cpu"], [f"cuda:{i}" for i in range(len(parse_devices("auto")))])


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_two_device_job_under_torchrun_shares_one_run_and_rank_zero_records_it(tmp_path: Path) -> None:
    queue = JobQueue(tmp_path / "runs")
    marker = tmp_path / "marker.txt"
    job = queue.submit(FakeSpec(marker=str(marker)), num_devices=2)
    Worker(queue.root, ["cpu", "cpu"], once=True, job_runner="support.runners:marker_runner", heartbeat_s=0.5,
           poll_s=0.1).run()
    done = queue.get(job.id)
    assert done.state == "succeeded", (done.error, Path(done.log_path).read_text()[-3000:])
    lines = [line.split() for line in marker.read_text().splitlines()]
    assert len(lines) == 2 and {run_id for _, _, run_id in lines} == {done.run_id}  # two ranks, one run
    assert done.device == "cpu,cpu"
