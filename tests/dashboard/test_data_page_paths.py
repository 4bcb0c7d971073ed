"""Issue 19 on the Data page: typed paths are confined to the allowed roots and nothing outside them is shown."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from fer_engine.data.synthetic import write_fer_csv
from support.builders import image_folder_dataset
from support.paths import APP_FILE

TIMEOUT = 120
OUTSIDE = "outside the dataset folders this dashboard may read"


@pytest.fixture
def data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data folder (FER_DATA_DIR) holding a tiny image dataset; a secret CSV outside it; no dataset chosen."""
    monkeypatch.setenv("FER_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("FER_DEFAULT_CHECKPOINT", str(tmp_path / "no-shipped-model"))
    monkeypatch.setenv("FER_DASHBOARD_AUTOSTART_WORKER", "0")
    for name in ("FER2013_PATH", "FER_DATA_PATH", "FER_DATA_ROOTS"):
        monkeypatch.delenv(name, raising=False)
    data = tmp_path / "data"
    data.mkdir()
    image_folder_dataset(data)
    monkeypatch.setenv("FER_DATA_DIR", str(data))
    (tmp_path / "secrets.csv").write_text("username,password,api_key\nroot,hunter2,AKIA-SECRET\n")
    return data


def data_page() -> AppTest:
    app = AppTest.from_file(str(APP_FILE), default_timeout=TIMEOUT)
    app.run()
    app.switch_page("views/data.py").run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def use_path(app: AppTest, text: str) -> AppTest:
    app.text_input(key="data-path-input").set_value(text).run()
    app.button(key="data-path-button").click().run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def page_text(app: AppTest) -> str:
    kinds = ("info", "warning", "error", "success", "markdown", "caption", "title", "subheader", "exception")
    return "\n".join(str(element.value) for kind in kinds for element in getattr(app, kind))


@pytest.mark.parametrize("target", ["secret", "/dev/zero", "/etc", "link"])
def test_data_page_refuses_paths_outside_the_roots_and_shows_nothing_of_them(data_folder: Path, target: str) -> None:
    secret = data_folder.parent / "secrets.csv"
    if target == "link":
        (data_folder / "innocent.csv").symlink_to(secret)
        target = str(data_folder / "innocent.csv")
    elif target == "secret":
        target = str(secret)
    app = use_path(data_page(), target)
    assert any(OUTSIDE in error.value for error in app.error), [e.value for e in app.error]
    shown = page_text(app)
    assert not {"hunter2", "username", "api_key", "AKIA-SECRET"} & set(shown.replace(",", " ").split())
    assert "AKIA-SECRET" not in shown and not app.dataframe and not app.get("image")
    assert "No dataset chosen" in shown  # the refused path was not taken


def test_data_page_reads_a_dataset_inside_the_data_folder(data_folder: Path) -> None:
    app = use_path(data_page(), "fer-tiny")  # relative to the data folder
    shown = page_text(app)
    assert not app.error, [e.value for e in app.error]
    assert "train 28" in shown and "val 21" in shown and str((data_folder / "fer-tiny").resolve()) in shown


def test_data_page_checks_the_session_path_again(data_folder: Path) -> None:
    app = data_page()
    app.session_state["data_path"] = str(data_folder.parent / "secrets.csv")  # e.g. state from an older build
    app.run()
    assert any(OUTSIDE in error.value for error in app.error)
    assert "hunter2" not in page_text(app) and not app.dataframe


def test_data_page_refuses_special_files_inside_a_root(data_folder: Path) -> None:
    os.mkfifo(data_folder / "pipe.csv")
    app = use_path(data_page(), "pipe.csv")
    assert any("FIFO" in error.value for error in app.error), [e.value for e in app.error]


def test_data_page_reads_the_operator_dataset_and_works_with_a_damaged_run_index(
        data_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    operator = write_fer_csv(data_folder.parent / "elsewhere" / "fer2013.csv", 2)
    monkeypatch.setenv("FER2013_PATH", str(operator))
    runs = data_folder.parent / "runs"
    runs.mkdir()
    (runs / "index.sqlite").write_bytes(b"garbage, not an SQLite file" * 100)
    app = data_page()
    assert not app.error, [e.value for e in app.error]
    assert "train 14" in page_text(app)
