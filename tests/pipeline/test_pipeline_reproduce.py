"""End to end: `fer reproduce` trains a tiny model, embeds, fits every head, evaluates and writes the report.

Needs the data loader, the trainer and the metric-learning package (not only this package's code).
"""

from __future__ import annotations

import json

import pytest

from fer_engine.cli.main import main
from fer_engine.data.synthetic import write_image_folder
from fer_engine.runs.store import RunStore


@pytest.mark.timeout(900)  # a hang guard only: it takes ~25 s on an idle 2-core CPU
@pytest.mark.slow  # trains, embeds, fits heads, evaluates
def test_reproduce_runs_the_whole_pipeline_and_writes_the_report(tmp_path, capsys):
    data = write_image_folder(tmp_path / "fer.zip", {"train": 8, "val": 3}, as_zip=True)
    runs_root = tmp_path / "runs"
    status = main(
        [
            "reproduce",
            "--data",
            str(data),
            "--preset",
            "paper",
            "--arch",
            "vgg19_bn_quarter",
            "--epochs",
            "1",
            "--limit",
            "49",
            "--runs-root",
            str(runs_root),
            "--name",
            "e2e",
            "--set",
            "batch_size=16",
            "--set",
            "device=cpu",
        ]
    )
    captured = capsys.readouterr()
    assert status == 0, captured.err
    records = RunStore(runs_root).list()
    assert len(records) == 1 and records[0].status == "succeeded"
    run = RunStore(runs_root).paths(records[0].run_id)
    report = run.report_markdown.read_text()
    assert report in captured.out
    for row in (
        "vgg19_bn_quarter + cross-entropy (softmax)",
        "+ ANN (MLP)",
        "+ SVM (RBF)",
        "+ Random Forest",
        "+ XGBoost",
    ):
        assert report.count(row) >= 2, row  # in the val table and in the (absent) test table at least
    assert "## Test (PrivateTest)" in report and "absent" in report
    for head in ("softmax", "mlp", "svm", "rf", "xgboost"):
        assert run.evaluation_file("val", head).exists()
    config = json.loads(run.config.read_text())
    assert config["arch"] == "vgg19_bn_quarter" and config["limit"] == 49 and config["pipeline"]["preset"] == "paper"
    assert "evaluation" in records[0].metrics and "xgboost" in records[0].metrics["evaluation"]["val"]
    assert run.read_summary()["status"] == "succeeded" and run.read_summary()["epochs_completed"] == 1

    # Resuming the finished run by id alone redoes nothing expensive.
    assert main(["reproduce", "--resume", run.run_id, "--runs-root", str(runs_root)]) == 0
    err = capsys.readouterr().err
    for step in ("train", "embed", "heads"):
        assert f"[{step}] skipped" in err
