"""Issue 19: a damaged or deleted runs/index.sqlite gives a clear error and is rebuilt from the run folders."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import fer_engine.cli.main as cli
from fer_engine.errors import FerError, RunIndexError
from fer_engine.io_utils import atomic_write_json
from fer_engine.jobs.queue import JobQueue
from fer_engine.runs.store import DB_FILE, RunStore, reindex


@pytest.fixture(autouse=True)
def _only_our_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("runs",))


def _runs(root: Path) -> dict[str, str]:
    """Three runs: succeeded (with summary), interrupted (summary says so), and one without a summary."""
    store = RunStore(root)
    ids = {}
    for name, summary in (("done", {"status": "succeeded", "best_epoch": 3, "best_val_accuracy": 0.61,
                                    "arch": "vgg19_bn_quarter"}),
                          ("stopped", {"status": "interrupted", "best_val_accuracy": 0.2}),
                          ("fresh", None)):
        run = store.create_run(name=name, config={"arch": "vgg19_bn_quarter", "preset": "fast_cpu", "loss": "ce",
                                                  "name": name})
        if summary is not None:
            atomic_write_json(run.summary, summary)
        ids[name] = run.run_id
    store.update(ids["done"], status="succeeded", metrics={"best_val_accuracy": 0.61})
    return ids


def _damage(db: Path, how: str) -> bytes:
    if how == "garbage header":
        db.write_bytes(b"this is not an SQLite file at all" + db.read_bytes()[33:])
    else:  # truncated mid-page: the header survives, the tables do not
        data = db.read_bytes()
        db.write_bytes(data[: len(data) // 2 + 100])
    for companion in ("-wal", "-shm"):
        Path(f"{db}{companion}").unlink(missing_ok=True)
    return db.read_bytes()


def _checkpointed(root: Path) -> Path:
    """The index file with the WAL folded in (what a crash would leave as the one file)."""
    db = root / DB_FILE
    connection = sqlite3.connect(db, isolation_level=None)
    try:
        connection.execute("CREATE TABLE IF NOT EXISTS padding (x TEXT)")
        for _ in range(40):  # a few pages, so that a truncation cuts into the tables
            connection.execute("INSERT INTO padding VALUES (?)", ("x" * 2000,))
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.execute("PRAGMA journal_mode=DELETE")
    finally:
        connection.close()
    return db


@pytest.mark.parametrize("how", ["garbage header", "truncated"])
def test_a_damaged_index_raises_one_clear_fer_error(tmp_path: Path, how: str) -> None:
    _runs(tmp_path)
    db = _checkpointed(tmp_path)
    _damage(db, how)
    with pytest.raises(RunIndexError) as raised:
        RunStore(tmp_path).list()
    message = str(raised.value)
    assert isinstance(raised.value, FerError)
    assert str(db) in message and "is damaged" in message
    assert f"fer runs reindex --runs-root {tmp_path}" in message
    with pytest.raises(RunIndexError):  # the job queue lives in the same file
        JobQueue(tmp_path).list()


@pytest.mark.parametrize("how", ["garbage header", "truncated"])
def test_fer_runs_reindex_moves_the_damaged_file_aside_and_rebuilds(tmp_path: Path, how: str,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    ids = _runs(tmp_path)
    damaged = _damage(_checkpointed(tmp_path), how)
    assert cli.main(["runs", "list", "--runs-root", str(tmp_path)]) == 2
    assert "fer runs reindex" in capsys.readouterr().err
    assert cli.main(["runs", "reindex", "--runs-root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "moved the old index aside to" in out and "3 run folder(s) indexed now, 3 run(s) in the index" in out
    kept = list(tmp_path.glob(f"{DB_FILE}.damaged-*"))
    assert len(kept) == 1 and kept[0].read_bytes() == damaged  # never deleted, byte for byte
    records = {record.run_id: record for record in RunStore(tmp_path).list()}
    assert set(records) == set(ids.values())
    done, stopped, fresh = records[ids["done"]], records[ids["stopped"]], records[ids["fresh"]]
    assert (done.status, done.metrics["best_val_accuracy"], done.metrics["best_epoch"]) == ("succeeded", 0.61, 3)
    assert (done.arch, done.preset, done.loss, done.name) == ("vgg19_bn_quarter", "fast_cpu", "ce", "done")
    assert stopped.status == "cancelled" and fresh.status == "created"
    assert all("reindexed" in record.tags for record in records.values())


def test_a_deleted_index_is_rebuilt_from_the_run_folders(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    ids = _runs(tmp_path)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{tmp_path / DB_FILE}{suffix}").unlink(missing_ok=True)
    with caplog.at_level("WARNING"):
        records = RunStore(tmp_path).list()
    assert {record.run_id for record in records} == set(ids.values())
    assert "was missing: rebuilt it from 3 run folder(s)" in caplog.text


def test_reindex_of_a_sound_index_keeps_its_rows_and_jobs_and_adds_missing_folders(tmp_path: Path) -> None:
    ids = _runs(tmp_path)
    JobQueue(tmp_path)  # adds the jobs table: a sound index keeps it
    connection = sqlite3.connect(tmp_path / DB_FILE, isolation_level=None)
    try:
        connection.execute("DELETE FROM runs WHERE run_id = ?", (ids["fresh"],))
    finally:
        connection.close()
    result = reindex(tmp_path)
    assert result.moved_aside is None and result.added == [ids["fresh"]] and result.total == 3
    assert RunStore(tmp_path).get(ids["done"]).metrics == {"best_val_accuracy": 0.61}  # the row itself, kept
    assert JobQueue(tmp_path).list() == [] and (tmp_path / DB_FILE).exists()
    connection = sqlite3.connect(tmp_path / DB_FILE)
    try:
        assert connection.execute("SELECT name FROM sqlite_master WHERE name = 'jobs'").fetchone()
    finally:
        connection.close()
    forced = reindex(tmp_path, force=True)
    assert forced.moved_aside is not None and forced.moved_aside.exists() and forced.total == 3


def test_folders_that_are_not_runs_are_not_indexed(tmp_path: Path) -> None:
    (tmp_path / "jobs").mkdir()
    (tmp_path / ".deleting-x").mkdir()
    (tmp_path / ".deleting-x" / "config.json").write_text("{}")
    (tmp_path / "bad id!").mkdir()
    (tmp_path / "bad id!" / "config.json").write_text("{}")
    (tmp_path / "odd-run").mkdir()
    (tmp_path / "odd-run" / "config.json").write_text("[1, 2]")  # unreadable as a config: indexed with defaults
    assert [record.run_id for record in RunStore(tmp_path).list()] == ["odd-run"]
