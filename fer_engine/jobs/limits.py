"""Caps on what one job may ask for (epochs, search fits, data sizes) and on queued jobs per user.

Read from environment variables when a job is submitted, so the CLI and the dashboard get the same limits; a
hosted dashboard must not let one visitor queue a million epochs. Documented in docs/jobs.md.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

from fer_engine.errors import ConfigError

LIMIT_ENV_VARS = {
    "max_epochs": "FER_JOB_MAX_EPOCHS",
    "max_n_iter": "FER_JOB_MAX_N_ITER",
    "max_cv": "FER_JOB_MAX_CV",
    "max_limit": "FER_JOB_MAX_LIMIT",
    "max_queued_per_user": "FER_JOB_MAX_QUEUED_PER_USER",
}


@dataclass(frozen=True)
class JobLimits:
    """The caps; each can be raised or lowered with its environment variable (`LIMIT_ENV_VARS`)."""

    max_epochs: int = 500
    max_n_iter: int = 200
    max_cv: int = 20
    max_limit: int = 1_000_000  # images per split (--limit) and train rows for the heads (max_train)
    max_queued_per_user: int = 10

    @classmethod
    def from_env(cls) -> JobLimits:
        """The defaults, overridden by any `FER_JOB_MAX_*` variable that is set (ConfigError if not a count)."""
        values = {}
        for item in fields(cls):
            variable = LIMIT_ENV_VARS[item.name]
            text = os.environ.get(variable, "").strip()
            if not text:
                continue
            try:
                value = int(text)
            except ValueError:
                raise ConfigError(f"{variable} must be a whole number, not '{text[:40]}'") from None
            if value < 1:
                raise ConfigError(f"{variable} must be at least 1, not {value}")
            values[item.name] = value
        return cls(**values)


def check_job_size(
    *,
    epochs: int | None,
    n_iter: int,
    cv: int,
    limit: int | None,
    max_train: int | None,
    limits: JobLimits | None = None,
) -> None:
    """ConfigError naming the first value above its cap (and the variable that sets the cap)."""
    limits = limits or JobLimits.from_env()
    checks = (
        ("epochs", epochs, limits.max_epochs, "max_epochs"),
        ("n_iter (random search fits per head)", n_iter, limits.max_n_iter, "max_n_iter"),
        ("cv (search folds)", cv, limits.max_cv, "max_cv"),
        ("limit (images per split)", limit, limits.max_limit, "max_limit"),
        ("max_train (train rows for the heads)", max_train, limits.max_limit, "max_limit"),
    )
    for label, value, cap, name in checks:
        if value is not None and value > cap:
            raise ConfigError(
                f"{label}={value} is above this server's cap of {cap} (set {LIMIT_ENV_VARS[name]} to change it)"
            )
