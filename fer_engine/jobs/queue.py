"""A durable job queue: the `jobs` table in the runs root's `index.sqlite`, shared by every worker process/host.

Every state change is one `BEGIN IMMEDIATE` transaction, so two workers never claim the same job. A claimed job
carries a random `lease`; a worker's or a job process's later writes name that lease and do nothing once the job
was taken away from them (re-queued as an orphan, cancelled), so a late writer never overwrites a newer attempt.
"""

from __future__ import annotations

import builtins
import json
import os
import secrets
import socket
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fer_engine.errors import ConfigError, FerError
from fer_engine.jobs.limits import LIMIT_ENV_VARS, JobLimits
from fer_engine.jobs.owners import LOCAL_OWNER, operator_name, require_manager
from fer_engine.jobs.spec import JobSpec, spec_payload
from fer_engine.runs.store import RunStore

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = "queued", "running", "succeeded", "failed", "cancelled"
JOB_STATES = (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED)
FINISHED_STATES = (SUCCEEDED, FAILED, CANCELLED)
DEFAULT_MAX_ATTEMPTS = 3
JOBS_LOG_DIR = "jobs"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL DEFAULT '',
    spec_json TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued',
    num_devices INTEGER NOT NULL DEFAULT 1,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    worker_id TEXT,
    pid INTEGER,
    host TEXT,
    device TEXT,
    heartbeat_at REAL,
    progress_json TEXT NOT NULL DEFAULT '{}',
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 3,
    error TEXT,
    log_path TEXT,
    run_id TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    lease TEXT,
    owner TEXT NOT NULL DEFAULT 'local'
);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, id);
CREATE TABLE IF NOT EXISTS workers (
    worker_id TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    devices_json TEXT NOT NULL DEFAULT '[]',
    started_at REAL NOT NULL,
    heartbeat_at REAL NOT NULL
);
"""
# Added after the first release: index.sqlite files from before it get the column (old jobs: owner 'local').
_OWNER_COLUMN = "owner TEXT NOT NULL DEFAULT 'local'"
_OWNER_INDEX = "CREATE INDEX IF NOT EXISTS jobs_by_owner ON jobs (owner, state)"


class JobNotFoundError(FerError):
    """A job id that is not in the queue."""


@dataclass
class Job:
    """One row of the queue. `progress` holds step, epoch, total epochs, steps per epoch, ETA, last metrics."""

    id: int
    name: str
    spec: dict[str, Any]
    state: str
    num_devices: int
    created_at: float
    started_at: float | None
    finished_at: float | None
    worker_id: str | None
    pid: int | None
    host: str | None
    device: str | None
    heartbeat_at: float | None
    progress: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    error: str | None = None
    log_path: str | None = None
    run_id: str | None = None
    cancel_requested: bool = False
    lease: str | None = None
    owner: str = LOCAL_OWNER  # who queued it: only they (or an admin) cancel or retry it

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES

    @property
    def devices(self) -> list[str]:
        """The devices the job holds while running (`device` is stored comma-separated)."""
        return [d for d in (self.device or "").split(",") if d]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view (for `fer jobs list --json` and the dashboard), without the private lease."""
        data = {k: v for k, v in self.__dict__.items() if k != "lease"}
        return data


@dataclass
class WorkerRecord:
    """A worker process registered in the queue, with its last heartbeat."""

    worker_id: str
    host: str
    pid: int
    devices: list[str]
    started_at: float
    heartbeat_at: float


