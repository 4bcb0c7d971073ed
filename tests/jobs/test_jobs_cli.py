"""`fer jobs ...` and `fer worker`, run in-process through `fer_engine.cli.main.main`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import fer_engine.cli.main as cli
from fer_engine.jobs import JobQueue
from support.runners import FAKE_RUNNER, FakeSpec

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(autouse=True)
def _only_our_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    """Other command groups are built in parallel; these tests need only `jobs` and `worker`."""
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("jobs", "worker"))


@pytest.mark.slow  # worker and job processes each import torch
def test_worker_once_then_list_show_logs(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = tmp_path / "runs"
    queue = JobQueue(root)
    job = queue.submit(FakeSpec(marker=str(tmp_path / "marker.txt"), name="via-cli"))
    assert cli.main(["worker", "--once", "--devices", "cpu", "--runs-root", str(root), "--heartbeat-s", "0.2",
                     "--job-runner", FAKE_RUNNER]) == 0
    assert "ran 1 job(s)" in capsys.readouterr().out

    assert cli.main(["jobs", "list", "--json", "--runs-root", str(root)]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert listed["id"] == job.id and listed["state"] == "succeeded" and "lease" not in listed

    assert cli.main(["jobs", "list", "--runs-root", str(root)]) == 0
    assert "via-cli" in capsys.readouterr().out

    assert cli.main(["jobs", "show", str(job.id), "--runs-root", str(root)]) == 0
    assert "succeeded" in capsys.readouterr().out

    assert cli.main(["jobs", "logs", str(job.id), "--follow", "--runs-root", str(root)]) == 0
    assert f"job {job.id} succeeded" in capsys.readouterr().out


def test_cancel_and_retry_and_user_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = tmp_path / "runs"
    job = JobQueue(root).submit(FakeSpec())
    assert cli.main(["jobs", "cancel", str(job.id), "--runs-root", str(root)]) == 0
    assert "cancelled" in capsys.readouterr().out
    assert cli.main(["jobs", "cancel", str(job.id), "--runs-root", str(root)]) == 2
    assert "already cancelled" in capsys.readouterr().err
    assert cli.main(["jobs", "retry", str(job.id), "--runs-root", str(root)]) == 0
    assert JobQueue(root).get(job.id).state == "queued"
    assert cli.main(["jobs", "show", "999", "--runs-root", str(root)]) == 2
    assert "no job 999" in capsys.readouterr().err


def test_submit_rejects_bad_input_with_a_message(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = tmp_path / "runs"
    broken = tmp_path / "spec.json"
    broken.write_text("{not json")
    assert cli.main(["jobs", "submit", str(broken), "--runs-root", str(root)]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    assert cli.main(["jobs", "submit", "--runs-root", str(root)]) == 2
    assert "--data" in capsys.readouterr().err
    assert cli.main(["jobs", "submit", "--data", "x.zip", "--set", "novalue", "--runs-root", str(root)]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err
    assert JobQueue(root).list() == []


def test_build_spec_merges_file_options_and_overrides(tmp_path: Path) -> None:
    import argparse

    from fer_engine.cli.jobs_cmd import build_spec, parse_overrides

    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps({"data_path": "a.zip", "preset": "paper", "overrides": {"epochs": 30}}))
    args = argparse.Namespace(spec=spec_file, preset="fast_cpu", data=None, steps=["train", "embed"], heads=None,
                              search=None, tta=None, limit=None, name="n", overrides=["epochs=2", "arch=vgg19_bn"])
    assert build_spec(args) == {"data_path": "a.zip", "preset": "fast_cpu", "steps": ["train", "embed"], "name": "n",
                                "overrides": {"epochs": 2, "arch": "vgg19_bn"}}
    assert parse_overrides(["lr=1e-3", "eval_tta=flip", "notes=123"]) == {"lr": 0.001, "eval_tta": "flip", "notes": "123"}
