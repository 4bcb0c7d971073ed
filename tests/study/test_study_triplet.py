"""`run_triplet_study` and `fer study triplet`: orchestration against a stand-in pipeline, then end to end."""

from __future__ import annotations

import json
import sys
import types
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pytest

from fer_engine.data.synthetic import write_image_folder
from fer_engine.errors import ConfigError
from fer_engine.runs.store import RunStore
from fer_engine.study import triplet_study
from fer_engine.study.budget import Throughput
from fer_engine.study.grid import StudyCell
from fer_engine.study.triplet_study import TripletStudySpec, run_triplet_study

CELLS = (StudyCell("ce"), StudyCell("triplet", "semihard", "cosine"))


@dataclass
class _StandInSpec:
    """The PipelineSpec fields the study passes."""

    data_path: str
    preset: str = "fast_cpu"
    overrides: dict[str, Any] = field(default_factory=dict)
    steps: list[str] | None = None
    heads: list[str] = field(default_factory=list)
    search: Any = None
    tta: str = "none"
    runs_root: str | None = None
    name: str = ""
    limit: int | None = None
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _stand_in_pipeline(monkeypatch: pytest.MonkeyPatch, fail_loss: str | None = None) -> list[_StandInSpec]:
    """Install a fake `fer_engine.pipeline` that writes what the real one does: embeddings and evaluations."""
    calls: list[_StandInSpec] = []

    def run_pipeline(spec, *, run, on_event=None, should_stop=None):
        calls.append(spec)
        if spec.overrides["loss"] == fail_loss:
            raise RuntimeError("training diverged")
        rng = np.random.default_rng(len(calls))
        for split, n in (("train", 70), ("val", 21)):
            labels = np.repeat(np.arange(7), n // 7)
            embeddings = (np.eye(7, 8)[labels] * 3 + rng.normal(0, 0.2, (n, 8))).astype(np.float32)
            run.embeddings_dir.mkdir(parents=True, exist_ok=True)
            np.savez(run.embeddings_file(split), embeddings=embeddings, labels=labels,
                     keys=np.array([str(i) for i in range(n)]), logits=np.zeros((n, 7), np.float32))
        heads = list(spec.heads) + (["softmax"] if "ce" in spec.overrides["loss"].split("+") else [])
        for head in heads:
            run.reports_dir.mkdir(parents=True, exist_ok=True)
            run.evaluation_file("val", head).write_text(json.dumps({"accuracy": 0.5, "macro_f1": 0.4}))
        if on_event:
            on_event({"epoch": 1, "train_loss": 1.0, "val_accuracy": 0.5})
        return None

    module = types.ModuleType("fer_engine.pipeline")
    module.PipelineSpec = _StandInSpec
    module.run_pipeline = run_pipeline
    monkeypatch.setitem(sys.modules, "fer_engine.pipeline", module)
    return calls


@pytest.fixture
def tiny_data(tmp_path):
    return write_image_folder(tmp_path / "fer", {"train": 6, "val": 3}, as_zip=True)


def test_each_cell_is_a_pipeline_run_and_the_table_collects_them(tmp_path, tiny_data, monkeypatch):
    calls = _stand_in_pipeline(monkeypatch)
    lines: list[str] = []
    spec = TripletStudySpec(data_path=str(tiny_data), cells=CELLS, epochs=1, heads=("svm",),
                            runs_root=str(tmp_path / "runs"))
    result = run_triplet_study(spec, progress=lines.append)

    assert result.succeeded and [row.cell for row in result.rows] == ["ce", "triplet-semihard-cosine"]
    assert calls[0].overrides["loss"] == "ce" and calls[0].overrides["epochs"] == 1
    assert calls[1].overrides["triplet"] == {"miner": "semihard", "distance": "cosine"}
    assert calls[1].overrides["select_metric"] == "val_knn_accuracy" and calls[1].heads == ["svm"]
    triplet_row = result.rows[1]
    assert triplet_row.embedding_val["distance"] == "cosine" and triplet_row.embedding_val["knn_accuracy_k1"] == 1.0
    assert triplet_row.scores["svm"]["val"].accuracy == 0.5 and "softmax" not in triplet_row.scores
    assert triplet_row.paper["svm"].table == "Table 10" and triplet_row.paper["svm"].accuracy == pytest.approx(0.6155)
    assert result.rows[0].paper["softmax"].table == "Table 8"

    assert result.folder.parent.name == "studies"
    assert {path.name for path in result.files.values()} == {"study.md", "study.csv", "study.json"}
    assert "(paper 61.55, Table 10)" in result.files["markdown"].read_text()
    store = RunStore(tmp_path / "runs")
    assert store.get(triplet_row.run_id).metrics["val_knn_accuracy_k1"] == 1.0
    assert any("epoch 1" in line for line in lines)


def test_a_failing_cell_is_recorded_and_the_others_still_run(tmp_path, tiny_data, monkeypatch):
    calls = _stand_in_pipeline(monkeypatch, fail_loss="ce")
    spec = TripletStudySpec(data_path=str(tiny_data), cells=CELLS, epochs=1, heads=("rf",),
                            runs_root=str(tmp_path / "runs"))
    result = run_triplet_study(spec, progress=lambda line: None)
    assert len(calls) == 2 and not result.succeeded
    assert result.rows[0].status == "failed" and "training diverged" in result.rows[0].error
    assert result.rows[1].status == "succeeded"
    assert "training diverged" in (result.folder / "errors.log").read_text()
    assert RunStore(tmp_path / "runs").get(result.rows[0].run_id).status == "failed"


def test_the_budget_sizes_epochs_and_limit_from_the_measured_speed(tmp_path, monkeypatch):
    data = write_image_folder(tmp_path / "fer140", {"train": 20, "val": 5}, as_zip=True)  # 140 train images
    calls = _stand_in_pipeline(monkeypatch)
    # At 4 images/s, 3 epochs of all 140 images do not fit 2 minutes per cell, so the per-split limit shrinks.
    slow = Throughput(train_images_per_second=4.0, eval_images_per_second=16.0, arch="x", batch_size=112, device="cpu")
    monkeypatch.setattr(triplet_study, "measure_throughput", lambda *args, **kwargs: slow)
    spec = TripletStudySpec(data_path=str(data), cells=CELLS, budget_minutes=4, epochs=10, heads=("rf",),
                            runs_root=str(tmp_path / "runs"))
    result = run_triplet_study(spec, progress=lambda line: None)
    plan = result.plan
    assert plan.epochs == 3 and plan.limit is not None and 70 <= plan.limit < 140
    assert plan.estimated_total_seconds <= 4 * 60
    assert all(call.overrides["epochs"] == plan.epochs and call.limit == plan.limit for call in calls)
    saved = json.loads((result.folder / "plan.json").read_text())
    assert saved["plan"]["throughput"]["train_images_per_second"] == 4.0


def test_bad_settings_fail_before_any_run(tmp_path, tiny_data, monkeypatch):
    calls = _stand_in_pipeline(monkeypatch)
    with pytest.raises(ConfigError, match="unknown head 'knn'"):
        run_triplet_study(TripletStudySpec(data_path=str(tiny_data), cells=CELLS, heads=("knn",)))
    with pytest.raises(ConfigError, match="arch"):
        run_triplet_study(TripletStudySpec(data_path=str(tiny_data), cells=CELLS, arch="resnet"))
    assert calls == [] and not (tmp_path / "runs").exists()


def test_cli_rejects_unknown_grid_names_with_exit_2(tiny_data, capsys):
    from fer_engine.cli.main import main

    assert main(["study", "triplet", "--data", str(tiny_data), "--miners", "hardest"]) == 2
    assert "unknown miner 'hardest'" in capsys.readouterr().err


@pytest.mark.slow
def test_study_end_to_end_on_a_tiny_dataset(tmp_path, tiny_data, capsys):
    """Real pipeline (trainer, embeddings, heads, evaluation): 2 cells, 1 epoch, tiny generated images."""
    from fer_engine.cli.main import main

    runs = tmp_path / "runs"
    status = main(["study", "triplet", "--data", str(tiny_data), "--losses", "ce,triplet", "--miners", "semihard",
                   "--distances", "cosine", "--epochs", "1", "--heads", "rf", "--device", "cpu",
                   "--runs-root", str(runs)])
    output = capsys.readouterr().out
    assert status == 0, output
    studies = list((runs / "studies").iterdir())
    data = json.loads((studies[0] / "study.json").read_text())
    assert [row["cell"] for row in data["rows"]] == ["ce", "triplet-semihard-cosine"]
    for row in data["rows"]:
        assert row["status"] == "succeeded"
        assert 0.0 <= row["embedding_val"]["knn_accuracy_k1"] <= 1.0
        assert row["scores"]["rf"]["val"]["accuracy"] is not None
    assert data["rows"][0]["scores"]["softmax"]["val"]["accuracy"] is not None
    assert "softmax" not in data["rows"][1]["scores"]  # a triplet-only backbone has no classifier
    assert "| cell | loss | miner | distance" in output


def test_cli_dry_run_prints_the_plan_and_trains_nothing(tmp_path, tiny_data, monkeypatch, capsys):
    from fer_engine.cli.main import main

    calls = _stand_in_pipeline(monkeypatch)
    fast = Throughput(train_images_per_second=50.0, eval_images_per_second=200.0, arch="x", batch_size=112, device="cpu")
    monkeypatch.setattr(triplet_study, "measure_throughput", lambda *args, **kwargs: fast)
    runs = tmp_path / "runs"
    status = main(["study", "triplet", "--data", str(tiny_data), "--budget", "30", "--epochs", "8", "--dry-run",
                   "--runs-root", str(runs)])
    output = capsys.readouterr().out
    assert status == 0 and calls == []
    assert "grid: ce, triplet-random-euclidean" in output and "plan: 8 epochs, limit none" in output
    assert not (runs / "studies").exists()
