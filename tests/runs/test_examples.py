"""Example runs: exported from a finished run without weights, listed, labelled, hidden by a setting, size-capped."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fer_engine.cli.main import main  # noqa: E402
from fer_engine.embeddings import read_embeddings  # noqa: E402
from fer_engine.embeddings.projection import DEFAULT_MAP_SETTINGS, load_stored_map, map_file, map_settings  # noqa: E402
from fer_engine.errors import ConfigError, RunNotFoundError  # noqa: E402
from fer_engine.evaluation.evaluate import evaluate_run  # noqa: E402
from fer_engine.evaluation.stored import headline_metrics  # noqa: E402
from fer_engine.io_utils import append_jsonl, atomic_write_json  # noqa: E402
from fer_engine.runs.examples import (  # noqa: E402
    export_example,
    folder_bytes,
    is_example,
    list_examples,
    visible_examples,
)
from fer_engine.runs.layout import RunPaths  # noqa: E402
from support.builders import run_with_separable_embeddings


def finished_run(root: Path) -> RunPaths:
    """A tiny run as `fer reproduce` leaves it: weights, metrics log, summary, val embeddings and evaluations."""
    run = run_with_separable_embeddings(root)
    for epoch in (1, 2):
        append_jsonl(run.metrics_log, {"epoch": epoch, "train_loss": 1.0 / epoch, "val_accuracy": 0.4 + 0.1 * epoch})
    atomic_write_json(run.summary, {"run_id": run.run_id, "best_val_accuracy": 0.6, "epochs_completed": 2,
                                    "epochs_planned": 2, "status": "succeeded", "device": "cpu", "total_seconds": 60.0})
    evaluate_run(run)
    return run


def test_export_example_keeps_results_and_compact_embeddings_but_no_weights(tmp_path: Path) -> None:
    run = finished_run(tmp_path / "run")
    example = export_example(run, "tiny", root=tmp_path / "examples", command="fer ship run --example tiny",
                             map_method="PCA")
    assert example.root == tmp_path / "examples" / "tiny"
    assert not example.checkpoint_dir.exists() and not any(example.root.rglob("*.safetensors"))
    assert not example.embeddings_file("train").exists()
    with np.load(example.embeddings_file("val"), allow_pickle=False) as data:
        assert data["embeddings"].dtype == np.float16
    original, kept = read_embeddings(run.embeddings_file("val")), read_embeddings(example.embeddings_file("val"))
    assert np.array_equal(original.keys, kept.keys) and np.allclose(original.embeddings, kept.embeddings, atol=0.01)
    summary = json.loads(example.summary.read_text())
    assert summary["example"] is True and summary["example_of_run"] == run.run_id
    assert example.read_metrics() == run.read_metrics()
    assert headline_metrics(example).accuracy == headline_metrics(run).accuracy  # the same evaluation file
    card = (example.root / "CARD.md").read_text()
    assert "no weights" in card and "`fer ship run --example tiny`" in card and "Status" not in card
    assert f"{headline_metrics(run).accuracy * 100:.2f}%" in card
    settings = map_settings("PCA", **DEFAULT_MAP_SETTINGS)
    stored = load_stored_map(example, "val", "PCA", settings, kept.keys)
    assert stored is not None and stored.points.shape == (len(kept), 2)
    assert is_example(example) and not is_example(run)
    assert list_examples(tmp_path / "examples") == [example]


@pytest.mark.slow
def test_example_export_stores_the_default_umap_map(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The default (what `fer ship --example` does): a UMAP map the Embeddings page's defaults find."""
    monkeypatch.setenv("FER_EXAMPLES_DIR", str(tmp_path / "examples"))
    run = finished_run(tmp_path / "run")
    assert main(["ship", str(run.root), "--example", "tiny"]) == 0
    example = RunPaths(tmp_path / "examples" / "tiny")
    assert map_file(example, "val", "UMAP").is_file()
    keys = read_embeddings(example.embeddings_file("val")).keys
    assert load_stored_map(example, "val", "UMAP", map_settings("UMAP", **DEFAULT_MAP_SETTINGS), keys) is not None
    assert load_stored_map(example, "val", "UMAP", map_settings("UMAP", **{**DEFAULT_MAP_SETTINGS, "neighbors": 5}),
                           keys) is None  # other settings: computed, not the stored map
    assert visible_examples() == [example]
    monkeypatch.setenv("FER_SHOW_EXAMPLES", "0")
    assert visible_examples() == []


def test_export_refuses_bad_names_unfinished_runs_and_oversize(tmp_path: Path) -> None:
    run = finished_run(tmp_path / "run")
    for bad in ("../up", "Upper", "", "a" * 65, "x/y"):
        with pytest.raises(ConfigError, match="example name"):
            export_example(run, bad, root=tmp_path / "examples", map_method="PCA")
    bare = run_with_separable_embeddings(tmp_path / "bare")
    with pytest.raises(RunNotFoundError, match="metrics.jsonl.*val evaluations"):
        export_example(bare, "bare", root=tmp_path / "examples", map_method="PCA")
    export_example(run, "first", root=tmp_path / "examples", map_method="PCA")
    size = folder_bytes(tmp_path / "examples" / "first")
    with pytest.raises(ConfigError, match="over the"):
        export_example(run, "second", root=tmp_path / "examples", map_method="PCA", max_total_bytes=int(size * 1.5))
    assert [e.root.name for e in list_examples(tmp_path / "examples")] == ["first"]  # nothing half-written left
    assert not any(p.name.startswith(".") for p in (tmp_path / "examples").iterdir())


def test_ship_without_data_or_example_names_what_is_missing(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    run = finished_run(tmp_path / "run")
    assert main(["ship", str(run.root)]) == 2
    assert "--data is required" in capsys.readouterr().err


def test_card_says_when_a_run_stopped_before_its_planned_epochs(tmp_path: Path) -> None:
    from fer_engine.runs.examples import example_card

    run = finished_run(tmp_path / "run")
    atomic_write_json(run.summary, {**run.read_summary(), "status": "interrupted", "epochs_completed": 1,
                                    "epochs_planned": 2})
    card = example_card(run, note="resumed with `fer train --resume`")
    assert "stopped after epoch 1 of 2 planned" in card and "- Note: resumed with `fer train --resume`" in card


def test_recorded_command_rebuilds_the_reproduce_line_of_a_pipeline_run() -> None:
    from fer_engine.runs.examples import recorded_command

    spec = {"data_path": "/d/fer.zip", "preset": "paper", "overrides": {"epochs": 2, "seed": "0"}, "limit": 3600,
            "heads": ["svm", "rf"], "max_train": 6000, "tta": "none", "name": "example-paper"}
    assert recorded_command({"pipeline": spec}) == (
        "fer reproduce --data /d/fer.zip --preset paper --epochs 2 --limit 3600 --set seed=0 --heads svm,rf "
        "--max-train 6000 --name example-paper")
    assert recorded_command({"command": ["fer", "train", "--seed", "1"]}) == "fer train --seed 1"
    assert recorded_command({}) == "?"
