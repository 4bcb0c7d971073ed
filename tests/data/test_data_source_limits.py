"""Issue 19: sources that could hold a core or the memory of the server are refused before they are read.

Special files are refused from stat alone, sizes before hashing, folder walks are bounded, and zip members
are checked on their declared sizes and ratios before any byte is decompressed (a made 2 GiB zip bomb).
"""

from __future__ import annotations

import os
import threading
import zipfile
from pathlib import Path

import PIL.Image
import pytest

from fer_engine.data import load_dataset
from fer_engine.data import loader as loader_module
from fer_engine.data.synthetic import write_fer_csv, write_image_folder, write_zip_bomb
from fer_engine.errors import ConfigError, DataError


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FER_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def no_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the loader fingerprints (hashes) the source."""

    def refuse(*_args, **_kwargs):
        raise AssertionError("the source was hashed before it was checked")

    monkeypatch.setattr(loader_module, "file_fingerprint", refuse)
    monkeypatch.setattr(loader_module, "folder_fingerprint", refuse)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_dev_zero_is_refused_from_stat_alone(no_hashing: None) -> None:
    with pytest.raises(DataError, match="is a device, not a regular file or folder"):
        load_dataset("/dev/zero")


def test_a_fifo_is_refused_without_being_opened(tmp_path: Path, no_hashing: None) -> None:
    fifo = tmp_path / "fer2013.csv"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []
    worker = threading.Thread(target=lambda: _capture(outcome, lambda: load_dataset(fifo)), daemon=True)
    worker.start()
    worker.join(timeout=30)
    if worker.is_alive():  # it opened the FIFO and blocks: release it, then fail
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("load_dataset opened the FIFO")
    assert len(outcome) == 1 and isinstance(outcome[0], DataError), outcome
    assert "FIFO (named pipe), not a regular file or folder" in str(outcome[0])


def test_a_file_over_the_size_limit_is_refused_before_hashing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               no_hashing: None) -> None:
    source = write_fer_csv(tmp_path / "fer2013.csv", {"train": 30})  # ~1.4 MiB
    monkeypatch.setenv("FER_MAX_SOURCE_MB", "1")
    with pytest.raises(DataError, match=r"over the 1 MB limit for a dataset file \(FER_MAX_SOURCE_MB\)"):
        load_dataset(source)


def test_the_size_limit_is_checked_before_the_format(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     no_hashing: None) -> None:
    source = tmp_path / "big.bin"
    with open(source, "wb") as handle:
        handle.truncate(3 * 1024 * 1024)  # sparse: 3 MB of nothing on disk
    monkeypatch.setenv("FER_MAX_SOURCE_MB", "2")
    with pytest.raises(DataError, match="over the 2 MB limit"):
        load_dataset(source)


def test_a_bad_limit_setting_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FER_ZIP_MAX_RATIO", "lots")
    with pytest.raises(ConfigError, match="FER_ZIP_MAX_RATIO='lots' is not a number"):
        load_dataset(write_fer_csv(tmp_path / "f.csv", 1))


def test_folder_walks_are_bounded_in_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_hashing: None) -> None:
    root = write_image_folder(tmp_path / "fer", 10)  # 7 classes x 10 x 2 splits = 140 images
    monkeypatch.setenv("FER_MAX_FOLDER_ENTRIES", "100")
    with pytest.raises(DataError, match=r"more than 100 files and folders \(FER_MAX_FOLDER_ENTRIES\)"):
        load_dataset(root)


def test_folder_walks_are_bounded_in_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_hashing: None) -> None:
    root = tmp_path / "many"
    root.mkdir()
    for index in range(1100):  # the clock is read every 1,024 entries
        (root / f"{index}.txt").touch()
    monkeypatch.setenv("FER_MAX_WALK_SECONDS", "0.000001")
    with pytest.raises(DataError, match=r"listing .*many took over 1e-06 s \(FER_MAX_WALK_SECONDS\)"):
        load_dataset(root)


def test_folder_totals_count_against_the_source_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      no_hashing: None) -> None:
    root = write_image_folder(tmp_path / "fer", 2)
    with open(root / "train" / "video.bin", "wb") as handle:
        handle.truncate(3 * 1024 * 1024)
    monkeypatch.setenv("FER_MAX_SOURCE_MB", "2")
    with pytest.raises(DataError, match=r"holds over 2 MB of files \(FER_MAX_SOURCE_MB\)"):
        load_dataset(root)


def test_links_and_special_files_inside_a_folder_are_skipped_unopened(tmp_path: Path) -> None:
    root = write_image_folder(tmp_path / "fer", 2)
    outside = tmp_path / "private.jpg"
    outside.write_bytes(next((root / "train" / "happy").iterdir()).read_bytes())
    (root / "train" / "happy" / "Training_link.jpg").symlink_to(outside)
    os.mkfifo(root / "train" / "sad" / "Training_fifo.jpg")
    dataset = load_dataset(root)  # strict: a link or FIFO read as an image would be a bad item or a hang
    keys = [str(key) for split in dataset.splits.values() for key in split.keys]
    assert len(keys) == 21 and not any("link" in key or "fifo" in key for key in keys)


@pytest.fixture(scope="module")
def image_bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ~2 MB zip holding one real image and a 2 GiB member of zeros named like an image."""
    folder = tmp_path_factory.mktemp("bomb")
    image = next((write_image_folder(folder / "fer", 1) / "train" / "happy").iterdir()).read_bytes()
    return write_zip_bomb(folder / "bomb.zip", "train/happy/Training_bomb.jpg", 2048,
                          extra_members={"train/angry/Training_1.jpg": image})


