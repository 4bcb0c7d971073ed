"""`fer sweep create | list | show | stop | resume` through the `fer` entry point (the group registered the way
main.py registers it), on sweeps whose trial jobs this process serves (no training)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import fer_engine.cli.main as cli
from fer_engine.jobs import JobQueue
from fer_engine.sweeps import view_sweep
from support.sweeps import serve_inline


@pytest.fixture(autouse=True)
def sweep_group(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("sweep",))  # until the coordinator adds "sweep" to main.py


def fer(*args: str) -> int:
    return cli.main(list(args))


def write_space(tmp_path: Path, text: str = "lr: {low: 0.01, high: 0.3, log: true}\n") -> Path:
    path = tmp_path / "space.yaml"
    path.write_text(text)
    return path


def test_create_show_list(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = str(tmp_path / "runs")
    assert fer("sweep", "create", "lrs", "--space", str(write_space(tmp_path)), "--trials", "4", "--parallel", "2",
               "--data", "data.zip", "--epochs", "3", "--sampler", "random", "--pruner", "none",
               "--runs-root", root) == 0
    assert "2 queued now" in capsys.readouterr().out
    jobs = JobQueue(root).list()
    assert len(jobs) == 2 and all(j.spec["preset"] == "fast_cpu" and j.spec["overrides"]["epochs"] == 3 for j in jobs)
    assert all(0.01 <= j.spec["overrides"]["lr"] <= 0.3 and j.spec["steps"] == ["train"] for j in jobs)
    view = serve_inline(Path(root), "lrs")
    assert fer("sweep", "show", "lrs", "--json", "--runs-root", root) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["status"] == "finished" and len(shown["trials"]) == 4
    assert shown["best"]["run_id"] == view.best["run_id"] and shown["config"]["direction"] == "maximize"
    assert fer("sweep", "show", "lrs", "--runs-root", root) == 0
    text = capsys.readouterr().out
    assert f"best: trial {view.best['trial']}" in text and view.best["run_id"] in text
    assert fer("sweep", "list", "--runs-root", root) == 0
    assert "lrs  finished  4 trials x2" in capsys.readouterr().out


def test_stop_and_resume(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = str(tmp_path / "runs")
    fer("sweep", "create", "--name", "sr", "--space", str(write_space(tmp_path)), "--trials", "3", "--parallel", "1",
        "--data", "data.zip", "--runs-root", root)
    assert fer("sweep", "stop", "sr", "--cancel", "--runs-root", root) == 0
    assert "cancelled job(s) 1" in capsys.readouterr().out
    assert view_sweep("sr", root).trials[0]["state"] == "fail"  # cancelled trials are recorded as failed
    assert fer("sweep", "resume", "sr", "--trials", "4", "--runs-root", root) == 0
    assert "1 trial(s) queued now" in capsys.readouterr().out
    view = serve_inline(Path(root), "sr")
    assert [t["state"] for t in view.trials] == ["fail", "complete", "complete", "complete"]
    assert fer("sweep", "resume", "sr", "--runs-root", root) == 2
    assert "ran all its 4 trials" in capsys.readouterr().err


@pytest.mark.parametrize("space, message", [
    ("lr: {low: 0, high: 1, log: true}", "a log range needs low > 0"),
    ("learning_rate: [0.1]", "unknown config field 'learning_rate'"),
    ("epochs: {low: 1, high: 3.5}", "integer field"),
    ("device: [cpu, cuda]", "'device' cannot be searched"),
    ("head.svm.gamma_x: [1, 2]", "unexpected keyword argument 'gamma_x'"),
    (": [", "not valid YAML"),
])
def test_bad_spaces_are_refused_naming_the_problem(tmp_path: Path, capsys: pytest.CaptureFixture, space: str,
                                                   message: str) -> None:
    root = str(tmp_path / "runs")
    assert fer("sweep", "create", "x", "--space", str(write_space(tmp_path, space)), "--trials", "2",
               "--data", "d.zip", "--runs-root", root) == 2
    assert message in capsys.readouterr().err
    assert JobQueue(root).list() == []


def test_bad_settings_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = str(tmp_path / "runs")
    space = str(write_space(tmp_path))
    assert fer("sweep", "create", "x", "--space", space, "--trials", "0", "--data", "d.zip", "--runs-root", root) == 2
    assert "--trials must be between 1 and 1000" in capsys.readouterr().err
    assert fer("sweep", "create", "bad name!", "--space", space, "--trials", "2", "--data", "d.zip",
               "--runs-root", root) == 2
    assert "a sweep name is 1-64 letters" in capsys.readouterr().err
    assert fer("sweep", "create", "x", "--space", space, "--trials", "2", "--runs-root", root) == 2
    assert "give --data PATH" in capsys.readouterr().err
    assert fer("sweep", "create", "x", "--space", str(tmp_path / "absent.yaml"), "--trials", "2", "--data", "d.zip",
               "--runs-root", root) == 2
    assert "cannot read space file" in capsys.readouterr().err
    fer("sweep", "create", "x", "--space", space, "--trials", "2", "--data", "d.zip", "--runs-root", root)
    capsys.readouterr()
    assert fer("sweep", "create", "x", "--space", space, "--trials", "2", "--data", "d.zip", "--runs-root", root) == 2
    assert "a sweep named 'x' exists already" in capsys.readouterr().err
    assert fer("sweep", "show", "nope", "--runs-root", root) == 2
    assert "no sweep 'nope'" in capsys.readouterr().err
