"""Job runners for the sweep tests, imported by worker and job processes as 'support.sweep_runners:NAME'.

`reporting_runner` is the default pipeline runner plus exactly what the wiring adds to fer_engine/jobs/run_job.py
(report each 'epoch' event; stop when the pruner says so); `fake_trial_runner` stands in for training.
"""

from __future__ import annotations

import os
import time
from typing import Any, Callable

from fer_engine.io_utils import append_jsonl, atomic_write_json
from fer_engine.jobs.progress import event_dict, is_epoch_end
from fer_engine.jobs.runners import run_pipeline_job
from fer_engine.runs.layout import RunPaths
from fer_engine.sweeps.trial_hook import reporter_for_job


def reporting_runner(spec: dict[str, Any], *, run: RunPaths, on_event: Callable[[Any], None],
                     should_stop: Callable[[], bool]) -> Any:
    """The real pipeline as a trial: each finished epoch is reported to the sweep, which may prune it."""
    reporter = reporter_for_job(run.root.parent, int(os.environ["FER_JOB_ID"]))
    pruned = []

    def on_event_reporting(event: Any) -> None:
        on_event(event)
        data = event_dict(event)
        if reporter is not None and is_epoch_end(data) and reporter.on_epoch(data):
            pruned.append(data.get("epoch"))

    try:
        return run_pipeline_job(spec, run=run, on_event=on_event_reporting,
                                should_stop=lambda: bool(pruned) or should_stop())
    except Exception as error:
        if pruned and type(error).__name__ == "PipelineStopped":
            return run  # pruned: the job ends here; the sweep records the trial from the pruned flag
        raise


def fake_trial_runner(spec: dict[str, Any], *, run: RunPaths, on_event: Callable[[Any], None],
                      should_stop: Callable[[], bool]) -> Any:
    """A stand-in trainer for fast scheduler tests: epoch e of a trial logs val_accuracy = e * lr (so the best
    trial is the one with the largest lr) into metrics.jsonl, reporting each epoch as the wiring does.
    $SWEEP_FAKE_EPOCH_S sets the seconds per epoch; it resumes after the last logged epoch."""
    reporter = reporter_for_job(run.root.parent, int(os.environ["FER_JOB_ID"]))
    overrides = spec.get("overrides") or {}
    lr, epochs = float(overrides["lr"]), int(overrides.get("epochs", 3))
    done = len(run.read_metrics())
    for epoch in range(done + 1, epochs + 1):
        if should_stop():
            return run
        time.sleep(float(os.environ.get("SWEEP_FAKE_EPOCH_S", "0.2")))
        record = {"epoch": epoch, "val_accuracy": epoch * lr, "val_loss": 1.0 / (epoch * lr)}
        append_jsonl(run.metrics_log, record)
        on_event({"event": "epoch", "stage": "train", "total_epochs": epochs, **record})
        if reporter is not None and reporter.on_epoch(record):
            return run
    atomic_write_json(run.summary, {"status": "succeeded", "epochs_completed": epochs})
    return run