def test_a_zip_bomb_is_refused_from_its_declared_sizes(image_bomb: Path, no_hashing: None) -> None:
    assert image_bomb.stat().st_size < 3 * 1024 * 1024
    with pytest.raises(DataError, match=r"a member declares 2,048 MB uncompressed, over the 1,024 MB limit"):
        load_dataset(image_bomb)


@pytest.mark.parametrize("member", ["train/happy/Training_bomb.jpg", "fer2013.csv"])
def test_a_small_bomb_under_the_size_limits_is_refused_by_its_ratio(tmp_path: Path, member: str,
                                                                     no_hashing: None) -> None:
    bomb = write_zip_bomb(tmp_path / "small.zip", member, 64)  # 64 MiB of zeros in ~70 kB: ratio ~1000
    with pytest.raises(DataError, match=r"expands [\d,]+ times when decompressed, over the 100 limit \(FER_ZIP_MAX_RATIO\)"):
        load_dataset(bomb)


def test_zip_total_size_and_member_count_are_limited(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = write_image_folder(tmp_path / "fer.zip", 3, as_zip=True)
    monkeypatch.setenv("FER_ZIP_MAX_MEMBERS", "10")
    with pytest.raises(DataError, match=r"fer\.zip has \d+ members, over the 10 limit \(FER_ZIP_MAX_MEMBERS\)"):
        load_dataset(source)
    monkeypatch.delenv("FER_ZIP_MAX_MEMBERS")
    monkeypatch.setenv("FER_ZIP_MAX_TOTAL_MB", "0.01")
    with pytest.raises(DataError, match=r"declares 0 MB uncompressed, over the 0 MB limit \(FER_ZIP_MAX_TOTAL_MB\)"):
        load_dataset(source)


def test_an_image_member_over_the_image_limit_is_a_bad_item_never_read_whole(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    source = write_image_folder(tmp_path / "fer.zip", 2, as_zip=True)
    with zipfile.ZipFile(source) as archive:
        biggest = max(archive.infolist(), key=lambda info: info.file_size)
    monkeypatch.setenv("FER_MAX_IMAGE_MB", str((biggest.file_size - 1) / 2**20))
    dataset = load_dataset(source, skip_bad=True)
    reasons = {item.where: item.reason for item in dataset.skipped}
    assert f"fer.zip:{biggest.filename}" in reasons
    assert "image limit (FER_MAX_IMAGE_MB)" in reasons[f"fer.zip:{biggest.filename}"]


def test_a_member_larger_than_it_declares_is_not_read_past_its_declared_size(tmp_path: Path) -> None:
    """A crafted directory that under-declares a member: zipfile stops at the declared size (CRC error)."""
    root = write_image_folder(tmp_path / "fer", 2)
    images = {path.relative_to(root).as_posix(): path.read_bytes() for path in sorted(root.rglob("*.jpg"))}
    bomb = write_zip_bomb(tmp_path / "liar.zip", "train/happy/Training_9.jpg", 8, extra_members=images)
    data = bytearray(bomb.read_bytes())
    declared = (8 << 20).to_bytes(4, "little")
    assert data.count(declared) == 2  # local header and central directory
    data[:] = data.replace(declared, (1000).to_bytes(4, "little"))
    bomb.write_bytes(bytes(data))
    dataset = load_dataset(bomb, skip_bad=True)
    reasons = {item.where: item.reason for item in dataset.skipped}
    # Read past 1,000 bytes, the zeros would match the CRC and fail only as an image.
    assert "Bad CRC-32" in reasons["liar.zip:train/happy/Training_9.jpg"]


def test_pillow_decompression_bomb_guard_stays_on() -> None:
    assert PIL.Image.MAX_IMAGE_PIXELS is not None and PIL.Image.MAX_IMAGE_PIXELS <= 200_000_000


def _capture(outcome: list[BaseException], call) -> None:
    try:
        call()
    except BaseException as exc:  # noqa: BLE001 - handed to the test thread
        outcome.append(exc)
