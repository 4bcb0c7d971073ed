"""`top_up(runs_root)`: keep every active sweep at K trials in flight until N trials are done.

For each sweep it (1) records the trials whose jobs finished (value = the run's best epoch on the metric;
pruned -> PRUNED, failed or cancelled -> FAIL), (2) asks Optuna for new trials and queues each as an ordinary
pipeline job. Workers call it from their poll loop and `fer sweep create/resume` and the dashboard call it too.

Safe when several processes call it: a sweep is scheduled under a lock row that expires (one scheduler at a
time per sweep); a job serves one trial (UNIQUE job_id); an outcome is told once (`tell(skip_if_finished)`, then
the `recorded` flag flips once); a crash between "ask" and "job queued" is repaired on the next call.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

from fer_engine.errors import FerError
from fer_engine.jobs.limits import JobLimits
from fer_engine.jobs.owners import operator_name
from fer_engine.jobs.queue import QUEUED, SUCCEEDED, Job, JobNotFoundError, JobQueue
from fer_engine.sweeps.results import best_value
from fer_engine.sweeps.storage import (
    FINISHED,
    RUNNING,
    STOPPED,
    SweepRow,
    SweepStore,
    TrialRow,
    database_exists,
    open_store,
    storage_url,
)
from fer_engine.sweeps.study import load_study, space_of, trial_spec

log = logging.getLogger(__name__)

LOCK_TTL_S = 120.0  # a scheduler that died holding the lock is replaced after this long
QUIET_INTERVAL_S = 5.0  # top_up_quietly runs at most this often per runs root (the worker polls every second)


def top_up(root: str | Path | None = None, *, url: str | None = None, sweep: str | None = None) -> int:
    """Record finished trials and queue new ones for every running (or stopping) sweep; returns jobs queued."""
    resolved = storage_url(root, url)
    if not database_exists(resolved):
        return 0
    store = open_store(root, resolved)
    queue = JobQueue(root)
    owner = f"{socket.gethostname()}-{os.getpid()}-{threading.get_ident()}"
    queued = 0
    for row in store.list_sweeps(states=(RUNNING, STOPPED)):
        if sweep is not None and row.name != sweep:
            continue
        if row.status == STOPPED and not store.trials(row.name, unrecorded=True):
            continue
        if not store.try_lock(row.name, owner, LOCK_TTL_S):
            continue  # another process is scheduling this sweep right now
        try:
            queued += _schedule(store, queue, row)
        finally:
            store.unlock(row.name, owner)
    return queued


def top_up_quietly(root: str | Path | None = None) -> int:
    """`top_up` for a worker's poll loop: at most every QUIET_INTERVAL_S, and a failure is logged, never raised."""
    key = str(Path(root or "").resolve()) if root else ""
    now = time.monotonic()
    if now - _last_quiet_call.get(key, -QUIET_INTERVAL_S) < QUIET_INTERVAL_S:
        return 0
    _last_quiet_call[key] = now
    try:
        return top_up(root)
    except Exception as error:  # noqa: BLE001 - a sweep problem must never stop a worker serving other jobs
        log.warning("sweep scheduling failed: %s", error)
        return 0


_last_quiet_call: dict[str, float] = {}


def _schedule(store: SweepStore, queue: JobQueue, row: SweepRow) -> int:
    from optuna.trial import TrialState

    config = row.config
    study = load_study(store, config, for_recording=True)
    _record_finished(store, queue, study, row)
    trials = study.get_trials(deepcopy=False)
    _fail_unmapped(store, study, row.name, trials)
    if row.status != RUNNING:
        return 0
    in_flight = len(store.trials(row.name, unrecorded=True))
    total = len(study.get_trials(deepcopy=False))
    queued = 0
    message = None
    while in_flight < config.parallel and total < config.trials:
        waiting = _queue_full(queue, config.owner)
        if waiting:  # wait for a slot rather than burn a trial on a refused submit
            message = waiting
            break
        study = load_study(store, config, n_existing=total)
        trial = study.ask()
        values = space_of(config).suggest(trial)
        store.add_trial(row.name, trial._trial_id, trial.number)
        study = load_study(store, config, for_recording=True)
        try:
            job = queue.submit(
                trial_spec(config, values, trial.number), name=f"sweep-{row.name}-t{trial.number}", owner=config.owner
            )
        except FerError as error:  # the owner's queue cap, a server size cap: try again on a later call
            message = f"could not queue trial {trial.number}: {error}"
            study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)
            store.mark_recorded(trial._trial_id)
            break
        store.attach_job(trial._trial_id, job.id)
        in_flight += 1
        total += 1
        queued += 1
        log.info("sweep %s: trial %d queued as job %d %s", row.name, trial.number, job.id, values)
    done = total >= config.trials and not store.trials(row.name, unrecorded=True)
    if done:
        store.set_status(row.name, FINISHED, message)
    elif message != row.message:
        store.set_message(row.name, message)
    return queued


