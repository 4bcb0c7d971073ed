"""The per-epoch side of a trial, inside its job process: report the epoch's metric to the study and say whether
the pruner stops the trial.

Wiring (fer_engine/jobs/run_job.py): `reporter_for_job(queue.root, job_id)` once; on every 'epoch' event
`reporter.on_epoch(record)`; True -> stop the job with reason 'pruned' (it ends 'cancelled', and `top_up`
records the trial as PRUNED from the flag set here, whatever the job's final state).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

from fer_engine.sweeps.storage import SweepConfig, SweepStore, database_exists, open_store, storage_url

log = logging.getLogger(__name__)


class TrialReporter:
    """Reports one trial's per-epoch values (`trial.report(value, epoch)`) and asks its pruner."""

    def __init__(self, store: SweepStore, config: SweepConfig, trial_id: int, job_id: int):
        from fer_engine.sweeps.study import load_study

        self.store, self.config, self.trial_id, self.job_id = store, config, trial_id, job_id
        self.study = load_study(store, config)
        import optuna

        self.trial = optuna.trial.Trial(self.study, trial_id)
        self.pruned = False

    def on_epoch(self, record: dict[str, Any]) -> bool:
        """Report `record[metric]` at `record['epoch']`; True when the pruner says stop (the flag is stored first).

        Never raises: a reporting problem (database busy, trial already recorded) is logged and training goes on.
        """
        if self.pruned:
            return True
        value, epoch = record.get(self.config.metric), record.get("epoch")
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            return False
        if not isinstance(epoch, int):
            return False
        try:
            self.trial.report(float(value), epoch)
            if not self.trial.should_prune():
                return False
            self.store.mark_pruned(self.trial_id)
        except Exception as error:  # noqa: BLE001 - the trial's training must not die of its bookkeeping
            log.warning(
                "job %s: could not report epoch %s to sweep %s: %s", self.job_id, epoch, self.config.name, error
            )
            return False
        self.pruned = True
        log.info(
            "job %s: sweep %s pruned trial at epoch %s (%s=%.4g)",
            self.job_id,
            self.config.name,
            epoch,
            self.config.metric,
            value,
        )
        return True


def reporter_for_job(root: str | Path | None, job_id: int, *, url: str | None = None) -> TrialReporter | None:
    """The reporter of the trial job `job_id` runs, or None for a job that is no sweep trial (cheap: no sweeps
    database is created or opened when the runs root never had one)."""
    resolved = storage_url(root, url)
    if not database_exists(resolved):
        return None
    try:
        store = open_store(root, resolved)
        row = store.trial_for_job(int(job_id))
        if row is None:
            return None
        return TrialReporter(store, store.get_sweep(row.sweep).config, row.trial_id, int(job_id))
    except Exception as error:  # noqa: BLE001 - a broken sweeps database must not fail an ordinary job
        log.warning("job %s: sweep reporting unavailable: %s", job_id, error)
        return None
