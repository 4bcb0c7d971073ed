"""A sweep of 6 tiny trials of the real pipeline on made data (fer_engine.data.synthetic), served by a real worker
process: the median pruner prunes at least one trial, the sweep finishes, and the best trial's run holds the best
value. The worker runs the default pipeline runner plus the trial reporting the jobs-code wiring adds
(tests/support/sweep_runners.py:reporting_runner); test_sweep_wired.py runs the same through the wired default."""

from __future__ import annotations

from pathlib import Path

import pytest

from fer_engine.sweeps import start_sweep
from support.processes import kill_group
from support.sweeps import REPORTING_RUNNER, check_finished_sweep, drive_until_finished, start_worker, tiny_sweep

pytestmark = pytest.mark.timeout(900)  # 6 job processes import torch and train on 2 shared cores

@pytest.mark.slow
def test_six_tiny_trials_with_the_median_pruner(tmp_path: Path, tiny_zip: Path) -> None:
    root = tmp_path / "runs"
    assert start_sweep(tiny_sweep(tiny_zip, "tiny"), root) == 2
    worker = start_worker(root, REPORTING_RUNNER, log=tmp_path / "worker.log")
    try:
        view = drive_until_finished(root, "tiny", 800)
    finally:
        kill_group(worker)
    check_finished_sweep(root, view)
