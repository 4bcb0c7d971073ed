"""run_pipeline after training: embeds, fits heads, evaluates, reports, skips what is done, stops on request."""

from __future__ import annotations

import json

import pytest

from fer_engine.data.synthetic import write_image_folder  # noqa: E402
from fer_engine.errors import ConfigError  # noqa: E402
from fer_engine.pipeline import PipelineSpec, PipelineStopped, run_pipeline  # noqa: E402
from support.builders import FAST_HEAD_PARAMS, run_with_checkpoint

AFTER_TRAINING = ["embed", "heads", "evaluate", "report"]


@pytest.fixture
def data_folder(tmp_path):
    return write_image_folder(tmp_path / "data", {"train": 5, "val": 2})


def _spec(data_folder, **fields):
    settings = {
        "data_path": str(data_folder),
        "steps": AFTER_TRAINING,
        "heads": ["rf", "xgboost"],
        "head_params": FAST_HEAD_PARAMS,
        **fields,
    }
    return PipelineSpec(**settings)


def test_steps_after_training_produce_embeddings_heads_evaluations_and_report(tmp_path, data_folder):
    run = run_with_checkpoint(tmp_path / "run")
    events = []
    result = run_pipeline(_spec(data_folder), run=run, on_event=events.append)
    assert result == run
    assert run.embeddings_file("train").exists() and run.embeddings_file("val").exists()
    assert not run.embeddings_file("test").exists()  # the folder has no PrivateTest: absent, never invented
    assert {p.name for p in run.heads_dir.glob("*.json")} == {"rf.json", "xgboost.json", "xgboost.xgb.json"}
    assert run.evaluation_file("val", "softmax").exists() and run.evaluation_file("val", "xgboost").exists()
    report = run.report_markdown.read_text()
    assert "+ Random Forest" in report and "+ XGBoost" in report
    assert [e["step"] for e in events if e["event"] == "step_done"] == AFTER_TRAINING
    assert all(e["stage"] in AFTER_TRAINING for e in events if e["event"] == "head_fitted")
    config = json.loads(run.config.read_text())
    assert config["pipeline"]["heads"] == ["rf", "xgboost"] and config["data_splits"]["absent"] == ["test"]
    assert config["arch"] == "vgg19_bn_quarter"  # the run's own fields are kept


def test_a_second_call_skips_current_steps_and_rerun_forces_them(tmp_path, data_folder):
    run = run_with_checkpoint(tmp_path / "run")
    run_pipeline(_spec(data_folder), run=run)
    heads_mtime = (run.heads_dir / "rf.json").stat().st_mtime_ns
    events = []
    run_pipeline(_spec(data_folder), run=run, on_event=events.append)
    assert {e["step"] for e in events if e["event"] == "step_skipped"} == {"embed", "heads"}
    assert (run.heads_dir / "rf.json").stat().st_mtime_ns == heads_mtime
    events.clear()
    run_pipeline(_spec(data_folder, rerun=["heads"]), run=run, on_event=events.append)
    assert (run.heads_dir / "rf.json").stat().st_mtime_ns > heads_mtime
    assert "heads" in [e["step"] for e in events if e["event"] == "step_done"]


def test_new_tta_mode_re_embeds(tmp_path, data_folder):
    run = run_with_checkpoint(tmp_path / "run")
    run_pipeline(_spec(data_folder, steps=["embed"]), run=run)
    events = []
    run_pipeline(_spec(data_folder, steps=["embed"], tta="flip"), run=run, on_event=events.append)
    assert [e["step"] for e in events if e["event"] == "step_done"] == ["embed"]
    from fer_engine.embeddings import load_embeddings

    assert load_embeddings(run, "val").tta == "flip"


def test_should_stop_raises_pipeline_stopped_and_leaves_a_resumable_run(tmp_path, data_folder):
    run = run_with_checkpoint(tmp_path / "run")
    with pytest.raises(PipelineStopped, match="stopped before embed"):
        run_pipeline(_spec(data_folder), run=run, should_stop=lambda: True)
    assert not run.embeddings_dir.exists()


def test_embedding_without_a_checkpoint_says_to_train(tmp_path, data_folder):
    from fer_engine.runs.layout import RunPaths

    run = RunPaths(tmp_path / "empty")
    run.root.mkdir()
    with pytest.raises(ConfigError, match="no checkpoint yet"):
        run_pipeline(_spec(data_folder, steps=["embed"]), run=run)


def test_resume_by_run_id_reads_the_data_path_from_the_run(tmp_path, data_folder):
    from fer_engine.runs.store import RunStore

    store = RunStore(tmp_path / "runs")
    created = store.create_run(name="resume-me", config={"arch": "vgg19_bn_quarter", "data_path": str(data_folder)})
    run_with_checkpoint(created.root)  # writes the checkpoint (and a config without data_path)
    from fer_engine.io_utils import atomic_write_json

    atomic_write_json(created.config, {**created.read_config(), "data_path": str(data_folder)})
    spec = PipelineSpec(resume_run_id=created.run_id, runs_root=str(tmp_path / "runs"), steps=["embed"])
    assert run_pipeline(spec) == created
    assert created.embeddings_file("val").exists()
    assert store.get(created.run_id).status == "succeeded"
