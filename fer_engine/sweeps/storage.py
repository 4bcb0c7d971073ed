"""Where sweeps live: Optuna's RDB storage (by default `sweeps.sqlite` in the runs root) plus two small tables of
our own in the same database: `fer_sweeps` (each sweep's settings, status and scheduling lock) and
`fer_sweep_trials` (which job runs which trial).

A job belongs to a trial only through `fer_sweep_trials` (job_id is UNIQUE), so a pipeline spec carries nothing
sweep-specific. `FER_SWEEPS_DB` (or `--storage`) names another database URL for larger setups; the database then
serves one runs root (job ids are the runs root's).
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from fer_engine.errors import ConfigError, FerError
from fer_engine.paths import runs_root as default_runs_root

SWEEPS_DB_FILE = "sweeps.sqlite"
SWEEPS_DB_ENV = "FER_SWEEPS_DB"
SWEEP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
RUNNING, STOPPED, FINISHED = "running", "stopped", "finished"
SWEEP_STATES = (RUNNING, STOPPED, FINISHED)
SQLITE_TIMEOUT_S = 60

_metadata = sa.MetaData()
sweeps_table = sa.Table(
    "fer_sweeps",
    _metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("config_json", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, default=RUNNING),
    sa.Column("message", sa.Text, nullable=True),  # the last problem the scheduler met (queue cap, ...)
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("lock_owner", sa.String(64), nullable=True),  # the process scheduling this sweep now
    sa.Column("lock_until", sa.Float, nullable=True),
)
trials_table = sa.Table(
    "fer_sweep_trials",
    _metadata,
    sa.Column("trial_id", sa.Integer, primary_key=True, autoincrement=False),  # Optuna's trial id
    sa.Column("sweep", sa.String(64), nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("job_id", sa.Integer, nullable=True, unique=True),
    sa.Column("pruned", sa.Integer, nullable=False, default=0),
    sa.Column("recorded", sa.Integer, nullable=False, default=0),  # its outcome was told to the study
    sa.UniqueConstraint("sweep", "number"),
)


class SweepNotFoundError(FerError):
    """A sweep name that is not in the sweeps database."""


@dataclass
class SweepConfig:
    """What a sweep searches and how: the space, the trial budget, the metric, sampler, pruner and the base job."""

    name: str
    space: dict[str, dict[str, Any]]
    trials: int
    parallel: int = 2
    metric: str = "val_accuracy"
    direction: str = "maximize"
    sampler: str = "tpe"
    pruner: str = "median"
    pruner_startup_trials: int = 5
    pruner_warmup_epochs: int = 0
    seed: int = 0
    base_spec: dict[str, Any] = field(default_factory=dict)  # PipelineSpec fields every trial starts from
    owner: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SweepConfig:
        return cls(**data)


@dataclass
class SweepRow:
    """A sweep as stored: its settings, status and the scheduler's last message."""

    config: SweepConfig
    status: str
    message: str | None
    created_at: float

    @property
    def name(self) -> str:
        return self.config.name


@dataclass
class TrialRow:
    """Which job runs trial `number` of `sweep`, whether the pruner stopped it, and whether it was recorded."""

    trial_id: int
    sweep: str
    number: int
    job_id: int | None
    pruned: bool
    recorded: bool


def validate_sweep_name(name: str) -> str:
    if not isinstance(name, str) or not SWEEP_NAME.match(name):
        raise ConfigError("a sweep name is 1-64 letters, digits, '-' or '_', starting with a letter or digit")
    return name


def storage_url(root: str | Path | None = None, url: str | None = None) -> str:
    """The database URL: `url`, else $FER_SWEEPS_DB, else sqlite:///<runs root>/sweeps.sqlite."""
    chosen = url or os.environ.get(SWEEPS_DB_ENV)
    if chosen:
        try:
            sa.engine.make_url(chosen)
        except sa.exc.ArgumentError as error:
            raise ConfigError(f"'{chosen}' is not a database URL (e.g. postgresql://user@host/db)") from error
        return chosen
    return f"sqlite:///{(default_runs_root(root) / SWEEPS_DB_FILE).resolve()}"


