"""RunStore additions: find, careful delete, compare table, retry on lock."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from fer_engine.errors import ConfigError, RunNotFoundError
from fer_engine.io_utils import append_jsonl, atomic_write_json
from fer_engine.runs.compare import compare_runs
from fer_engine.runs.store import RunStore, retry_on_lock


class TinySpec:
    """The least a job spec needs (to_dict, validate)."""

    def validate(self) -> None:
        return None

    def to_dict(self) -> dict:
        return {"kind": "tiny"}


def _finished_run(store: RunStore, name: str, *, lr: float, accuracy: float) -> str:
    run = store.create_run(name=name, config={"arch": "vgg19_bn_quarter", "preset": "fast_cpu", "lr": lr,
                                              "epochs": 2, "triplet": {"margin": 0.2}})
    append_jsonl(run.metrics_log, {"epoch": 1, "train_loss": 1.2, "val_accuracy": accuracy - 0.1})
    atomic_write_json(run.summary, {"best_epoch": 2, "best_val_accuracy": accuracy})
    atomic_write_json(run.evaluation_file("test", "svm"), {"accuracy": accuracy + 0.01, "macro_f1": 0.4,
                                                           "per_class": [0.1, 0.2]})
    store.update(run.run_id, status="succeeded", metrics={"val_accuracy": accuracy})
    return run.run_id


def test_find_by_id_or_folder(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs")
    run_id = _finished_run(store, "a", lr=0.01, accuracy=0.5)
    assert store.find(run_id).root == store.root / run_id
    assert store.find(str(store.root / run_id)).run_id == run_id
    outside = tmp_path / "elsewhere" / "shipped"
    atomic_write_json(outside / "config.json", {})
    assert store.find(outside).root == outside  # a run folder outside the root (e.g. the shipped one)
    with pytest.raises(RunNotFoundError, match="no run 'nope'"):
        store.find("nope")
    with pytest.raises(RunNotFoundError, match="neither a run id"):
        store.find(str(tmp_path / "not-a-run"))
    with pytest.raises(RunNotFoundError):
        store.find("../escape")


def test_delete_refuses_running_runs_and_runs_of_active_jobs(tmp_path: Path) -> None:
    from fer_engine.jobs import JobQueue

    store = RunStore(tmp_path / "runs")
    running = store.create_run(name="r")
    store.update(running.run_id, status="running")
    with pytest.raises(ConfigError, match="is running"):
        store.delete(running.run_id)
    assert running.root.is_dir() and store.get(running.run_id)

    queue = JobQueue(store.root)
    job = queue.submit(TinySpec())
    claimed = queue.claim("w", ["cpu"])
    owned = store.create_run(name="owned")
    queue.attach_run(job.id, owned.run_id, lease=claimed.lease)
    with pytest.raises(ConfigError, match=f"job {job.id}"):
        store.delete(owned.run_id)

    done_id = _finished_run(store, "done", lr=0.01, accuracy=0.5)
    store.delete(done_id)
    assert not (store.root / done_id).exists()
    assert done_id not in [r.run_id for r in store.list()]
    assert not list(store.root.glob(".deleting-*"))
    with pytest.raises(RunNotFoundError):
        store.delete(done_id)


def test_compare_lists_metrics_and_only_differing_config(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs")
    first = _finished_run(store, "a", lr=0.01, accuracy=0.5)
    second = _finished_run(store, "b", lr=0.001, accuracy=0.6)
    table = compare_runs([first, second], store=store)
    assert list(table.index) == [first, second]
    assert table.loc[second, "metric.val_accuracy"] == pytest.approx(0.6)
    assert table.loc[first, "summary.best_val_accuracy"] == pytest.approx(0.5)
    assert table.loc[second, "eval.test.svm.accuracy"] == pytest.approx(0.61)
    assert table.loc[first, "arch"] == "vgg19_bn_quarter" and table.loc[first, "status"] == "succeeded"
    assert "config.lr" in table.columns and "config.epochs" not in table.columns  # equal fields dropped
    everything = compare_runs([first, second], store=store, all_config=True)
    assert everything.loc[first, "config.triplet.margin"] == pytest.approx(0.2)
    with pytest.raises(RunNotFoundError):
        compare_runs([first, "missing-run"], store=store)


def test_retry_on_lock_retries_only_lock_errors() -> None:
    calls = {"n": 0}

    def flaky() -> str:
        calls["n"] += 1
        if calls["n"] < 3:
            raise sqlite3.OperationalError("database is locked")
        return "ok"

    assert retry_on_lock(flaky) == "ok" and calls["n"] == 3

    def broken() -> None:
        calls["n"] += 1
        raise sqlite3.OperationalError("no such table: nope")

    calls["n"] = 0
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        retry_on_lock(broken)
    assert calls["n"] == 1


def test_write_rolls_back_on_error(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs")
    run = store.create_run(name="x")

    def half_done(connection: sqlite3.Connection) -> None:
        connection.execute("UPDATE runs SET status = 'failed' WHERE run_id = ?", (run.run_id,))
        raise ValueError("stop")

    with pytest.raises(ValueError):
        store.write(half_done)
    assert store.get(run.run_id).status == "created"
    assert json.loads(run.config.read_text()) == {}


def test_sync_from_config_fills_the_index_row(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs")
    run = store.create_run(name="job-1", config={"job_id": 1})
    assert not store.sync_from_config(run.run_id)  # no resolved config yet
    atomic_write_json(run.config, {"arch": "vgg19_bn_half", "preset": "fast_cpu", "loss": "ce+triplet",
                                   "data_fingerprint": "abc"})
    assert store.sync_from_config(run.run_id)
    record = store.get(run.run_id)
    assert (record.arch, record.preset, record.loss, record.data_fingerprint) == ("vgg19_bn_half", "fast_cpu",
                                                                                  "ce+triplet", "abc")


def test_a_generated_run_id_taken_in_the_same_second_is_redrawn(tmp_path, monkeypatch):
    store = RunStore(tmp_path / "runs")
    suffixes = iter(["beef", "beef", "beef", "cafe"])
    monkeypatch.setattr("fer_engine.runs.store.secrets.token_hex", lambda _n: next(suffixes))
    monkeypatch.setattr("fer_engine.runs.store.time.strftime", lambda _fmt: "20260101-000000")
    first = store.create_run(name="same")
    second = store.create_run(name="same")
    assert (first.run_id, second.run_id) == ("20260101-000000-same-beef", "20260101-000000-same-cafe")
    assert {record.run_id for record in store.list()} == {first.run_id, second.run_id}


def test_an_explicit_run_id_that_exists_is_refused_and_its_folder_kept(tmp_path):
    store = RunStore(tmp_path / "runs")
    run = store.create_run(name="mine", run_id="my-run", config={"arch": "vgg19_bn_quarter"})
    with pytest.raises(ConfigError, match="'my-run' already exists"):
        store.create_run(name="other", run_id="my-run", config={"arch": "vgg19"})
    assert run.read_config() == {"arch": "vgg19_bn_quarter"}
