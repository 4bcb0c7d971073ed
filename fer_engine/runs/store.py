"""SQLite index of the runs under a runs root, safe for many reading and writing processes.

WAL journal (readers never block the writer), a busy timeout, writes inside `BEGIN IMMEDIATE`, and a retry with
backoff around every statement so that "database is locked" never reaches a user. The same file holds the job
queue (`fer_engine.jobs`).
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import secrets
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from fer_engine.errors import ConfigError, RunIndexError, RunNotFoundError
from fer_engine.io_utils import atomic_write_json
from fer_engine.paths import runs_root as default_runs_root
from fer_engine.runs.layout import RunPaths, is_run_folder, is_valid_run_id, validate_run_id
from fer_engine.runs.resolve import RunRef, resolve_run

__all__ = ["DB_FILE", "RunRecord", "RunStore", "ReindexResult", "reindex", "validate_run_id"]

DB_FILE = "index.sqlite"
RUN_STATUSES = ("created", "running", "succeeded", "failed", "cancelled")
ALLOCATION_ATTEMPTS = 50  # redraws of a generated run id taken by another process in the same second
# `FER_DB_JOURNAL_MODE=DELETE` for a runs root on a network filesystem (WAL needs shared memory on one host).
JOURNAL_MODE_ENV = "FER_DB_JOURNAL_MODE"
LOCK_RETRY_SECONDS = 300.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL DEFAULT 'train',
    status TEXT NOT NULL DEFAULT 'created',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    arch TEXT NOT NULL DEFAULT '',
    preset TEXT NOT NULL DEFAULT '',
    loss TEXT NOT NULL DEFAULT '',
    data_fingerprint TEXT NOT NULL DEFAULT '',
    metrics_json TEXT NOT NULL DEFAULT '{}',
    tags_json TEXT NOT NULL DEFAULT '[]'
);
"""

T = TypeVar("T")
log = logging.getLogger(__name__)
DAMAGE_ERROR_NAMES = frozenset({"SQLITE_CORRUPT", "SQLITE_NOTADB"})
HEADLINE_SUMMARY_KEYS = ("best_epoch", "best_val_accuracy", "best_val_loss", "best_val_macro_f1",
                         "best_val_knn_accuracy", "epochs_completed")


@dataclass
class RunRecord:
    """One row of the run index; `metrics` holds the headline numbers (best val accuracy, head scores, ...)."""

    run_id: str
    name: str
    kind: str
    status: str
    created_at: float
    updated_at: float
    arch: str
    preset: str
    loss: str
    data_fingerprint: str
    metrics: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)


def is_lock_error(error: BaseException) -> bool:
    """True for SQLite's transient 'database is locked' / 'busy' errors, which a retry resolves."""
    if not isinstance(error, sqlite3.OperationalError):
        return False
    message = str(error).lower()
    return "locked" in message or "busy" in message


def is_damage_error(error: BaseException) -> bool:
    """True for SQLite's 'file is not a database' / 'database disk image is malformed' (a damaged file)."""
    if not isinstance(error, sqlite3.DatabaseError):
        return False
    name = getattr(error, "sqlite_errorname", "")
    return name in DAMAGE_ERROR_NAMES or (not name and type(error) is sqlite3.DatabaseError)


def index_error(db_path: Path, error: BaseException) -> RunIndexError:
    """The error every reader of a damaged index gets: which file, what SQLite said, and the fix."""
    return RunIndexError(
        f"the run index {db_path} is damaged ({error}); rebuild it from the run folders with "
        f"`fer runs reindex --runs-root {db_path.parent}` (the damaged file is moved aside, not deleted; "
        "jobs queued in it are not recovered)")


def retry_on_lock(operation: Callable[[], T], *, max_seconds: float = LOCK_RETRY_SECONDS) -> T:
    """Run `operation`, retrying with jittered exponential backoff while SQLite reports a lock."""
    deadline = time.monotonic() + max_seconds
    delay = 0.01
    while True:
        try:
            return operation()
        except sqlite3.OperationalError as error:
            if not is_lock_error(error) or time.monotonic() > deadline:
                raise
        time.sleep(delay * (0.5 + random.random()))
        delay = min(delay * 2, 1.0)


