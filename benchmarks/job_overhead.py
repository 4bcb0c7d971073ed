"""What running a job through Ray costs on this machine, against a local worker: seconds from "queued" to the
first training step, and training images/s of the same tiny job (vgg19_bn_quarter on generated images, CPU).

Both paths go through the real queue and worker (`Worker(root, ['cpu'])` vs `Worker(root, ray=RayTarget(...))`
with a one-node Ray cluster started here on 127.0.0.1); the job runner is the pipeline's, wrapped to note the
wall-clock time of the first `train_batch` event. Printed per path:
  queued->first step   job created -> first training batch done (process start, imports, Ray scheduling)
  trainer images/s     the trainer's own throughput (metrics.jsonl, mean over epochs after the first)
  end-to-end images/s  epochs x training images / (finished - queued)
and the Ray/local ratios.

Example:
  python benchmarks/job_overhead.py --per-class 40 --epochs 3 --threads 1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fer_engine.data.synthetic import write_image_folder  # noqa: E402
from fer_engine.io_utils import atomic_write_json  # noqa: E402
from fer_engine.jobs import JobQueue, Worker  # noqa: E402
from fer_engine.jobs.progress import event_dict  # noqa: E402
from fer_engine.jobs.ray_backend import LocalCluster, RayTarget  # noqa: E402
from fer_engine.jobs.runners import run_pipeline_job  # noqa: E402
from fer_engine.pipeline import PipelineSpec  # noqa: E402
from fer_engine.runs.layout import RunPaths  # noqa: E402

FIRST_STEP_FILE = "first_step.json"


def timed_pipeline_job(spec: dict[str, Any], *, run: RunPaths, on_event: Callable[[Any], None],
                       should_stop: Callable[[], bool]) -> Any:
    """The pipeline job runner, noting when the first training batch is done (in the run folder)."""
    marker = run.root / FIRST_STEP_FILE

    def note(event: Any) -> None:
        if event_dict(event).get("batch") and not marker.exists():
            atomic_write_json(marker, {"at": time.time()})
        on_event(event)

    return run_pipeline_job(spec, run=run, on_event=note, should_stop=should_stop)


def run_once(root: Path, data: Path, train_images: int, epochs: int, ray: RayTarget | None) -> dict[str, float]:
    queue = JobQueue(root)
    spec = PipelineSpec(data_path=str(data), preset="fast_cpu", steps=["train"], name="overhead",
                        overrides={"arch": "vgg19_bn_quarter", "epochs": epochs, "batch_size": 14, "device": "cpu",
                                   "precision": "fp32", "channels_last": False, "warmup_epochs": 0.0})
    job = queue.submit(spec)
    Worker(root, ["cpu"], once=True, heartbeat_s=0.5, poll_s=0.1, job_runner="job_overhead:timed_pipeline_job",
           ray=ray).run()
    done = queue.get(job.id)
    if done.state != "succeeded":
        raise SystemExit(f"job {done.id} {done.state}: {done.error}; log: {done.log_path}")
    run = queue.store.paths(done.run_id)
    first_step = json.loads((run.root / FIRST_STEP_FILE).read_text())["at"]
    records = run.read_metrics()
    later = records[1:] or records
    return {
        "queued_to_first_step_s": first_step - done.created_at,
        "trainer_images_per_s": sum(r["images_per_second"] for r in later) / len(later),
        "end_to_end_images_per_s": epochs * train_images / (done.finished_at - done.created_at),
        "total_s": done.finished_at - done.created_at,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-class", type=int, default=40, help="training images per class (7 classes)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS for the job processes")
    parser.add_argument("--ray-cpus", type=int, default=2, help="CPUs of the local Ray cluster")
    parser.add_argument("--repeats", type=int, default=2,
                        help="local and Ray runs alternate this many times; medians are printed (a shared CPU's "
                             "load changes from minute to minute)")
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    here = str(Path(__file__).resolve().parent)
    os.environ["PYTHONPATH"] = os.pathsep.join([str(Path(here).parent), here, os.environ.get("PYTHONPATH", "")])
    with tempfile.TemporaryDirectory(prefix="fer-job-overhead-") as tmp:
        data = write_image_folder(Path(tmp) / "data", {"train": args.per_class, "val": 2}, as_zip=True)
        train_images = 7 * args.per_class
        runs: dict[str, list[dict[str, float]]] = {"local": [], "ray": []}
        started = time.monotonic()
        with LocalCluster(num_cpus=args.ray_cpus, env={"PYTHONPATH": os.environ["PYTHONPATH"],
                                                       "OMP_NUM_THREADS": str(args.threads)}) as cluster:
            cluster_start_s = time.monotonic() - started
            for repeat in range(args.repeats):
                runs["local"].append(run_once(Path(tmp) / f"local{repeat}", data, train_images, args.epochs, None))
                runs["ray"].append(run_once(Path(tmp) / f"ray{repeat}", data, train_images, args.epochs,
                                            RayTarget(cluster.address)))
    local, ray = ({key: statistics.median(r[key] for r in runs[path]) for key in runs[path][0]}
                  for path in ("local", "ray"))
    print(f"tiny job: vgg19_bn_quarter, {7 * args.per_class} training images, {args.epochs} epochs, "
          f"batch 14, CPU, {args.threads} thread(s); medians of {args.repeats} alternating runs each; "
          f"Ray cluster start (not counted): {cluster_start_s:.1f} s")
    print(f"{'':24}{'local':>10}{'ray':>10}{'ray/local':>11}")
    for key, label in (("queued_to_first_step_s", "queued->first step (s)"),
                       ("trainer_images_per_s", "trainer images/s"),
                       ("end_to_end_images_per_s", "end-to-end images/s"), ("total_s", "queued->finished (s)")):
        print(f"{label:24}{local[key]:>10.2f}{ray[key]:>10.2f}{ray[key] / local[key]:>11.2f}")


if __name__ == "__main__":
    main()