def database_exists(url: str) -> bool:
    """False for a sqlite file that was never created (no sweep was ever made there): nothing to look at."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return True
    if not parsed.database:
        return False
    return Path(parsed.database).exists()


def engine_kwargs(url: str) -> dict[str, Any]:
    """SQLite waits for a busy database instead of failing at once (workers and the dashboard share it)."""
    if sa.engine.make_url(url).get_backend_name() == "sqlite":
        return {"connect_args": {"timeout": SQLITE_TIMEOUT_S}}
    return {"pool_pre_ping": True}


_cache_lock = threading.Lock()
_stores: dict[str, SweepStore] = {}


def open_store(root: str | Path | None = None, url: str | None = None) -> SweepStore:
    """The (process-wide, cached) SweepStore of a runs root or database URL."""
    resolved = storage_url(root, url)
    with _cache_lock:
        if resolved not in _stores:
            _stores[resolved] = SweepStore(resolved)
        return _stores[resolved]


class SweepStore:
    """Our two tables, and Optuna's storage, in one database."""

    def __init__(self, url: str):
        self.url = url
        parsed = sa.engine.make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        self.engine = sa.create_engine(url, **engine_kwargs(url))
        _metadata.create_all(self.engine)
        self._optuna_storage: Any = None

    @property
    def optuna_storage(self) -> Any:
        """Optuna's RDBStorage on the same database (created on first use: it checks and creates its schema)."""
        if self._optuna_storage is None:
            import optuna

            self._optuna_storage = optuna.storages.RDBStorage(self.url, engine_kwargs=engine_kwargs(self.url))
        return self._optuna_storage

    # ---- sweeps --------------------------------------------------------------------------------------------
    def add_sweep(self, config: SweepConfig) -> None:
        with self.engine.begin() as connection:
            if connection.execute(sa.select(sweeps_table.c.name).where(sweeps_table.c.name == config.name)).first():
                raise ConfigError(f"a sweep named '{config.name}' exists already (see `fer sweep list`)")
            connection.execute(
                sweeps_table.insert().values(
                    name=config.name, config_json=json.dumps(config.to_dict()), status=RUNNING, created_at=time.time()
                )
            )

    def get_sweep(self, name: str) -> SweepRow:
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(sweeps_table).where(sweeps_table.c.name == name)).mappings().first()
        if row is None:
            raise SweepNotFoundError(f"no sweep '{name}' (see `fer sweep list`)")
        return _sweep_row(row)

    def list_sweeps(self, *, states: tuple[str, ...] | None = None) -> list[SweepRow]:
        query = sa.select(sweeps_table).order_by(sweeps_table.c.created_at.desc())
        if states:
            query = query.where(sweeps_table.c.status.in_(states))
        with self.engine.connect() as connection:
            return [_sweep_row(row) for row in connection.execute(query).mappings().all()]

    def set_status(
        self, name: str, status: str, message: str | None = None, *, config: SweepConfig | None = None
    ) -> None:
        values: dict[str, Any] = {"status": status, "message": message}
        if config is not None:
            values["config_json"] = json.dumps(config.to_dict())
        with self.engine.begin() as connection:
            connection.execute(sweeps_table.update().where(sweeps_table.c.name == name).values(**values))

    def set_message(self, name: str, message: str | None) -> None:
        with self.engine.begin() as connection:
            connection.execute(sweeps_table.update().where(sweeps_table.c.name == name).values(message=message))

    def try_lock(self, name: str, owner: str, ttl_s: float) -> bool:
        """Take the sweep's scheduling lock (one conditional UPDATE: at most one process holds it; it expires)."""
        now = time.time()
        lock = sweeps_table.c
        with self.engine.begin() as connection:
            result = connection.execute(
                sweeps_table.update()
                .where(
                    (lock.name == name)
                    & (lock.lock_until.is_(None) | (lock.lock_until < now) | (lock.lock_owner == owner))
                )
                .values(lock_owner=owner, lock_until=now + ttl_s)
            )
            return result.rowcount == 1

    def unlock(self, name: str, owner: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                sweeps_table.update()
                .where((sweeps_table.c.name == name) & (sweeps_table.c.lock_owner == owner))
                .values(lock_owner=None, lock_until=None)
            )

    # ---- trials ----------------------------------------------------------------------------------------------
    def add_trial(self, sweep: str, trial_id: int, number: int) -> None:
        with self.engine.begin() as connection:
            connection.execute(trials_table.insert().values(trial_id=trial_id, sweep=sweep, number=number))

    def attach_job(self, trial_id: int, job_id: int) -> None:
        """Record the job of a trial (job_id is UNIQUE: a job never serves two trials)."""
        with self.engine.begin() as connection:
            connection.execute(trials_table.update().where(trials_table.c.trial_id == trial_id).values(job_id=job_id))

    def trials(self, sweep: str, *, unrecorded: bool = False) -> list[TrialRow]:
        query = sa.select(trials_table).where(trials_table.c.sweep == sweep).order_by(trials_table.c.number)
        if unrecorded:
            query = query.where(trials_table.c.recorded == 0)
        with self.engine.connect() as connection:
            return [_trial_row(row) for row in connection.execute(query).mappings().all()]

    def trial_for_job(self, job_id: int) -> TrialRow | None:
        with self.engine.connect() as connection:
            row = (
                connection.execute(sa.select(trials_table).where(trials_table.c.job_id == int(job_id)))
                .mappings()
                .first()
            )
        return _trial_row(row) if row is not None else None

    def mark_pruned(self, trial_id: int) -> None:
        with self.engine.begin() as connection:
            connection.execute(trials_table.update().where(trials_table.c.trial_id == trial_id).values(pruned=1))

    def mark_recorded(self, trial_id: int) -> bool:
        """Flip `recorded` 0 -> 1; False when another process recorded this trial first."""
        with self.engine.begin() as connection:
            result = connection.execute(
                trials_table.update()
                .where((trials_table.c.trial_id == trial_id) & (trials_table.c.recorded == 0))
                .values(recorded=1)
            )
            return result.rowcount == 1


def _sweep_row(row: Any) -> SweepRow:
    return SweepRow(
        config=SweepConfig.from_dict(json.loads(row["config_json"])),
        status=row["status"],
        message=row["message"],
        created_at=row["created_at"],
    )


def _trial_row(row: Any) -> TrialRow:
    return TrialRow(
        trial_id=row["trial_id"],
        sweep=row["sweep"],
        number=row["number"],
        job_id=row["job_id"],
        pruned=bool(row["pruned"]),
        recorded=bool(row["recorded"]),
    )
