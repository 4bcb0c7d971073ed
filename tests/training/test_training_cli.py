"""`fer train` and `fer model summary` in-process: user errors exit 2 before training, a tiny run end to end."""

from __future__ import annotations

import json

import pytest
import torch

import fer_engine.cli.main as cli_main
from fer_engine.data.synthetic import write_image_folder
from fer_engine.runs.layout import RunPaths
from fer_engine.runs.store import RunStore


@pytest.fixture(autouse=True)
def only_training_commands(monkeypatch):
    """Build the parser from this package's command modules only (other groups are developed separately)."""
    monkeypatch.setattr(cli_main, "COMMAND_MODULES", ("train", "model"))
    previous = torch.get_num_threads()
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def tiny_zip(tmp_path_factory):
    return write_image_folder(tmp_path_factory.mktemp("data") / "fer.zip", {"train": 8, "val": 3}, as_zip=True)


def run_cli(argv, capsys):
    status = cli_main.main(argv)
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--data", "/no/such/fer2013.csv"], "does not exist"),
        (["train"], "--data"),
        (["train", "--data", "{zip}", "--device", "cuda:7"], "cuda"),
        (["train", "--data", "{zip}", "--arch", "alexnet"], "arch"),
        (["train", "--data", "{zip}", "--set", "lr=fast"], "lr"),
        (["train", "--data", "{zip}", "--set", "no_such_field=1"], "no_such_field"),
        (["train", "--data", "{zip}", "--set", "novalue"], "KEY=VALUE"),
        (["train", "--data", "{zip}", "--loss", "triplet", "--select-metric", "val_accuracy"], "val_knn_accuracy"),
        (["train", "--data", "{zip}", "--pretrained", "/no/such/weights.pth", "--arch", "vgg19"], "weights"),
        (["train", "--resume", "no-such-run"], "no-such-run"),
        (["train", "--data", "{zip}", "--threads", "0"], "--threads"),
    ],
)
def test_user_errors_exit_2_without_traceback_and_without_a_run(argv, message, capsys, tiny_zip, tmp_path):
    argv = [a.replace("{zip}", str(tiny_zip)) for a in argv] + ["--runs-root", str(tmp_path)]
    status, out, err = run_cli(argv, capsys)
    assert status == 2
    assert err.startswith("fer: error:") and message in err and "Traceback" not in err
    assert RunStore(tmp_path).list() == []


@pytest.mark.slow  # builds the full-size VGG-19
def test_model_summary_counts_the_papers_parameters(capsys):
    status, out, _ = run_cli(["model", "summary", "--arch", "vgg19", "--json"], capsys)
    summary = json.loads(out)
    assert status == 0 and summary["params"] == 20_027_975
    assert summary["embedding_dim"] == 512 and summary["flops_per_image"] > 1e9
    assert sum(layer["params"] for layer in summary["layers"]) == summary["params"]


def test_model_summary_table_and_unknown_arch(capsys):
    status, out, _ = run_cli(["model", "summary", "--arch", "vgg19_bn_quarter"], capsys)
    assert status == 0 and "parameters:" in out and "FLOPs per image" in out
    status, _, err = run_cli(["model", "summary", "--arch", "resnet"], capsys)
    assert status == 2 and "unknown architecture" in err


def test_train_then_resume_a_tiny_run(capsys, tiny_zip, tmp_path):
    common = ["--runs-root", str(tmp_path), "--threads", "1"]
    status, out, err = run_cli(
        ["train", "--data", str(tiny_zip), "--preset", "fast_cpu", "--arch", "vgg19_bn_quarter", "--epochs", "1",
         "--precision", "fp32", "--device", "cpu", "--batch-size", "14", "--set", "warmup_epochs=0",
         "--name", "tiny", *common], capsys)
    assert status == 0, err
    store = RunStore(tmp_path)
    (record,) = store.list()
    assert record.status == "succeeded" and record.arch == "vgg19_bn_quarter" and record.preset == "fast_cpu"
    assert record.metrics["best_epoch"] == 1 and 0 <= record.metrics["best_val_accuracy"] <= 1
    assert record.run_id in out and "checkpoint:" in out
    paths = RunPaths(tmp_path / record.run_id)
    config = paths.read_config()
    assert config["command"].startswith("fer train --data") and "--arch vgg19_bn_quarter" in config["command"]
    assert config["data_fingerprint"] and config["data"]["split_totals"] == {"train": 56, "val": 21}
    assert config["warmup_epochs"] == 0 and config["batch_size"] == 14
    assert (paths.checkpoint_dir / "model.safetensors").is_file() and "epoch 1" in paths.log_file.read_text()

    status, out, err = run_cli(["train", "--resume", record.run_id, "--epochs", "2", *common], capsys)
    assert status == 0, err
    assert [r["epoch"] for r in paths.read_metrics()] == [1, 2]
    assert store.get(record.run_id).metrics["epochs_completed"] == 2


def test_resume_refuses_recipe_changes(capsys, tmp_path):
    store = RunStore(tmp_path)
    run = store.create_run(name="x", config={"arch": "vgg19_bn_quarter"})
    status, _, err = run_cli(["train", "--resume", run.run_id, "--lr", "0.5", "--runs-root", str(tmp_path)], capsys)
    assert status == 2 and "--lr" in err


def test_recorded_command_names_the_preset_even_when_it_is_the_default():
    """config.json's command must keep its meaning if the parser's default preset ever changes."""
    from fer_engine.cli.train_cmd import _command_line

    args = cli_main.build_parser().parse_args(["train", "--data", "fer.zip", "--seed", "3"])
    assert _command_line(args) == "fer train --data fer.zip --preset strong --seed 3"
    args = cli_main.build_parser().parse_args(["train", "--data", "fer.zip", "--preset", "paper"])
    assert _command_line(args) == "fer train --data fer.zip --preset paper"


@pytest.mark.slow  # a `fer train` process: imports torch
def test_ctrl_c_stops_after_the_step_and_the_run_resumes_where_it_stopped(tiny_zip, tmp_path):
    """`fer train` is the pipeline's train step: Ctrl-C leaves a cancelled, resumable run and says how to resume."""
    import os
    import signal
    import subprocess
    import sys
    import time

    runs = tmp_path / "runs"
    command = [sys.executable, "-m", "fer_engine.cli.main", "train", "--data", str(tiny_zip), "--preset", "fast_cpu",
               "--arch", "vgg19_bn_quarter", "--epochs", "50", "--precision", "fp32", "--device", "cpu",
               "--batch-size", "14", "--set", "warmup_epochs=0", "--threads", "1", "--runs-root", str(runs)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    lines = []
    deadline = time.monotonic() + 300
    for line in process.stdout:  # the first epoch line: a resume state exists
        lines.append(line)
        if line.startswith("epoch ") or time.monotonic() > deadline:
            break
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=300)
    assert process.returncode == 130, "".join(lines) + out
    [record] = RunStore(runs).list()
    assert record.status == "cancelled" and f"continue with: fer train --resume {record.run_id}" in out
    done = record.metrics["epochs_completed"]
    assert 1 <= done < 50
    status = cli_main.main(["train", "--resume", record.run_id, "--epochs", str(done + 1), "--runs-root", str(runs)])
    assert status == 0
    assert [r["epoch"] for r in RunPaths(runs / record.run_id).read_metrics()] == list(range(1, done + 2))
    assert RunStore(runs).get(record.run_id).status == "succeeded"
