"""Issue 19: a path a browser sends resolves inside the allowed roots, or is refused without revealing anything."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fer_engine.data.allowed_paths import allowed_roots, resolve_dataset_path
from fer_engine.data.synthetic import write_fer_csv, write_image_folder
from fer_engine.errors import DataError
from fer_engine.paths import uploads_root

OUTSIDE = "outside the dataset folders this dashboard may read"


@pytest.fixture
def roots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data folder with one CSV and one image folder; a secret file beside it (outside every root)."""
    for name in ("FER2013_PATH", "FER_DATA_PATH", "FER_DATA_ROOTS"):
        monkeypatch.delenv(name, raising=False)
    data = tmp_path / "data"
    write_fer_csv(data / "fer2013.csv", 1)
    write_image_folder(data / "images", 1)
    monkeypatch.setenv("FER_DATA_DIR", str(data))
    (tmp_path / "secrets.csv").write_text("username,password,api_key\nroot,hunter2,AKIA123\n")
    return tmp_path


def test_paths_inside_the_data_folder_resolve(roots: Path) -> None:
    data = (roots / "data").resolve()
    assert resolve_dataset_path(str(data / "fer2013.csv")) == data / "fer2013.csv"
    assert resolve_dataset_path("images") == data / "images"  # relative to the data folder
    assert resolve_dataset_path(f"  {data}/images/../fer2013.csv ") == data / "fer2013.csv"


def test_the_uploads_folder_is_a_root(roots: Path) -> None:
    upload = write_fer_csv(uploads_root() / "datasets" / "abc-fer.csv", 1)
    assert resolve_dataset_path(str(upload)) == upload.resolve()


@pytest.mark.parametrize("text", ["SECRET", "../secrets.csv", "/etc/passwd", "/root", "/dev/zero", "/proc/self/environ",
                                  "../no-such-file.csv", "/nonexistent/thing"])
def test_paths_outside_the_roots_are_refused_alike(roots: Path, text: str) -> None:
    target = str(roots / "secrets.csv") if text == "SECRET" else text
    with pytest.raises(DataError, match=OUTSIDE) as raised:
        resolve_dataset_path(target)
    message = str(raised.value)
    assert "does not exist" not in message  # no probing of what exists outside the roots
    assert "hunter2" not in message and "username" not in message and "secrets" not in message


def test_a_symbolic_link_out_of_a_root_is_refused(roots: Path) -> None:
    link = roots / "data" / "innocent.csv"
    link.symlink_to(roots / "secrets.csv")
    with pytest.raises(DataError, match=OUTSIDE) as raised:
        resolve_dataset_path(str(link))
    assert "secrets" not in str(raised.value)


def test_missing_paths_inside_a_root_say_so(roots: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        resolve_dataset_path("nope.zip")


def test_special_files_inside_a_root_are_refused(roots: Path) -> None:
    os.mkfifo(roots / "data" / "pipe.csv")
    with pytest.raises(DataError, match="is a FIFO"):
        resolve_dataset_path("pipe.csv")


def test_oversized_files_inside_a_root_are_refused(roots: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with open(roots / "data" / "huge.zip", "wb") as handle:
        handle.truncate(5 * 1024 * 1024)
    monkeypatch.setenv("FER_MAX_SOURCE_MB", "4")
    with pytest.raises(DataError, match="over the 4 MB limit"):
        resolve_dataset_path("huge.zip")


def test_roots_are_configurable_and_operator_datasets_allowed(roots: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = roots / "other"
    write_fer_csv(other / "mine.csv", 1)
    operator = write_fer_csv(roots / "elsewhere" / "fer2013.csv", 1)
    with pytest.raises(DataError, match=OUTSIDE):
        resolve_dataset_path(str(other / "mine.csv"))
    monkeypatch.setenv("FER_DATA_ROOTS", f"{other}{os.pathsep}{roots / 'nowhere'}")
    monkeypatch.setenv("FER2013_PATH", str(operator))
    assert resolve_dataset_path("mine.csv") == (other / "mine.csv").resolve()  # the first root replaces ./data
    assert resolve_dataset_path(str(operator)) == operator.resolve()
    with pytest.raises(DataError, match=OUTSIDE):
        resolve_dataset_path(str(roots / "data" / "fer2013.csv"))  # FER_DATA_ROOTS replaces the data folder
    with pytest.raises(DataError, match=OUTSIDE):
        resolve_dataset_path(str(roots / "elsewhere" / "other.csv"))  # the operator's file, not its folder
    assert uploads_root().resolve() in allowed_roots()


@pytest.mark.parametrize("text", ["", "   ", "a\x00b", "x" * 5000])
def test_empty_or_malformed_paths(roots: Path, text: str) -> None:
    with pytest.raises(DataError, match="no dataset path given|not a valid path"):
        resolve_dataset_path(text)
