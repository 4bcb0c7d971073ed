"""What users do with sweeps (the CLI and the dashboard call these): create, stop, resume, and read one as a table."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fer_engine.errors import ConfigError
from fer_engine.jobs.queue import JobNotFoundError, JobQueue
from fer_engine.sweeps.scheduler import top_up
from fer_engine.sweeps.storage import FINISHED, RUNNING, STOPPED, SweepConfig, SweepRow, open_store
from fer_engine.sweeps.study import MAX_TRIALS, create_sweep, load_study


def start_sweep(config: SweepConfig, root: str | Path | None = None, *, url: str | None = None) -> int:
    """Create the sweep and queue its first K trials; returns the number of jobs queued."""
    create_sweep(config, root, url=url)
    return top_up(root, url=url, sweep=config.name)


def stop_sweep(
    name: str,
    root: str | Path | None = None,
    *,
    url: str | None = None,
    cancel_running: bool = False,
    user: str | None = None,
) -> list[int]:
    """No new trials; trials in flight finish and are recorded (or, with `cancel_running`, are cancelled and
    recorded as failed). Returns the jobs cancelled."""
    store = open_store(root, url)
    row = store.get_sweep(name)
    if row.status == FINISHED:
        raise ConfigError(f"sweep '{name}' is finished already")
    store.set_status(name, STOPPED, "stopped by user")
    cancelled = []
    if cancel_running:
        queue = JobQueue(root)
        for trial in store.trials(name, unrecorded=True):
            if trial.job_id is None:
                continue
            try:
                if not queue.get(trial.job_id).finished:
                    queue.request_cancel(trial.job_id, user=user)
                    cancelled.append(trial.job_id)
            except (JobNotFoundError, ConfigError):
                continue
    top_up(root, url=url, sweep=name)
    return cancelled


def resume_sweep(
    name: str, root: str | Path | None = None, *, url: str | None = None, trials: int | None = None
) -> int:
    """Continue a stopped (or finished, with a larger `trials`) sweep; finished trials are kept, not re-run."""
    store = open_store(root, url)
    row = store.get_sweep(name)
    config = row.config
    if trials is not None:
        if not 1 <= trials <= MAX_TRIALS:
            raise ConfigError(f"--trials must be between 1 and {MAX_TRIALS}, not {trials}")
        config.trials = trials
    done = len(load_study(store, config).get_trials(deepcopy=False))
    if row.status == FINISHED and done >= config.trials:
        raise ConfigError(f"sweep '{name}' ran all its {done} trials: give a larger --trials to continue it")
    store.set_status(name, RUNNING, None, config=config)
    return top_up(root, url=url, sweep=name)


@dataclass
class SweepView:
    """A sweep with its trials as rows (for `fer sweep show` and the dashboard)."""

    row: SweepRow
    trials: list[dict[str, Any]]
    best: dict[str, Any] | None

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for trial in self.trials:
            counts[trial["state"]] = counts.get(trial["state"], 0) + 1
        return counts


def list_sweeps(root: str | Path | None = None, *, url: str | None = None) -> list[SweepRow]:
    from fer_engine.sweeps.storage import database_exists, storage_url

    if not database_exists(storage_url(root, url)):
        return []
    return open_store(root, url).list_sweeps()


def view_sweep(name: str, root: str | Path | None = None, *, url: str | None = None) -> SweepView:
    """The sweep and one row per trial: number, state, value, params, job id and state, run id, last epoch."""
    from optuna.trial import TrialState

    store = open_store(root, url)
    row = store.get_sweep(name)
    study = load_study(store, row.config)
    queue = JobQueue(root)
    jobs = {t.trial_id: t for t in store.trials(name)}
    rows = []
    for trial in study.get_trials(deepcopy=False):
        mapping = jobs.get(trial._trial_id)
        job = None
        if mapping is not None and mapping.job_id is not None:
            try:
                job = queue.get(mapping.job_id)
            except JobNotFoundError:
                job = None
        last_step = trial.last_step
        rows.append(
            {
                "trial": trial.number,
                "state": trial.state.name.lower(),
                "value": trial.value,
                "params": dict(trial.params),
                "epochs_reported": last_step,
                "job_id": mapping.job_id if mapping else None,
                "job_state": job.state if job else None,
                "run_id": job.run_id if job else None,
                "reason": trial.user_attrs.get("fail_reason"),
            }
        )
    complete = [r for r in rows if r["state"] == TrialState.COMPLETE.name.lower() and r["value"] is not None]
    best = None
    if complete:
        pick = max if row.config.direction == "maximize" else min
        best = pick(complete, key=lambda r: r["value"])
    return SweepView(row=row, trials=rows, best=best)


def top_trials(view: SweepView, n: int = 5) -> list[dict[str, Any]]:
    """The `n` best complete trials that have a run (best first)."""
    complete = [r for r in view.trials if r["state"] == "complete" and r["value"] is not None and r["run_id"]]
    return sorted(complete, key=lambda r: r["value"], reverse=view.row.config.direction == "maximize")[:n]