def _queue_full(queue: JobQueue, owner: str | None) -> str | None:
    """Why no trial can be queued now for `owner` (their queued-jobs cap is reached), else None."""
    cap = JobLimits.from_env().max_queued_per_user
    name = owner or operator_name()
    queued = sum(job.owner == name for job in queue.list(states=(QUEUED,)))
    return f"waiting: {name} has {queued} queued jobs, the most allowed" if queued >= cap else None


def _record_finished(store: SweepStore, queue: JobQueue, study: Any, row: SweepRow) -> None:
    """Tell the study the outcome of every trial whose job is over (each once)."""
    from optuna.trial import TrialState

    for trial_row in store.trials(row.name, unrecorded=True):
        job = _job_of(queue, trial_row)
        if job is None:
            if trial_row.job_id is None and not _queued_meanwhile(store, queue, row.name, trial_row):
                _tell(store, study, trial_row, TrialState.FAIL, None, "its job was never queued")
            elif trial_row.job_id is not None:
                _tell(store, study, trial_row, TrialState.FAIL, None, f"job {trial_row.job_id} is gone")
            continue
        if not job.finished:
            continue
        if trial_row.pruned:
            _tell(store, study, trial_row, TrialState.PRUNED, None, None)
        elif job.state == SUCCEEDED:
            value = (
                best_value(queue.store.paths(job.run_id), row.config.metric, row.config.direction)
                if job.run_id
                else None
            )
            if value is None:
                _tell(store, study, trial_row, TrialState.FAIL, None, f"run logged no {row.config.metric}")
            else:
                _tell(store, study, trial_row, TrialState.COMPLETE, value, None)
        else:
            _tell(
                store, study, trial_row, TrialState.FAIL, None, f"job {job.id} {job.state}: {job.error or ''}".strip()
            )


def _tell(
    store: SweepStore, study: Any, trial_row: TrialRow, state: Any, value: float | None, reason: str | None
) -> None:
    """Tell the study once (skip_if_finished: a second scheduler changes nothing), then flag the row recorded."""
    from optuna.trial import TrialState

    storage = study._storage
    if reason and storage.get_trial(trial_row.trial_id).state == TrialState.RUNNING:
        storage.set_trial_user_attr(trial_row.trial_id, "fail_reason", reason[:300])
    study.tell(trial_row.number, value, state=state, skip_if_finished=True)
    store.mark_recorded(trial_row.trial_id)


def _job_of(queue: JobQueue, trial_row: TrialRow) -> Job | None:
    if trial_row.job_id is None:
        return None
    try:
        return queue.get(trial_row.job_id)
    except JobNotFoundError:
        return None


def _queued_meanwhile(store: SweepStore, queue: JobQueue, sweep: str, trial_row: TrialRow) -> bool:
    """A scheduler that died after queueing a trial's job but before recording it: find the job by its name."""
    name = f"sweep-{sweep}-t{trial_row.number}"
    for job in queue.list():
        if job.name == name and store.trial_for_job(job.id) is None:
            store.attach_job(trial_row.trial_id, job.id)
            return True
    return False


def _fail_unmapped(store: SweepStore, study: Any, sweep: str, trials: list[Any]) -> None:
    """Trials Optuna holds as running with no row of ours (a scheduler died between ask and add_trial)."""
    from optuna.trial import TrialState

    known = {row.trial_id for row in store.trials(sweep)}
    for trial in trials:
        if trial.state == TrialState.RUNNING and trial._trial_id not in known:
            study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)