class RunStore:
    """Runs under `root`: each a folder `root/<run_id>/`, indexed in `root/index.sqlite`."""

    def __init__(self, root: str | Path | None = None):
        self.root = default_runs_root(root)
        self.db_path = self.root / DB_FILE
        existed = self.db_path.exists()
        self.ensure_schema(_SCHEMA)
        if not existed:  # a new or deleted index: never leave existing run folders orphaned
            added = self.index_run_folders()
            if added:
                log.warning("the run index %s was missing: rebuilt it from %d run folder(s)", self.db_path, len(added))

    # ---- connections and transactions -------------------------------------------------------------------------
    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A connection in WAL mode (or `FER_DB_JOURNAL_MODE`) with a generous busy timeout; autocommit."""
        connection = sqlite3.connect(self.db_path, timeout=60.0, isolation_level=None)
        try:
            connection.execute("PRAGMA busy_timeout=60000")
            journal_mode = os.environ.get(JOURNAL_MODE_ENV, "WAL").upper()
            if journal_mode not in ("WAL", "DELETE", "TRUNCATE", "PERSIST"):
                raise ConfigError(f"{JOURNAL_MODE_ENV}={journal_mode} is not one of WAL, DELETE, TRUNCATE, PERSIST")
            connection.execute(f"PRAGMA journal_mode={journal_mode}")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.row_factory = sqlite3.Row
            yield connection
        except sqlite3.DatabaseError as error:
            if is_damage_error(error):
                raise index_error(self.db_path, error) from error
            raise
        finally:
            connection.close()

    def read(self, query: Callable[[sqlite3.Connection], T]) -> T:
        """Run `query(connection)` (reads only), retried while the database is locked."""

        def attempt() -> T:
            with self.connect() as connection:
                return query(connection)

        return retry_on_lock(attempt)

    def write(self, change: Callable[[sqlite3.Connection], T]) -> T:
        """Run `change(connection)` inside BEGIN IMMEDIATE ... COMMIT, retried as a whole while locked.

        `change` must only touch the database (it may run more than once); an exception rolls it back.
        """

        def attempt() -> T:
            with self.connect() as connection:
                connection.execute("BEGIN IMMEDIATE")
                try:
                    result = change(connection)
                    connection.execute("COMMIT")
                except BaseException:
                    if connection.in_transaction:
                        connection.execute("ROLLBACK")
                    raise
                return result

        return retry_on_lock(attempt)

    def ensure_schema(self, script: str) -> None:
        """Create tables/indexes of `script` (idempotent `CREATE ... IF NOT EXISTS` statements)."""

        def attempt() -> None:
            with self.connect() as connection:
                connection.executescript(script)

        retry_on_lock(attempt)

    # ---- runs ---------------------------------------------------------------------------------------------------
    def new_run_id(self, name: str = "") -> str:
        slug = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")[:40] or "run"
        return f"{time.strftime('%Y%m%d-%H%M%S')}-{slug}-{secrets.token_hex(2)}"

    def _allocate_folder(self, name: str, run_id: str | None) -> RunPaths:
        """Create a new run folder: a given id must be free; a generated one is redrawn if another process
        took it in the same second (ids differ only by a 4-hex-digit suffix within a second)."""
        self.root.mkdir(parents=True, exist_ok=True)
        for _ in range(ALLOCATION_ATTEMPTS):
            candidate = validate_run_id(run_id or self.new_run_id(name))
            try:
                (self.root / candidate).mkdir()
                return RunPaths(self.root / candidate)
            except FileExistsError:
                if run_id is not None:
                    raise ConfigError(f"a run '{run_id}' already exists in {self.root}; choose another id") from None
        raise ConfigError(f"could not allocate a free run id in {self.root} after {ALLOCATION_ATTEMPTS} attempts")

    def create_run(self, *, name: str = "", kind: str = "train", config: dict[str, Any] | None = None,
                   run_id: str | None = None) -> RunPaths:
        """Allocate a run folder, write its config.json, and index it with status 'created'."""
        paths = self._allocate_folder(name, run_id)
        run_id = paths.run_id
        config = config or {}
        atomic_write_json(paths.config, config)
        now = time.time()
        self.write(lambda connection: connection.execute(
            "INSERT INTO runs (run_id, name, kind, status, created_at, updated_at, arch, preset, loss, data_fingerprint)"
            " VALUES (?, ?, ?, 'created', ?, ?, ?, ?, ?, ?) ON CONFLICT(run_id) DO UPDATE SET name = excluded.name,"
            " kind = excluded.kind, status = 'created', tags_json = '[]'",  # a reindex may have seen the new folder
            (run_id, name, kind, now, now, str(config.get("arch", "")), str(config.get("preset", "")),
             str(config.get("loss", "")), str(config.get("data_fingerprint", ""))),
        ))
        return paths

    def index_run_folders(self) -> list[str]:
        """Index every run folder under the root that the index lacks (status and headline metrics from its
        summary.json, dates from its files); returns the run ids added."""
        rows = [_row_from_folder(RunPaths(folder)) for folder in _run_folders(self.root)]

        def change(connection: sqlite3.Connection) -> list[str]:
            added = []
            for row in rows:
                cursor = connection.execute(
                    "INSERT OR IGNORE INTO runs (run_id, name, kind, status, created_at, updated_at, arch, preset, loss,"
                    " data_fingerprint, metrics_json, tags_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
                if cursor.rowcount:
                    added.append(row[0])
            return added

        return self.write(change) if rows else []

    def update(self, run_id: str, *, status: str | None = None, metrics: dict[str, Any] | None = None,
               tags: list[str] | None = None) -> None:
        """Set the status and/or merge headline metrics into the run's row."""
        validate_run_id(run_id)
        if status is not None and status not in RUN_STATUSES:
            raise ValueError(f"unknown run status '{status}'")

        def change(connection: sqlite3.Connection) -> None:
            row = connection.execute("SELECT metrics_json FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if row is None:
                raise RunNotFoundError(f"no run '{run_id}' in {self.db_path}")
            merged = json.loads(row["metrics_json"])
            merged.update(metrics or {})
            connection.execute(
                "UPDATE runs SET status = COALESCE(?, status), metrics_json = ?, tags_json = COALESCE(?, tags_json),"
                " updated_at = ? WHERE run_id = ?",
                (status, json.dumps(merged), json.dumps(tags) if tags is not None else None, time.time(), run_id),
            )

        self.write(change)

    def sync_from_config(self, run_id: str) -> bool:
        """Copy arch, preset, loss and data fingerprint from the run's config.json into its index row (a run
        created before its resolved config was known); False while config.json does not name an arch yet."""
        config = RunPaths(self.root / validate_run_id(run_id)).read_config()
        if not config.get("arch"):
            return False
        fields = [str(config.get(key) or "") for key in ("arch", "preset", "loss", "data_fingerprint")]
        self.write(lambda connection: connection.execute(
            "UPDATE runs SET arch = ?, preset = ?, loss = ?, data_fingerprint = ?, updated_at = ? WHERE run_id = ?",
            (*fields, time.time(), run_id)))
        return True

    def get(self, run_id: str) -> RunRecord:
        validate_run_id(run_id)
        row = self.read(lambda connection: connection.execute(
            "SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone())
        if row is None:
            raise RunNotFoundError(f"no run '{run_id}' under {self.root} (see `fer runs list`)")
        return _record(row)

    def list(self, *, kind: str | None = None) -> list[RunRecord]:
        """Every indexed run, newest first."""

        def query(connection: sqlite3.Connection) -> list[sqlite3.Row]:
            if kind:
                return connection.execute(
                    "SELECT * FROM runs WHERE kind = ? ORDER BY created_at DESC", (kind,)).fetchall()
            return connection.execute("SELECT * FROM runs ORDER BY created_at DESC").fetchall()

        return [_record(row) for row in self.read(query)]

    def paths(self, run_id: str) -> RunPaths:
        """The folder of an indexed run (raises RunNotFoundError for unknown ids)."""
        self.get(run_id)
        return RunPaths(self.root / run_id)

    def find(self, run: RunRef) -> RunPaths:
        """A run named by its id under this root, the path of a run folder, or its checkpoint (`resolve_run`)."""
        return resolve_run(run, self.root)

    def delete(self, run_id: str) -> None:
        """Remove a run's index row and folder; refused while the run or a job on it is running or queued."""
        validate_run_id(run_id)

        def change(connection: sqlite3.Connection) -> None:
            row = connection.execute("SELECT status FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if row is None and not (self.root / run_id).is_dir():
                raise RunNotFoundError(f"no run '{run_id}' under {self.root} (see `fer runs list`)")
            if row is not None and row["status"] == "running":
                raise ConfigError(f"run '{run_id}' is running; cancel it (`fer jobs cancel`) before deleting it")
            if _has_table(connection, "jobs"):
                job = connection.execute(
                    "SELECT id, state FROM jobs WHERE run_id = ? AND state IN ('queued', 'running')", (run_id,)
                ).fetchone()
                if job is not None:
                    raise ConfigError(f"run '{run_id}' belongs to job {job['id']}, which is {job['state']};"
                                      f" cancel it first (`fer jobs cancel {job['id']}`)")
            connection.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))

        self.write(change)
        folder = self.root / run_id
        if folder.is_dir():
            # Rename first so a half-deleted folder never looks like a run.
            trash = self.root / f".deleting-{run_id}-{secrets.token_hex(3)}"
            folder.rename(trash)
            shutil.rmtree(trash, ignore_errors=True)


@dataclass
class ReindexResult:
    """What `reindex` did: where the old index went (None when kept) and the run ids it added."""

    db_path: Path
    moved_aside: Path | None
    added: list[str]
    total: int


def index_problem(db_path: Path) -> str | None:
    """Why the index file is damaged (SQLite's words), or None when it reads as a sound database."""
    try:
        connection = sqlite3.connect(db_path, timeout=60.0)
        try:
            result = connection.execute("PRAGMA quick_check").fetchone()
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        if is_lock_error(error):
            return None
        return str(error)
    return None if result and result[0] == "ok" else str(result[0] if result else "no answer to quick_check")


def reindex(root: str | Path | None = None, *, force: bool = False) -> ReindexResult:
    """Rebuild the run index of `root` from its run folders.

    A damaged index (or any index with `force`) is moved aside with its -wal/-shm files, never deleted, and
    a new one is built; a sound index keeps its rows (and the job queue) and gains the folders it lacks.
    """
    root = default_runs_root(root)
    db_path = root / DB_FILE
    moved = None
    if db_path.exists() and (force or index_problem(db_path) is not None):
        moved = root / f"{DB_FILE}.damaged-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
        for suffix in ("", "-wal", "-shm"):
            companion = root / f"{DB_FILE}{suffix}"
            if companion.exists():
                companion.rename(Path(f"{moved}{suffix}"))
    store = RunStore(root)
    added = store.index_run_folders()
    if moved is not None:
        added = [record.run_id for record in store.list()]
    return ReindexResult(db_path=db_path, moved_aside=moved, added=sorted(added), total=len(store.list()))


def _run_folders(root: Path) -> list[Path]:
    """Folders under `root` that are runs (a valid run id and a config, summary or checkpoint)."""
    if not root.is_dir():
        return []
    return sorted(folder for folder in root.iterdir()
                  if is_valid_run_id(folder.name) and is_run_folder(folder))


def _row_from_folder(paths: RunPaths) -> tuple:
    """An index row rebuilt from a run folder's config.json and summary.json (unreadable files count as empty)."""
    config, summary = _read_json(paths.config), _read_json(paths.summary)
    status = str(summary.get("status") or "created")
    status = "cancelled" if status == "interrupted" else status if status in RUN_STATUSES else "created"
    created = _mtime(paths.config) or _mtime(paths.root)
    updated = _mtime(paths.summary) or created
    recorded = config.get("pipeline")
    pipeline = recorded if isinstance(recorded, dict) else {}
    name = str(config.get("name") or pipeline.get("name") or paths.run_id)
    metrics = {key: summary[key] for key in HEADLINE_SUMMARY_KEYS if summary.get(key) is not None}
    fields = [str(config.get(key) or summary.get(key) or "") for key in ("arch", "preset", "loss", "data_fingerprint")]
    return (paths.run_id, name, str(config.get("kind") or "train"), status, created, updated, *fields,
            json.dumps(metrics, default=str), json.dumps(["reindexed"]))


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _has_table(connection: sqlite3.Connection, name: str) -> bool:
    return connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() is not None


def _record(row: sqlite3.Row) -> RunRecord:
    return RunRecord(
        run_id=row["run_id"], name=row["name"], kind=row["kind"], status=row["status"],
        created_at=row["created_at"], updated_at=row["updated_at"], arch=row["arch"], preset=row["preset"],
        loss=row["loss"], data_fingerprint=row["data_fingerprint"], metrics=json.loads(row["metrics_json"]),
        tags=json.loads(row["tags_json"]),
    )
