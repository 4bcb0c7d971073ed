"""Embeddings page on a fresh clone: switches between the shipped model and the examples, shows their stored
map on first visit, gives an estimate before computing any other map, and keeps public mode to the demo runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_experiments_page import fresh_clone, open_page, texts

from support.builders import finished_run


def test_first_visit_shows_the_stored_map_of_each_demo_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runs = fresh_clone(tmp_path, monkeypatch)
    app = open_page("views/embeddings.py")
    picker = app.selectbox(key="embedding-run")
    assert list(picker.options) == picker_labels(runs)
    assert app.selectbox(key="embedding-method").value == "UMAP"
    for label in ("fast-cpu (example)", "triplet (example)"):
        app.selectbox(key="embedding-run").select_index(picker.options.index(label)).run()
        assert not app.exception and app.get("plotly_chart")
        assert f"21 of 21 val embeddings of {label} (precomputed map stored with the run)" in texts(app)
        assert not [button for button in app.button if button.key == "embedding-compute"]


def picker_labels(runs: dict) -> list[str]:
    return ["shipped default model"] + sorted(label for label in runs if label != "shipped default model")


def test_other_settings_show_an_estimate_then_compute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fresh_clone(tmp_path, monkeypatch)
    app = open_page("views/embeddings.py")  # the shipped stand-in has no stored map
    assert not app.get("plotly_chart")
    notice = " ".join(message.value for message in app.info)
    assert "No stored UMAP map" in notice and "takes about" in notice and "21 points" in notice
    app.selectbox(key="embedding-method").set_value("t-SNE").run()
    assert "No stored t-SNE map" in texts(app)
    app.button(key="embedding-compute").click().run()
    assert not app.exception and app.get("plotly_chart")
    assert "t-SNE computed here" in texts(app)
    app.selectbox(key="embedding-method").set_value("PCA").run()  # instant: no notice, no button
    assert app.get("plotly_chart") and "PCA computed here" in texts(app)


def test_public_mode_lists_only_the_shipped_model_and_examples(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    runs = fresh_clone(tmp_path, monkeypatch)
    finished_run(tmp_path / "runs", "my-private-run", seed=3)
    app = open_page("views/embeddings.py")
    assert "my-private-run" in app.selectbox(key="embedding-run").options
    monkeypatch.setenv("FER_DASHBOARD_MODE", "public")
    app = open_page("views/embeddings.py")
    assert list(app.selectbox(key="embedding-run").options) == picker_labels(runs)
    assert str(tmp_path) not in texts(app)
