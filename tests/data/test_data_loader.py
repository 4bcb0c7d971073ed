"""load_dataset on every published form: split mapping, class ids, drawn val, absent test, the cache."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fer_engine.classes import FER_CLASS_NAMES
from fer_engine.data import load_dataset
from fer_engine.data import loader as loader_module
from fer_engine.data.synthetic import synthetic_images, write_fer_csv, write_image_folder


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("FER_CACHE_DIR", str(cache))
    return cache


def _class_counts(dataset, split: str) -> list[int]:
    return np.bincount(dataset.split(split).labels, minlength=7).tolist()


@pytest.mark.parametrize("as_zip", [False, True])
def test_image_folder_and_zip_map_prefixes_to_splits(tmp_path: Path, as_zip: bool) -> None:
    source = write_image_folder(tmp_path / "fer", {"train": 4, "val": 2, "test": 3}, as_zip=as_zip)
    dataset = load_dataset(source)
    assert dataset.source_format == ("image-zip" if as_zip else "image-folder")
    assert list(dataset.splits) == ["train", "val", "test"]
    assert _class_counts(dataset, "train") == [4] * 7
    assert _class_counts(dataset, "val") == [2] * 7
    assert _class_counts(dataset, "test") == [3] * 7
    assert dataset.drawn_splits == {} and dataset.absent_splits == []
    train = dataset.split("train")
    assert train.images.shape == (28, 48, 48) and train.images.dtype == np.uint8 and train.labels.dtype == np.int64
    assert all(key.startswith("train/") for key in train.keys)
    assert all("/PublicTest_" in key for key in dataset.split("val").keys)
    assert all(key.startswith("test/") and "/PrivateTest_" in key for key in dataset.split("test").keys)
    assert list(train.keys) == sorted(train.keys)
    assert len(dataset.fingerprint) == 64


def test_class_ids_follow_fer_order_not_alphabetical(tmp_path: Path) -> None:
    dataset = load_dataset(write_image_folder(tmp_path / "fer", 3))
    assert dataset.class_names == FER_CLASS_NAMES
    for key, label in zip(dataset.split("train").keys, dataset.split("train").labels):
        assert key.split("/")[1] == FER_CLASS_NAMES[label]
    neutral = [key for key in dataset.split("train").keys if "/neutral/" in key]
    assert dataset.split("train").labels[list(dataset.split("train").keys).index(neutral[0])] == 6


def test_images_match_what_was_written(tmp_path: Path) -> None:
    train = load_dataset(write_image_folder(tmp_path / "fer", {"train": 3}, seed=5), val_fraction=0).split("train")
    expected, expected_labels = synthetic_images(3, seed=5)
    order = [int(key.rsplit("_", 1)[1].split(".")[0]) - 10_000 for key in train.keys]  # ids count up in write order
    assert np.array_equal(train.labels, expected_labels[order])
    # JPEG at quality 95 stays close to the pixels written
    assert np.abs(train.images.astype(int) - expected[order].astype(int)).mean() < 3


def test_repeated_ids_in_two_class_folders_are_both_kept(tmp_path: Path) -> None:
    root = write_image_folder(tmp_path / "fer", {"train": 2})
    (root / "train" / "happy" / "Training_10000.jpg").write_bytes((root / "train" / "angry" / "Training_10000.jpg").read_bytes())
    dataset = load_dataset(root, val_fraction=0.0)
    keys = list(dataset.split("train").keys)
    assert "train/angry/Training_10000.jpg" in keys and "train/happy/Training_10000.jpg" in keys


def test_dev_like_zip_has_train_val_and_no_test(tmp_path: Path) -> None:
    dataset = load_dataset(write_image_folder(tmp_path / "dev.zip", {"train": 5, "val": 2}, as_zip=True))
    assert set(dataset.splits) == {"train", "val"}
    assert dataset.absent_splits == ["test"]
    assert dataset.drawn_splits == {}
    with pytest.raises(Exception, match="absent"):
        dataset.split("test")


def test_no_prefix_draws_stratified_seeded_val_and_keeps_test(tmp_path: Path) -> None:
    source = write_image_folder(tmp_path / "plain", {"train": 20, "test": 3}, with_usage_prefix=False)
    dataset = load_dataset(source, val_fraction=0.2, seed=3)
    assert dataset.drawn_splits == {"val": "stratified 20% of train, seed 3"}
    assert _class_counts(dataset, "val") == [4] * 7  # stratified: 20% of 20 per class
    assert _class_counts(dataset, "train") == [16] * 7
    assert _class_counts(dataset, "test") == [3] * 7  # the folder test/ stays test
    assert not set(dataset.split("val").keys) & set(dataset.split("train").keys)
    again = load_dataset(source, val_fraction=0.2, seed=3, use_cache=False)
    assert list(again.split("val").keys) == list(dataset.split("val").keys)
    other_seed = load_dataset(source, val_fraction=0.2, seed=4, use_cache=False)
    assert list(other_seed.split("val").keys) != list(dataset.split("val").keys)


def test_val_fraction_zero_leaves_val_absent(tmp_path: Path) -> None:
    dataset = load_dataset(write_image_folder(tmp_path / "plain", {"train": 3}, with_usage_prefix=False), val_fraction=0)
    assert dataset.absent_splits == ["val", "test"] and dataset.drawn_splits == {}


def test_split_folders_named_validation(tmp_path: Path) -> None:
    images, _ = synthetic_images(2)
    for folder in ("training", "validation", "test"):
        for index, image in enumerate(images[:4]):
            path = tmp_path / "ds" / folder / "happy" / f"{index}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(path)
    dataset = load_dataset(tmp_path / "ds")
    assert {name: len(split) for name, split in dataset.splits.items()} == {"train": 4, "val": 4, "test": 4}
    assert dataset.drawn_splits == {}


@pytest.mark.parametrize("icml", [False, True])
def test_csv_forms(tmp_path: Path, icml: bool) -> None:
    source = write_fer_csv(tmp_path / ("icml_face_data.csv" if icml else "fer2013.csv"), {"train": 4, "val": 2, "test": 1}, icml_variant=icml)
    dataset = load_dataset(source)
    assert dataset.source_format == ("icml-csv" if icml else "fer2013-csv")
    assert [len(split) for split in dataset.splits.values()] == [28, 14, 7]
    assert _class_counts(dataset, "val") == [2] * 7
    expected, _ = synthetic_images(4, seed=0)
    assert np.array_equal(dataset.split("train").images, expected)  # CSV pixels are exact
    assert dataset.split("train").keys[0] == "row000001"


def test_csv_with_bom_and_crlf(tmp_path: Path) -> None:
    path = write_fer_csv(tmp_path / "fer2013.csv", 2)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))
    dataset = load_dataset(path)
    assert [len(split) for split in dataset.splits.values()] == [14, 7, 7]


def test_csv_without_publictest_draws_val(tmp_path: Path) -> None:
    dataset = load_dataset(write_fer_csv(tmp_path / "f.csv", {"train": 10, "test": 2}))
    assert dataset.drawn_splits == {"val": "stratified 10% of train, seed 0"}
    assert len(dataset.split("val")) == 7 and len(dataset.split("test")) == 14


def test_csv_without_usage_column_is_all_train(tmp_path: Path) -> None:
    images, labels = synthetic_images(3)
    lines = ["emotion,pixels"] + [f"{label}," + " ".join(map(str, image.ravel())) for image, label in zip(images, labels)]
    (tmp_path / "train.csv").write_text("\n".join(lines) + "\n")
    dataset = load_dataset(tmp_path / "train.csv", val_fraction=0.0)
    assert list(dataset.splits) == ["train"] and len(dataset.split("train")) == 21


def test_csv_inside_zip_and_folder(tmp_path: Path) -> None:
    csv_path = write_fer_csv(tmp_path / "src" / "fer2013.csv", 2)
    with zipfile.ZipFile(tmp_path / "fer2013.zip", "w") as archive:
        archive.write(csv_path, "fer2013/fer2013.csv")
    for source in (tmp_path / "fer2013.zip", tmp_path / "src"):
        dataset = load_dataset(source)
        assert dataset.source_format == "fer2013-csv" and len(dataset.split("test")) == 7


def _write_other_dataset(root: Path, as_zip: bool = False) -> Path:
    """Colour, odd-sized, mixed-format images under non-FER class folders and a wrapper folder."""
    rng = np.random.default_rng(0)
    files: dict[str, bytes] = {}
    for label, name in enumerate(["Contempt", "cat", "dog"]):
        for index in range(8):
            colour = rng.integers(0, 255, size=(37 + label * 20, 61, 3), dtype=np.uint8)
            buffer = io.BytesIO()
            fmt = ["PNG", "JPEG", "BMP"][index % 3]
            mode = "RGBA" if fmt == "PNG" else "RGB"
            Image.fromarray(colour).convert(mode).save(buffer, format=fmt)
            files[f"wrapper/{name}/img{index}.{fmt.lower()}"] = buffer.getvalue()
    files["wrapper/README.txt"] = b"not data"
    files[".DS_Store"] = b"junk"
    if as_zip:
        with zipfile.ZipFile(root.with_suffix(".zip"), "w") as archive:
            for name, data in files.items():
                archive.writestr(name, data)
        return root.with_suffix(".zip")
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


@pytest.mark.parametrize("as_zip", [False, True])
def test_other_dataset_colour_odd_sizes(tmp_path: Path, as_zip: bool) -> None:
    dataset = load_dataset(_write_other_dataset(tmp_path / "other", as_zip), val_fraction=0.25)
    assert dataset.class_names == ("Contempt", "cat", "dog")  # sorted folder names
    assert len(dataset.split("train")) + len(dataset.split("val")) == 24
    assert np.bincount(dataset.split("val").labels).tolist() == [2, 2, 2]
    assert dataset.split("train").images.shape[1:] == (48, 48)
    assert all(key.startswith("wrapper/") for key in dataset.split("train").keys)
    assert dataset.absent_splits == ["test"] and "val" in dataset.drawn_splits


def test_fer_class_folders_in_any_case_and_aliases(tmp_path: Path) -> None:
    images, _ = synthetic_images(2)
    for name in ("Angry", "HAPPY", "surprised"):
        for index, image in enumerate(images[:2]):
            path = tmp_path / "ds" / name / f"{index}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(path)
    dataset = load_dataset(tmp_path / "ds", val_fraction=0)
    assert dataset.class_names == FER_CLASS_NAMES
    assert np.bincount(dataset.split("train").labels, minlength=7).tolist() == [2, 0, 0, 2, 0, 2, 0]


def test_second_load_uses_cache_and_a_changed_file_invalidates_it(tmp_path: Path, _own_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = write_fer_csv(tmp_path / "fer2013.csv", 2)
    first = load_dataset(source)
    cached = list((_own_cache / "datasets").glob("*.npz"))
    assert len(cached) == 1

    calls = []
    real = loader_module._load_uncached
    monkeypatch.setattr(loader_module, "_load_uncached", lambda *a, **k: calls.append(1) or real(*a, **k))
    second = load_dataset(source)
    assert calls == []  # served from the cache
    assert second.fingerprint == first.fingerprint
    for name in first.splits:
        assert np.array_equal(second.split(name).images, first.split(name).images)
        assert list(second.split(name).keys) == list(first.split(name).keys)

    stat = os.stat(source)
    write_fer_csv(source, 2, seed=9)  # same size and layout, other pixels
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # even with the old mtime
    third = load_dataset(source)
    assert calls == [1] and third.fingerprint != first.fingerprint
    assert not np.array_equal(third.split("train").images, first.split("train").images)

    load_dataset(source, val_fraction=0.2)  # other options: another cache entry
    assert calls == [1, 1]
    load_dataset(source, use_cache=False)
    assert calls == [1, 1, 1]


def test_folder_cache_invalidated_by_a_new_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_image_folder(tmp_path / "fer", 2)
    first = load_dataset(root)
    extra = root / "train" / "happy" / "Training_99999.jpg"
    extra.write_bytes(next((root / "train" / "happy").iterdir()).read_bytes())
    second = load_dataset(root)
    assert second.fingerprint != first.fingerprint
    assert len(second.split("train")) == len(first.split("train")) + 1


def test_damaged_cache_entry_is_rebuilt(tmp_path: Path, _own_cache: Path) -> None:
    source = write_fer_csv(tmp_path / "fer2013.csv", 2)
    load_dataset(source)
    (entry,) = (_own_cache / "datasets").glob("*.npz")
    entry.write_bytes(b"garbage")
    dataset = load_dataset(source)
    assert len(dataset.split("train")) == 14
