"""Bad input: each case raises a DataError naming the file/row, or with skip_bad is skipped and recorded."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from fer_engine.data import load_dataset, summarize
from fer_engine.data.synthetic import write_fer_csv, write_image_folder
from fer_engine.errors import ConfigError, DataError


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FER_CACHE_DIR", str(tmp_path / "cache"))


def _csv_with_row(tmp_path: Path, row: int, edit) -> Path:
    """A valid fer2013.csv (42 train, 21 val, 21 test rows) whose data row `row` (1-based) is edited."""
    path = write_fer_csv(tmp_path / "fer2013.csv", 6)
    lines = path.read_text().splitlines()
    emotion, pixels, usage = lines[row].split(",")
    lines[row] = ",".join(edit(emotion, pixels, usage))
    path.write_text("\n".join(lines) + "\n")
    return path


CSV_CASES = {
    "short pixels": (lambda e, p, u: (e, p.rsplit(" ", 1)[0], u), "row 17: 2,303 pixels, expected 2,304"),
    "long pixels": (lambda e, p, u: (e, p + " 5", u), "row 17: 2,305 pixels, expected 2,304"),
    "label 7": (lambda e, p, u: ("7", p, u), "row 17: emotion '7' is not a class id 0-6"),
    "label text": (lambda e, p, u: ("happy", p, u), "row 17: emotion 'happy'"),
    "label float": (lambda e, p, u: ("2.5", p, u), "row 17: emotion '2.5'"),
    "usage": (lambda e, p, u: (e, p, "Holdout"), "row 17: Usage 'Holdout' is not one of"),
    "pixel text": (lambda e, p, u: (e, p.replace(" ", " abc ", 1), u), "row 17: pixel value 'abc' is not an integer"),
    "pixel range": (lambda e, p, u: (e, "300 " + p.split(" ", 1)[1], u), "row 17: pixel values span"),
}


@pytest.mark.parametrize("case", CSV_CASES)
def test_bad_csv_row_names_the_row(tmp_path: Path, case: str) -> None:
    edit, message = CSV_CASES[case]
    source = _csv_with_row(tmp_path, 17, edit)
    with pytest.raises(DataError, match="fer2013.csv " + message.replace("(", r"\(").replace(".", r"\.")):
        load_dataset(source)
    dataset = load_dataset(source, skip_bad=True)
    assert len(dataset.skipped) == 1 and dataset.skipped[0].where == "fer2013.csv row 17"
    assert sum(len(split) for split in dataset.splits.values()) == 83
    assert summarize(dataset).skipped_count == 1


def _corrupt_tree(tmp_path: Path, as_zip: bool) -> Path:
    root = write_image_folder(tmp_path / "fer", 3)
    good = next((root / "train" / "angry").iterdir()).read_bytes()
    (root / "train" / "angry" / "Training_1.jpg").write_bytes(b"\xff\xd8 this is not a jpeg")
    (root / "train" / "fear" / "Training_2.jpg").write_bytes(good[: len(good) // 2])  # truncated
    (root / "train" / "happy" / "notes.txt").write_text("hello")
    (root / "train" / "sad" / "Training_3.jpg").write_bytes(b"")
    (root / "train" / "contempt").mkdir()
    (root / "train" / "contempt" / "Training_4.jpg").write_bytes(good)
    if not as_zip:
        return root
    archive_path = tmp_path / "fer.zip"
    with zipfile.ZipFile(archive_path, "w") as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(root).as_posix())
    return archive_path


@pytest.mark.parametrize("as_zip", [False, True])
def test_bad_images_raise_or_are_skipped(tmp_path: Path, as_zip: bool) -> None:
    source = _corrupt_tree(tmp_path, as_zip)
    with pytest.raises(DataError, match=r"Training_1\.jpg|Training_2\.jpg|notes\.txt|Training_3\.jpg|contempt"):
        load_dataset(source)
    dataset = load_dataset(source, skip_bad=True)
    reasons = {item.where.replace("\\", "/").rsplit("/", 1)[-1].split(":")[-1]: item.reason for item in dataset.skipped}
    assert set(reasons) == {"Training_1.jpg", "Training_2.jpg", "notes.txt", "Training_3.jpg", "Training_4.jpg"}
    assert "cannot decode" in reasons["Training_1.jpg"]
    assert "truncated" in reasons["Training_2.jpg"] or "cannot decode" in reasons["Training_2.jpg"]
    assert "not an image" in reasons["notes.txt"]
    assert "empty file" in reasons["Training_3.jpg"]
    assert "unknown class folder 'contempt'" in reasons["Training_4.jpg"]
    assert len(dataset.split("train")) == 21 and len(dataset.split("val")) == 7
    assert summarize(dataset).to_dict()["skipped_count"] == 5


def test_each_bad_image_alone_names_its_file(tmp_path: Path) -> None:
    root = write_image_folder(tmp_path / "fer", 2)
    (root / "train" / "angry" / "Training_1.jpg").write_bytes(b"garbage")
    with pytest.raises(DataError, match=r"train/angry/Training_1\.jpg: cannot decode image"):
        load_dataset(root)


def test_missing_path_explains_accepted_forms(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist; accepted forms: a FER2013 CSV"):
        load_dataset(tmp_path / "nope.zip")


def test_unrecognised_file_explains_accepted_forms(tmp_path: Path) -> None:
    (tmp_path / "data.bin").write_bytes(b"\x00\x01")
    with pytest.raises(DataError, match="neither a CSV nor a .zip archive; accepted forms"):
        load_dataset(tmp_path / "data.bin")


@pytest.mark.parametrize("kind", ["empty folder", "empty zip", "header only csv", "empty csv", "no fer columns", "text only folder"])
def test_empty_or_unrecognised_sources(tmp_path: Path, kind: str) -> None:
    if kind == "empty folder":
        source = tmp_path / "empty"
        source.mkdir()
    elif kind == "empty zip":
        source = tmp_path / "empty.zip"
        zipfile.ZipFile(source, "w").close()
    elif kind == "header only csv":
        source = tmp_path / "fer2013.csv"
        source.write_text("emotion,pixels,Usage\n")
    elif kind == "empty csv":
        source = tmp_path / "fer2013.csv"
        source.write_text("")
    elif kind == "no fer columns":
        source = tmp_path / "other.csv"
        source.write_text("a,b\n1,2\n")
    else:
        source = tmp_path / "docs"
        (source / "sub").mkdir(parents=True)
        (source / "sub" / "notes.md").write_text("x")
    with pytest.raises(DataError, match=str(source.name)):
        load_dataset(source, skip_bad=True)


def test_all_rows_bad_is_an_error_even_with_skip_bad(tmp_path: Path) -> None:
    source = tmp_path / "fer2013.csv"
    source.write_text("emotion,pixels,Usage\n9,1 2 3,Training\n")
    with pytest.raises(DataError, match="no usable rows in fer2013.csv"):
        load_dataset(source, skip_bad=True)


def test_mixed_split_and_other_top_folders(tmp_path: Path) -> None:
    root = write_image_folder(tmp_path / "fer", 2)
    (root / "extra" / "happy").mkdir(parents=True)
    (root / "extra" / "happy" / "x.jpg").write_bytes(next((root / "train" / "happy").iterdir()).read_bytes())
    with pytest.raises(DataError, match="mix split names"):
        load_dataset(root)


def test_image_at_wrong_depth(tmp_path: Path) -> None:
    root = write_image_folder(tmp_path / "fer", 2)
    (root / "train" / "loose.jpg").write_bytes(next((root / "train" / "happy").iterdir()).read_bytes())
    with pytest.raises(DataError, match=r"loose\.jpg: image outside the <split>/<class>/<image> layout"):
        load_dataset(root)
    assert len(load_dataset(root, skip_bad=True).skipped) == 1


def test_bad_val_fraction(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="val_fraction"):
        load_dataset(write_fer_csv(tmp_path / "f.csv", 1), val_fraction=1.5)


def test_corrupt_zip(tmp_path: Path) -> None:
    source = tmp_path / "broken.zip"
    good = write_image_folder(tmp_path / "fer.zip", 2, as_zip=True).read_bytes()
    source.write_bytes(good[:-200])  # end of central directory cut off
    with pytest.raises(DataError, match="broken.zip"):
        load_dataset(source)


def test_bad_label_deep_in_a_large_csv_is_still_a_row_error(tmp_path: Path) -> None:
    path = write_fer_csv(tmp_path / "fer2013.csv", {"train": 20})  # 140 rows, ~1.3 MB: two 1 MiB reader blocks
    lines = path.read_text().splitlines()
    lines[130] = "happy," + lines[130].split(",", 1)[1]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match="fer2013.csv row 130: emotion 'happy'"):
        load_dataset(path)
    assert [item.where for item in load_dataset(path, skip_bad=True).skipped] == ["fer2013.csv row 130"]


def test_ragged_csv_line_is_reported(tmp_path: Path) -> None:
    path = write_fer_csv(tmp_path / "fer2013.csv", 1)
    path.write_text(path.read_text() + "0,1 2,Training,extra\n")
    with pytest.raises(DataError, match="fer2013.csv: not a readable CSV"):
        load_dataset(path)
