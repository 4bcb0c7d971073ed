"""Issue 19: errors say what is wrong in general terms; they never echo a file's header, row text or escape codes."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from fer_engine.cli.main import main, printable
from fer_engine.data import load_dataset
from fer_engine.data.synthetic import write_fer_csv, write_image_folder
from fer_engine.errors import DataError

SECRET = "AKIAIOSFODNN7EXAMPLE"


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FER_CACHE_DIR", str(tmp_path / "cache"))


def test_a_csv_without_fer_columns_does_not_echo_its_header(tmp_path: Path) -> None:
    source = tmp_path / "credentials.csv"
    source.write_text(f"username,password,{SECRET}\nroot,hunter2,x\n")
    with pytest.raises(DataError, match=r"has no emotion and no pixels column \(3 column\(s\) found\)") as raised:
        load_dataset(source)
    assert not {"username", "password", SECRET, "hunter2"} & set(str(raised.value).replace(",", " ").split())
    assert SECRET not in str(raised.value)


def test_a_ragged_row_is_reported_without_its_text(tmp_path: Path) -> None:
    source = tmp_path / "env.csv"
    source.write_text(f"KEY,VALUE\nAWS_SECRET_ACCESS_KEY,{SECRET},extra\n")
    with pytest.raises(DataError, match="not a readable CSV .a row has the wrong number of columns: expected 2 columns, got 3") \
            as raised:
        load_dataset(source)
    assert SECRET not in str(raised.value) and "AWS" not in str(raised.value)


def test_binary_data_named_csv_is_reported_without_its_bytes(tmp_path: Path) -> None:
    source = tmp_path / "blob.csv"
    source.write_bytes(b"emotion,pixels\n\xff\xfe" + SECRET.encode() + b"\x00\x9c\n")
    with pytest.raises(DataError) as raised:
        load_dataset(source)
    assert SECRET not in str(raised.value)


def test_row_errors_quote_at_most_a_short_printable_cell(tmp_path: Path) -> None:
    path = write_fer_csv(tmp_path / "fer2013.csv", 1)
    lines = path.read_text().splitlines()
    lines[3] = "\x1b[2J" + SECRET + "," + lines[3].split(",", 1)[1]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"row 3: emotion '\?\[2JAKIAIOSFODNN\.\.\.' is not a class id") as raised:
        load_dataset(path)
    assert "\x1b" not in str(raised.value) and SECRET not in str(raised.value)


def test_cli_errors_strip_escape_sequences_from_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = write_image_folder(tmp_path / "fer", 1)
    image = next((root / "train" / "happy").iterdir()).read_bytes()
    source = tmp_path / "hostile.zip"
    with zipfile.ZipFile(source, "w") as archive:
        for path in sorted(root.rglob("*.jpg")):
            archive.write(path, path.relative_to(root).as_posix())
        archive.writestr("train/\x1b]0;owned\x07\x1b[2Jangry\u202e/Training_99.jpg", image)
    assert main(["data", "summary", str(source)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("fer: error: ") and "Training_99.jpg" in error
    assert not any(char in error for char in "\x1b\x07\u202e"), repr(error)


def test_printable_keeps_text_newlines_and_tabs() -> None:
    assert printable("a\x1b[31mb\tc\nd\x9b\x00é") == "a[31mb\tc\ndé"
