"""Hyperparameter sweeps: Optuna studies whose trials are ordinary jobs in the queue (see docs/sweeps.md)."""

from fer_engine.sweeps.manage import list_sweeps, resume_sweep, start_sweep, stop_sweep, view_sweep
from fer_engine.sweeps.scheduler import top_up, top_up_quietly
from fer_engine.sweeps.space import SearchSpace, load_space_file, parse_space, parse_space_text
from fer_engine.sweeps.storage import SweepConfig
from fer_engine.sweeps.trial_hook import TrialReporter, reporter_for_job

__all__ = [
    "SearchSpace",
    "SweepConfig",
    "TrialReporter",
    "list_sweeps",
    "load_space_file",
    "parse_space",
    "parse_space_text",
    "reporter_for_job",
    "resume_sweep",
    "start_sweep",
    "stop_sweep",
    "top_up",
    "top_up_quietly",
    "view_sweep",
]
