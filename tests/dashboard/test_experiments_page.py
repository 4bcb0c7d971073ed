"""Experiments page on a fresh clone: the shipped model and three example runs compared, one run's details,
examples labelled and hideable, public mode without the runs root, one val accuracy shared with the Overview."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fer_engine.embeddings import read_embeddings
from fer_engine.embeddings.projection import DEFAULT_MAP_SETTINGS, map_file, map_settings, project, write_map
from fer_engine.evaluation.stored import headline_metrics
from fer_engine.io_utils import atomic_write_json
from fer_engine.runs.examples import export_example
from fer_engine.runs.layout import RunPaths
from support.apptest import open_page, table_with, texts
from support.builders import finished_run

EXAMPLES = ("paper", "fast-cpu", "triplet")


def stored_umap_stand_in(example: RunPaths) -> None:
    """Store the example's default 'UMAP' map from PCA points: the page must show it without computing anything
    (real UMAP maps of exports are tested in tests/runs/test_examples.py)."""
    embedding_set = read_embeddings(example.embeddings_file("val"))
    settings = map_settings("UMAP", **DEFAULT_MAP_SETTINGS)
    points = project(embedding_set.embeddings, "PCA")
    import pandas as pd

    frame = pd.DataFrame({"x": points[:, 0], "y": points[:, 1], "key": embedding_set.keys})
    write_map(frame, {**settings, "n_points": len(frame), "split": "val"}, map_file(example, "val", "UMAP"))


def fresh_clone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, RunPaths]:
    """A clone as users get it: a shipped model, three example runs (exported from tiny runs), an empty runs root."""
    monkeypatch.setenv("FER_RUNS_DIR", str(tmp_path / "runs"))
    for name in ("FER2013_PATH", "FER_DATA_PATH", "FER_SHOW_EXAMPLES", "FER_DASHBOARD_MODE"):
        monkeypatch.delenv(name, raising=False)
    shipped = finished_run(tmp_path / "made", "shipped", seed=7)
    monkeypatch.setenv("FER_DEFAULT_CHECKPOINT", str(shipped.root))
    monkeypatch.setenv("FER_EXAMPLES_DIR", str(tmp_path / "examples"))
    runs = {"shipped default model": shipped}
    for seed, name in enumerate(EXAMPLES):
        loss = "ce+triplet" if name == "triplet" else "ce"
        source = finished_run(tmp_path / "made", f"source-{name}", seed=seed, loss=loss,
                              heads=("softmax", "svm", "xgboost"))
        atomic_write_json(source.config, {**source.read_config(), "data_path": str(tmp_path / "server-data.zip")})
        example = export_example(source, name, root=tmp_path / "examples", map_method="PCA")
        stored_umap_stand_in(example)
        runs[f"{name} (example)"] = example
    return runs


def test_fresh_clone_compares_the_shipped_model_and_three_examples(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    runs = fresh_clone(tmp_path, monkeypatch)
    app = open_page("views/experiments.py")
    table = table_with(app, "kind", "val_accuracy")
    assert list(table.index) == ["shipped default model"] + sorted(set(runs) - {"shipped default model"})
    assert list(table["kind"]) == ["shipped", "example", "example", "example"]
    for label, run in runs.items():  # the one number per metric: the stored softmax evaluation
        assert table.loc[label, "val_accuracy"] == headline_metrics(run).accuracy
    assert app.multiselect(key="compare-runs").value == list(table.index)  # all four compared by default
    comparison = table_with(app, "run", "head", "accuracy", "paper accuracy")
    assert set(comparison["run"]) == set(runs)
    paper_table = {(row["run"], row["head"]): row["paper table"] for _, row in comparison.iterrows()}
    assert paper_table["triplet (example)", "svm"] == "Table 7"  # the paper's triplet backbone, val
    assert paper_table["paper (example)", "softmax"] == "Table 3"  # cross-entropy backbone, val
    published = table_with(app, "loss", "head", "split", "table")
    assert "val" in set(published["split"]) and "test" not in set(published["split"])  # tables of the split shown
    charts = app.get("plotly_chart")
    assert len(charts) == 1 + 2 + 4 + 1  # per-class F1, val accuracy + loss curves, 4 confusion matrices, heads
    assert not app.error and not app.exception


def test_one_run_shows_its_details(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fresh_clone(tmp_path, monkeypatch)
    app = open_page("views/experiments.py")
    app.multiselect(key="compare-runs").set_value(["fast-cpu (example)"]).run()
    assert not app.exception
    comparison = table_with(app, "run", "head", "accuracy")
    assert set(comparison["run"]) == {"fast-cpu (example)"} and set(comparison["head"]) == {"softmax", "svm", "xgboost"}
    assert len(app.get("plotly_chart")) == 1 + 2 + 1 + 1  # per-class F1, two curves, its confusion matrix, heads
    config = table_with(app, "fast-cpu (example)")
    assert "config.arch" in config.index  # one run: its whole config
    app.selectbox(key="confusion-head").set_value("svm").run()
    assert not app.exception


def test_examples_hidden_by_the_setting_and_runs_root_hidden_in_public_mode(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    fresh_clone(tmp_path, monkeypatch)
    finished_run(tmp_path / "runs", "my-private-run", seed=3)
    full_app = open_page("views/experiments.py")
    full = table_with(full_app, "kind", "val_accuracy")
    assert "my-private-run" in full.index and len(full) == 5
    full_app.multiselect(key="compare-runs").set_value(["fast-cpu (example)"]).run()
    assert "config.data_path" in table_with(full_app, "fast-cpu (example)").index  # full mode shows it
    monkeypatch.setenv("FER_DASHBOARD_MODE", "public")
    app = open_page("views/experiments.py")
    public = table_with(app, "kind", "val_accuracy")
    assert "my-private-run" not in public.index and len(public) == 4
    assert str(tmp_path) not in texts(app)
    app.multiselect(key="compare-runs").set_value(["fast-cpu (example)"]).run()
    config = table_with(app, "fast-cpu (example)")
    assert "config.arch" in config.index and not [f for f in config.index if "data_path" in f]  # no server paths
    monkeypatch.setenv("FER_SHOW_EXAMPLES", "0")
    table = table_with(open_page("views/experiments.py"), "kind", "val_accuracy")
    assert list(table.index) == ["shipped default model"]


def test_overview_and_experiments_show_the_same_val_accuracy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runs = fresh_clone(tmp_path, monkeypatch)
    shipped = runs["shipped default model"]
    overview = open_page("views/overview.py")
    shown = {metric.label: metric.value for metric in overview.metric}
    experiments = table_with(open_page("views/experiments.py"), "kind", "val_accuracy")
    assert shown["val accuracy"] == f"{experiments.loc['shipped default model', 'val_accuracy']:.4f}"
    assert shown["val accuracy"] != "0.4500"  # not the training summary's best_val_accuracy
    assert np.isclose(float(shown["val accuracy"]), headline_metrics(shipped).accuracy, atol=5e-5)
    assert "3 (fast-cpu, paper, triplet)" in texts(overview)


def test_public_overview_shows_no_paths_or_runs_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fresh_clone(tmp_path, monkeypatch)
    monkeypatch.setenv("FER_DASHBOARD_MODE", "public")
    overview = open_page("views/overview.py")
    shown = texts(overview)
    assert str(tmp_path) not in shown and "Runs root" not in shown and "Public demo" in shown
    assert not overview.get("expander")  # no model card with server paths
