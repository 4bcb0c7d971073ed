"""`fer runs list | show | compare | delete`, run in-process through `fer_engine.cli.main.main`."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import fer_engine.cli.main as cli
from fer_engine.io_utils import append_jsonl, atomic_write_json
from fer_engine.runs.store import RunStore


@pytest.fixture(autouse=True)
def _only_our_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    """Other command groups are built in parallel; these tests need only `runs`."""
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("runs",))


def _run(store: RunStore, name: str, lr: float, accuracy: float) -> str:
    run = store.create_run(name=name, config={"arch": "vgg19_bn_quarter", "lr": lr, "epochs": 3})
    append_jsonl(run.metrics_log, {"epoch": 1, "train_loss": 0.9, "val_accuracy": accuracy})
    atomic_write_json(run.summary, {"best_val_accuracy": accuracy})
    store.update(run.run_id, status="succeeded", metrics={"val_accuracy": accuracy})
    return run.run_id


def test_list_show_compare_delete(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = tmp_path / "runs"
    store = RunStore(root)
    first, second = _run(store, "a", 0.01, 0.4), _run(store, "b", 0.001, 0.55)

    assert cli.main(["runs", "list", "--json", "--runs-root", str(root)]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {r["run_id"] for r in listed} == {first, second}

    assert cli.main(["runs", "list", "--runs-root", str(root)]) == 0
    assert "val_accuracy=0.55" in capsys.readouterr().out

    assert cli.main(["runs", "show", first, "--json", "--runs-root", str(root)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["config"]["lr"] == 0.01 and shown["metrics"][0]["val_accuracy"] == 0.4
    assert shown["summary"] == {"best_val_accuracy": 0.4} and shown["files"]["checkpoint"] is False

    assert cli.main(["runs", "show", first, "--runs-root", str(root)]) == 0
    assert "epochs (1)" in capsys.readouterr().out

    out_csv = tmp_path / "compare.csv"
    assert cli.main(["runs", "compare", first, second, "--csv", str(out_csv), "--runs-root", str(root)]) == 0
    table = pd.read_csv(out_csv, index_col="run_id")
    assert table.loc[second, "metric.val_accuracy"] == pytest.approx(0.55)
    assert "config.lr" in table.columns and "config.epochs" not in table.columns

    assert cli.main(["runs", "delete", first, "--runs-root", str(root)]) == 2
    assert "--yes" in capsys.readouterr().err
    assert cli.main(["runs", "delete", first, "--yes", "--runs-root", str(root)]) == 0
    assert not (root / first).exists()


def test_unknown_run_is_a_user_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["runs", "show", "nope", "--runs-root", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fer: error: no run 'nope'") and "Traceback" not in err
