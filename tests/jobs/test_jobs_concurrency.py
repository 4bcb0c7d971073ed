"""Many processes reading and writing the run index and the queue at once never see 'database is locked'."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fer_engine.jobs import JobQueue
from support.processes import importable_path

pytestmark = pytest.mark.timeout(120)

_PROCESS = """
import sys, time, traceback
from support.runners import FakeSpec
from fer_engine.jobs import JobQueue
from fer_engine.runs.store import RunStore
root, role, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
store, queue = RunStore(root), JobQueue(root)
deadline, operations = time.monotonic() + seconds, 0
try:
    while time.monotonic() < deadline:
        if role == "reader":
            store.list(); queue.list(); queue.counts(); queue.live_workers(60)
        else:
            run = store.create_run(name=role, config={"arch": "vgg19_bn_quarter"})
            store.update(run.run_id, status="running", metrics={"val_accuracy": 0.5})
            queue.submit(FakeSpec())
            job = queue.claim(role, ["cpu"])
            if job is not None:
                queue.update_progress(job.id, {"epoch": 1}, lease=job.lease)
                queue.finish(job.id, "succeeded", lease=job.lease)
            queue.requeue_orphans(60)
        operations += 1
except Exception:
    traceback.print_exc()
    sys.exit(1)
print(operations)
"""


@pytest.mark.slow  # ten processes for 4 s each
def test_eight_readers_and_two_writers_never_hit_a_lock_error(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    JobQueue(root)
    roles = ["reader"] * 8 + ["writer-a", "writer-b"]
    processes = [subprocess.Popen([sys.executable, "-c", _PROCESS, str(root), role, "4"],
                                  env={**os.environ, "PYTHONPATH": importable_path()},
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for role in roles]
    outputs = []
    for process in processes:
        out, _ = process.communicate(timeout=90)
        outputs.append((process.returncode, out))
    failed = [(role, code, out) for role, (code, out) in zip(roles, outputs) if code != 0 or "locked" in out]
    assert not failed, failed
    counts = [int(out.split()[-1]) for _, out in outputs]
    assert all(count > 0 for count in counts), outputs
    queue = JobQueue(root)
    writes = sum(counts[8:])
    states = queue.counts()
    assert states["succeeded"] + states["queued"] == writes, (states, counts)  # every submitted job accounted for
    print(f"\nreader loops {counts[:8]}, writer loops {counts[8:]}")
