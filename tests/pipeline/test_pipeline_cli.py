"""The embed / heads / evaluate / report commands, run in-process through `fer`'s main()."""

from __future__ import annotations

import json

import pytest

from fer_engine.cli.main import main  # noqa: E402
from fer_engine.data.synthetic import write_fer_csv  # noqa: E402
from fer_engine.io_utils import atomic_write_json  # noqa: E402
from support.builders import run_with_checkpoint


@pytest.fixture
def csv_data(tmp_path):
    return write_fer_csv(tmp_path / "fer.csv", {"train": 4, "val": 2})  # no PrivateTest rows


@pytest.fixture
def run(tmp_path, csv_data):
    run = run_with_checkpoint(tmp_path / "runs" / "demo-run")
    atomic_write_json(run.config, {**run.read_config(), "data_path": str(csv_data)})
    return run


def test_evaluate_json_has_the_promised_keys(run, csv_data, capsys):
    status = main(
        [
            "evaluate",
            "--checkpoint",
            str(run.root),
            "--data",
            str(csv_data),
            "--split",
            "val",
            "--json",
            "--device",
            "cpu",
        ]
    )
    assert status == 0
    result = json.loads(capsys.readouterr().out)
    for key in ("accuracy", "macro_f1", "weighted_f1", "per_class", "confusion_matrix", "n"):
        assert key in result
    assert result["n"] == 14 and len(result["confusion_matrix"]) == 7 and result["split"] == "val"
    assert result["fitted_on_split"] is False and result["protocol"]["selected_on"] == "val"


def test_evaluate_on_the_training_split_says_training_accuracy(run, csv_data, capsys):
    assert main(["evaluate", "--checkpoint", str(run.root), "--data", str(csv_data), "--split", "train"]) == 0
    assert "training accuracy (fitted on this split)" in capsys.readouterr().out


def test_evaluate_an_absent_split_is_a_clear_error(run, csv_data, capsys):
    status = main(["evaluate", "--checkpoint", str(run.root), "--data", str(csv_data), "--split", "test"])
    assert status == 2
    err = capsys.readouterr().err
    assert "fer: error:" in err and "split 'test' is absent" in err and "Traceback" not in err


def test_evaluate_a_head_that_was_never_fitted_is_a_clear_error(run, csv_data, capsys):
    status = main(
        ["evaluate", "--checkpoint", str(run.root), "--data", str(csv_data), "--split", "val", "--head", "svm"]
    )
    assert status == 2 and "no fitted head 'svm'" in capsys.readouterr().err


@pytest.mark.slow  # embeds and fits every head through the CLI
def test_embed_heads_report_by_run_id(run, tmp_path, capsys, monkeypatch):
    runs_root = str(tmp_path / "runs")
    assert main(["embed", "demo-run", "--runs-root", runs_root, "--device", "cpu"]) == 0  # data from config.json
    out = capsys.readouterr().out
    assert "train: 28 x 128" in out and "val: 14 x 128" in out
    assert main(["heads", str(run.root), "--heads", "svm,rf", "--max-train", "21"]) == 0
    out = capsys.readouterr().out
    assert "svm" in out and "rf" in out and (run.heads_dir / "svm.skops").exists()
    assert json.loads((run.heads_dir / "rf.json").read_text())["n_train"] == 21
    assert main(["report", "demo-run", "--runs-root", runs_root]) == 0
    out = capsys.readouterr().out
    assert "+ SVM (RBF)" in out and "+ Random Forest" in out and run.report_markdown.exists()
    assert (
        main(
            [
                "evaluate",
                "--checkpoint",
                "demo-run",
                "--runs-root",
                runs_root,
                "--data",
                str(run.read_config()["data_path"]),
                "--split",
                "val",
                "--head",
                "svm",
                "--tta",
                "flip",
            ]
        )
        == 0
    )
    assert "svm on val (validation (PublicTest))" in capsys.readouterr().out


def test_bad_head_name_and_unknown_run_exit_2(run, tmp_path, capsys):
    assert main(["heads", str(run.root), "--heads", "svm,knn"]) == 2
    assert "unknown head 'knn'" in capsys.readouterr().err
    assert main(["report", "no-such-run", "--runs-root", str(tmp_path / "runs")]) == 2
    assert "no run 'no-such-run'" in capsys.readouterr().err


@pytest.mark.slow  # a fresh interpreter imports the CLI
def test_commands_whose_package_is_missing_say_so_and_the_others_still_work() -> None:
    """A GPU host with torch but without xgboost can still `fer train`; `fer heads` names what is missing."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "sys.modules['xgboost'] = None\n"  # makes `import xgboost` fail like an absent package
        "from fer_engine.cli.main import main\n"
        "print('heads', main(['heads', 'RUN', '--heads', 'svm']))\n"
        "print('model', main(['model', 'list']))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "`fer heads` needs the Python package 'xgboost'" in result.stderr
    assert "heads 2" in result.stdout and "model 0" in result.stdout and "vgg19_bn" in result.stdout
