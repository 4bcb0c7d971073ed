"""The Embeddings page's quality panel reads and writes through `fer_engine.metric_learning.report` only:
computed on request, shown from the stored file afterwards, and a damaged file is a clear error, not a crash."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from fer_engine.errors import DataError
from fer_engine.metric_learning.report import read_embedding_quality
from support.builders import run_with_separable_embeddings

APP_FILE = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"


def _open_embeddings_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    for name in ("FER_DASHBOARD_MODE", "FER2013_PATH", "FER_DATA_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FER_EXAMPLES_DIR", str(tmp_path / "no-examples"))
    app = AppTest.from_file(str(APP_FILE), default_timeout=120)
    app.run()
    app.switch_page("views/embeddings.py").run()
    app.selectbox(key="embedding-method").set_value("PCA").run()  # instant map: the page goes on to the quality panel
    assert not app.exception, [e.value for e in app.exception]
    return app


def _messages(app: AppTest) -> str:
    return "\n".join(str(e.value) for kind in ("info", "error", "caption") for e in getattr(app, kind))


def test_quality_computed_on_request_then_read_from_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = run_with_separable_embeddings(tmp_path / "made")
    monkeypatch.setenv("FER_DEFAULT_CHECKPOINT", str(run.root))
    app = _open_embeddings_page(tmp_path, monkeypatch)
    assert read_embedding_quality(run) == {}
    app.button(key="quality-button").click().run()
    assert not app.exception
    stored = read_embedding_quality(run)
    assert stored["val"]["knn_accuracy_k1"] == pytest.approx(1.0)  # separable blobs: every neighbour agrees

    app = _open_embeddings_page(tmp_path, monkeypatch)
    [table] = [frame.value for frame in app.dataframe if list(frame.value.columns) == ["value"]]
    assert table.loc["knn_accuracy_k1"].iloc[0] == str(stored["val"]["knn_accuracy_k1"])
    assert "stored with the run" in _messages(app)


def test_damaged_quality_file_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = run_with_separable_embeddings(tmp_path / "made")
    run.embedding_quality_file.parent.mkdir(parents=True, exist_ok=True)
    run.embedding_quality_file.write_text('{"splits": {"val": ')
    with pytest.raises(DataError, match="embedding_quality.json is unreadable"):
        read_embedding_quality(run)
    run.embedding_quality_file.write_text('{"splits": ["val"]}')
    with pytest.raises(DataError, match="does not hold per-split metrics"):
        read_embedding_quality(run)

    monkeypatch.setenv("FER_DEFAULT_CHECKPOINT", str(run.root))
    app = _open_embeddings_page(tmp_path, monkeypatch)
    assert "does not hold per-split metrics" in _messages(app)
    assert not [button for button in app.button if button.key == "quality-button"]