class JobQueue:
    """The queue of pipeline jobs under a runs root (table `jobs` beside `runs` in `RunStore(root).db_path`)."""

    def __init__(self, root: str | Path | None = None):
        self.store = RunStore(root)
        self.root = self.store.root
        self.db_path = self.store.db_path
        self.store.ensure_schema(_SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        """Add the `owner` column to a jobs table created before owners were recorded (idempotent, race-safe)."""

        def columns(connection: sqlite3.Connection) -> set[str]:
            return {row["name"] for row in connection.execute("PRAGMA table_info(jobs)").fetchall()}

        if "owner" in self.store.read(columns):
            return

        def change(connection: sqlite3.Connection) -> None:
            if "owner" not in columns(connection):  # another process may have migrated meanwhile
                connection.execute(f"ALTER TABLE jobs ADD COLUMN {_OWNER_COLUMN}")
            connection.execute(_OWNER_INDEX)

        self.store.write(change)

    # ---- submitting and reading --------------------------------------------------------------------------------
    def submit(
        self,
        spec: JobSpec | dict[str, Any],
        *,
        name: str = "",
        num_devices: int = 1,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        owner: str | None = None,
    ) -> Job:
        """Validate `spec` (ConfigError if invalid or above the caps) and queue it for `owner` (default: the OS
        user, `operator_name()`); refused when the owner already has the most queued jobs allowed."""
        payload = spec_payload(spec)
        owner = _owner_name(owner)
        if not isinstance(num_devices, int) or num_devices < 1:
            raise ConfigError(f"a job needs at least one device, not {num_devices!r}")
        if not isinstance(max_attempts, int) or max_attempts < 1:
            raise ConfigError(f"max_attempts must be a positive integer, not {max_attempts!r}")
        name = name or str(payload.get("name") or "")
        logs = self.root / JOBS_LOG_DIR
        logs.mkdir(parents=True, exist_ok=True)

        max_queued = JobLimits.from_env().max_queued_per_user

        def change(connection: sqlite3.Connection) -> int:
            _check_queued_cap(connection, owner, max_queued)
            cursor = connection.execute(
                "INSERT INTO jobs (name, spec_json, state, num_devices, created_at, max_attempts, owner)"
                " VALUES (?, ?, 'queued', ?, ?, ?, ?)",
                (name, json.dumps(payload), num_devices, time.time(), max_attempts, owner),
            )
            assert cursor.lastrowid is not None  # sqlite3 sets it after every INSERT
            job_id = int(cursor.lastrowid)
            # Relative to the runs root: machines may mount a shared root at different paths.
            connection.execute("UPDATE jobs SET log_path = ? WHERE id = ?", (f"{JOBS_LOG_DIR}/{job_id}.log", job_id))
            return job_id

        return self.get(self.store.write(change))

    def get(self, job_id: int) -> Job:
        """The job with this id (JobNotFoundError if there is none)."""
        job_id = _job_id(job_id)
        row = self.store.read(lambda c: c.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone())
        if row is None:
            raise JobNotFoundError(f"no job {job_id} (see `fer jobs list`)")
        return _job(row, self.root)

    def list(self, *, states: tuple[str, ...] | list[str] | None = None, limit: int | None = None) -> list[Job]:
        """Jobs, newest first, optionally only in some states."""
        sql = "SELECT * FROM jobs"
        params: builtins.list[str | int] = []
        if states:
            unknown = set(states) - set(JOB_STATES)
            if unknown:
                raise ConfigError(f"unknown job state(s) {sorted(unknown)}; use {', '.join(JOB_STATES)}")
            sql += f" WHERE state IN ({','.join('?' * len(states))})"
            params += list(states)
        sql += " ORDER BY id DESC"
        if limit:
            sql += " LIMIT ?"
            params.append(int(limit))
        return [_job(row, self.root) for row in self.store.read(lambda c: c.execute(sql, params).fetchall())]

    def counts(self) -> dict[str, int]:
        """Number of jobs in each state."""
        rows = self.store.read(lambda c: c.execute("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state").fetchall())
        counts = {state: 0 for state in JOB_STATES}
        counts.update({row["state"]: row["n"] for row in rows})
        return counts

    def has_queued(self, *, max_devices: int) -> bool:
        """Whether a queued job needs at most `max_devices` devices (one a worker of that size could take)."""
        row = self.store.read(
            lambda c: c.execute(
                "SELECT 1 FROM jobs WHERE state = 'queued' AND num_devices <= ? LIMIT 1", (max_devices,)
            ).fetchone()
        )
        return row is not None

    # ---- a worker's side -----------------------------------------------------------------------------------------
    def claim(self, worker_id: str, devices: builtins.list[str] | str, *, host: str | None = None) -> Job | None:
        """Atomically take the oldest queued job that fits in `devices` (the worker's free devices), or None."""
        free = [devices] if isinstance(devices, str) else list(devices)
        if not free:
            return None
        lease = secrets.token_hex(8)
        host = host or socket.gethostname()

        def change(connection: sqlite3.Connection) -> sqlite3.Row | None:
            candidate = connection.execute(
                "SELECT id, num_devices FROM jobs WHERE state = 'queued' AND num_devices <= ? ORDER BY id LIMIT 1",
                (len(free),),
            ).fetchone()
            if candidate is None:
                return None
            device = ",".join(free[: candidate["num_devices"]])
            now = time.time()
            rows = connection.execute(
                "UPDATE jobs SET state = 'running', worker_id = ?, host = ?, device = ?, lease = ?, pid = NULL,"
                " started_at = ?, heartbeat_at = ?, finished_at = NULL, error = NULL"
                " WHERE id = ? AND state = 'queued' RETURNING *",
                (worker_id, host, device, lease, now, now, candidate["id"]),
            ).fetchall()
            return rows[0] if rows else None

        row = self.store.write(change)
        return _job(row, self.root) if row is not None else None

    def set_pid(self, job_id: int, pid: int, *, lease: str | None = None) -> bool:
        """Record the process running the job."""
        return self._update(job_id, lease, "pid = ?", (int(pid),))

    def attach_run(self, job_id: int, run_id: str, *, lease: str | None = None) -> bool:
        """Record the run folder the job writes (so a re-queued job resumes the same run)."""
        return self._update(job_id, lease, "run_id = ?", (run_id,))

    def heartbeat(self, job_id: int, *, lease: str | None = None) -> Job | None:
        """Mark the job alive; returns it (to read `cancel_requested`), or None once the lease is lost."""
        if not self._update(job_id, lease, "heartbeat_at = ?", (time.time(),)):
            return None
        return self.get(job_id)

    def update_progress(self, job_id: int, progress: dict[str, Any], *, lease: str | None = None) -> bool:
        """Store the job's progress (and count it as a heartbeat); False once the lease is lost."""
        return self._update(
            job_id,
            lease,
            "progress_json = ?, heartbeat_at = ?",
            (json.dumps(progress, default=_json_default), time.time()),
        )

    def finish(self, job_id: int, state: str, error: str | None = None, *, lease: str | None = None) -> bool:
        """End a running job as succeeded, failed or cancelled (with the reason in `error`)."""
        if state not in FINISHED_STATES:
            raise ValueError(f"finish() takes one of {FINISHED_STATES}, not '{state}'")
        return self._update(
            job_id, lease, "state = ?, error = ?, finished_at = ?, lease = NULL", (state, error, time.time())
        )

    def requeue(
        self,
        job_id: int,
        *,
        lease: str | None = None,
        reason: str | None = None,
        count_attempt: bool = False,
        spec: dict[str, Any] | None = None,
    ) -> bool:
        """Put a running job back in the queue (interrupted or re-planned); the run is resumed on the next claim."""
        assignments = "state = 'queued', worker_id = NULL, pid = NULL, device = NULL, lease = NULL, error = ?"
        params: list[Any] = [reason]
        if count_attempt:
            assignments += ", attempts = attempts + 1"
        if spec is not None:
            assignments += ", spec_json = ?"
            params.append(json.dumps(spec))
        return self._update(job_id, lease, assignments, tuple(params))

    def _update(self, job_id: int, lease: str | None, assignments: str, params: tuple) -> bool:
        """UPDATE a running job's row; with a lease, only while that lease still holds it."""
        job_id = _job_id(job_id)
        where = "id = ? AND state = 'running'"
        where_params: tuple = (job_id,)
        if lease is not None:
            where += " AND lease = ?"
            where_params += (lease,)
        sql = f"UPDATE jobs SET {assignments} WHERE {where}"
        return self.store.write(lambda c: c.execute(sql, params + where_params).rowcount) > 0

    def requeue_orphans(self, timeout_s: float) -> builtins.list[Job]:
        """Running jobs whose heartbeat is older than `timeout_s`: back to queued (attempts + 1), or failed
        when their attempts are used up. Returns the jobs as they are afterwards."""
        cutoff = time.time() - timeout_s

        def change(connection: sqlite3.Connection) -> list[int]:
            rows = connection.execute(
                "SELECT id, attempts, max_attempts, worker_id, host FROM jobs"
                " WHERE state = 'running' AND COALESCE(heartbeat_at, started_at, 0) < ?",
                (cutoff,),
            ).fetchall()
            for row in rows:
                reason = (
                    f"worker {row['worker_id']} on {row['host']} stopped sending heartbeats"
                    f" for more than {timeout_s:g} s"
                )
                if row["attempts"] + 1 >= row["max_attempts"]:
                    connection.execute(
                        "UPDATE jobs SET state = 'failed', attempts = attempts + 1, lease = NULL, finished_at = ?,"
                        " error = ? WHERE id = ?",
                        (time.time(), f"{reason}; gave up after {row['attempts'] + 1} attempt(s)", row["id"]),
                    )
                else:
                    connection.execute(
                        "UPDATE jobs SET state = 'queued', attempts = attempts + 1, worker_id = NULL, pid = NULL,"
                        " device = NULL, lease = NULL, error = ? WHERE id = ?",
                        (f"{reason}; re-queued", row["id"]),
                    )
            return [row["id"] for row in rows]

        return [self.get(job_id) for job_id in self.store.write(change)]

    def cancel_requests(self, job_ids: builtins.list[int]) -> set[int]:
        """Those of `job_ids` that a user asked to cancel (one query per worker tick)."""
        if not job_ids:
            return set()
        marks = ",".join("?" * len(job_ids))
        sql = f"SELECT id FROM jobs WHERE cancel_requested = 1 AND state = 'running' AND id IN ({marks})"
        return {row["id"] for row in self.store.read(lambda c: c.execute(sql, [int(i) for i in job_ids]).fetchall())}

    # ---- a user's side -------------------------------------------------------------------------------------------
    def request_cancel(self, job_id: int, *, user: str | None = None) -> Job:
        """Cancel a queued job now, or ask the worker running it to stop it (it then becomes 'cancelled').

        `user` must be the job's owner or an admin (JobPermissionError otherwise); None is the machine's operator.
        """
        job_id = _job_id(job_id)

        def change(connection: sqlite3.Connection) -> None:
            state, owner = self._state_in(connection, job_id)
            require_manager(job_id, owner, user, "cancel")
            if state == QUEUED:
                connection.execute(
                    "UPDATE jobs SET state = 'cancelled', cancel_requested = 1, finished_at = ?,"
                    " error = 'cancelled before it started' WHERE id = ?",
                    (time.time(), job_id),
                )
            elif state == RUNNING:
                connection.execute("UPDATE jobs SET cancel_requested = 1 WHERE id = ?", (job_id,))
            else:
                raise ConfigError(f"job {job_id} is already {state}; nothing to cancel")

        self.store.write(change)
        return self.get(job_id)

    def retry(self, job_id: int, *, user: str | None = None) -> Job:
        """Queue a failed or cancelled job again (its run, if any, is resumed), with a fresh attempt budget.

        `user` must be the job's owner or an admin (None: the machine's operator); the owner's queued-jobs cap holds.
        """
        job_id = _job_id(job_id)
        max_queued = JobLimits.from_env().max_queued_per_user

        def change(connection: sqlite3.Connection) -> None:
            state, owner = self._state_in(connection, job_id)
            require_manager(job_id, owner, user, "retry")
            if state not in (FAILED, CANCELLED):
                raise ConfigError(f"job {job_id} is {state}; only failed or cancelled jobs can be retried")
            _check_queued_cap(connection, owner, max_queued)
            connection.execute(
                "UPDATE jobs SET state = 'queued', attempts = 0, cancel_requested = 0, error = NULL,"
                " finished_at = NULL, worker_id = NULL, pid = NULL, device = NULL, lease = NULL WHERE id = ?",
                (job_id,),
            )

        self.store.write(change)
        return self.get(job_id)

    def _state_in(self, connection: sqlite3.Connection, job_id: int) -> tuple[str, str]:
        """(state, owner) of a job inside a transaction."""
        row = connection.execute("SELECT state, owner FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise JobNotFoundError(f"no job {job_id} (see `fer jobs list`)")
        return row["state"], row["owner"]

    # ---- workers -------------------------------------------------------------------------------------------------
    def register_worker(
        self, worker_id: str, devices: builtins.list[str], *, pid: int | None = None, host: str | None = None
    ) -> None:
        """Add (or refresh) a worker's row; `live_workers` reads it to know whether jobs will be served."""
        now = time.time()
        self.store.write(
            lambda c: c.execute(
                "INSERT INTO workers (worker_id, host, pid, devices_json, started_at, heartbeat_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(worker_id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at,"
                " pid = excluded.pid, devices_json = excluded.devices_json",
                (worker_id, host or socket.gethostname(), pid or os.getpid(), json.dumps(list(devices)), now, now),
            )
        )

    def worker_heartbeat(self, worker_id: str, jobs: dict[int, str] | None = None) -> None:
        """One transaction: the worker is alive, and so are the jobs (id -> lease) whose processes it watches."""
        now = time.time()

        def change(connection: sqlite3.Connection) -> None:
            connection.execute("UPDATE workers SET heartbeat_at = ? WHERE worker_id = ?", (now, worker_id))
            for job_id, lease in (jobs or {}).items():
                connection.execute(
                    "UPDATE jobs SET heartbeat_at = ? WHERE id = ? AND state = 'running' AND lease = ?",
                    (now, job_id, lease),
                )

        self.store.write(change)

    def unregister_worker(self, worker_id: str) -> None:
        """Remove a worker's row when it stops."""
        self.store.write(lambda c: c.execute("DELETE FROM workers WHERE worker_id = ?", (worker_id,)))

    def live_workers(self, max_age_s: float, *, host: str | None = None) -> builtins.list[WorkerRecord]:
        """Workers whose heartbeat is younger than `max_age_s` (optionally only on `host`)."""
        cutoff = time.time() - max_age_s
        rows = self.store.read(
            lambda c: c.execute(
                "SELECT * FROM workers WHERE heartbeat_at >= ? ORDER BY started_at", (cutoff,)
            ).fetchall()
        )
        records = [
            WorkerRecord(
                worker_id=r["worker_id"],
                host=r["host"],
                pid=r["pid"],
                devices=json.loads(r["devices_json"]),
                started_at=r["started_at"],
                heartbeat_at=r["heartbeat_at"],
            )
            for r in rows
        ]
        return [r for r in records if host is None or r.host == host]


def _owner_name(owner: str | None) -> str:
    """The owner to record: the given user name (stripped, non-empty), else the OS user."""
    if owner is None:
        return operator_name()
    if not isinstance(owner, str) or not owner.strip():
        raise ConfigError("a job's owner must be a non-empty user name")
    return owner.strip()


def _check_queued_cap(connection: sqlite3.Connection, owner: str, max_queued: int) -> None:
    """ConfigError when `owner` already has `max_queued` queued jobs (inside the submit/retry transaction)."""
    row = connection.execute("SELECT COUNT(*) AS n FROM jobs WHERE owner = ? AND state = 'queued'", (owner,)).fetchone()
    if row["n"] >= max_queued:
        raise ConfigError(
            f"{owner} already has {row['n']} queued jobs, the most allowed on this server; wait for one "
            f"to start or cancel one (set {LIMIT_ENV_VARS['max_queued_per_user']} to change the cap)"
        )


def _job_id(job_id: int | str) -> int:
    try:
        return int(job_id)
    except (TypeError, ValueError):
        raise JobNotFoundError(f"'{job_id}' is not a job id (a number; see `fer jobs list`)") from None


def _job(row: sqlite3.Row, root: Path) -> Job:
    return Job(
        id=row["id"],
        name=row["name"],
        spec=json.loads(row["spec_json"]),
        state=row["state"],
        num_devices=row["num_devices"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        worker_id=row["worker_id"],
        pid=row["pid"],
        host=row["host"],
        device=row["device"],
        heartbeat_at=row["heartbeat_at"],
        progress=json.loads(row["progress_json"] or "{}"),
        attempts=row["attempts"],
        max_attempts=row["max_attempts"],
        error=row["error"],
        log_path=str(root / row["log_path"]) if row["log_path"] else None,
        run_id=row["run_id"],
        cancel_requested=bool(row["cancel_requested"]),
        lease=row["lease"],
        owner=row["owner"],
    )


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)
