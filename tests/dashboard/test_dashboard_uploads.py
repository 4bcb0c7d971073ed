"""Upload handling of the dashboard: names never reach the filesystem unsanitised, sizes are bounded on the server,
uploads and decoded caches have a quota and an expiry."""

from __future__ import annotations

import os
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from dashboard.components import uploads
from dashboard.components.settings import MAX_DATASET_MB, MAX_PHOTO_MB, MAX_UPLOAD_MB, uploads_dir
from dashboard.components.uploads import sanitize_filename, save_upload, upload_bytes
from fer_engine.data.cache import dataset_cache_dir
from fer_engine.errors import DataError
from fer_engine.paths import uploads_root
from support.paths import REPO_ROOT


@dataclass
class FakeUpload:
    name: str
    data: bytes

    def getvalue(self) -> bytes:
        return self.data


@pytest.mark.parametrize("name, expected", [
    ("fer2013.zip", "fer2013.zip"),
    ("../../etc/passwd.csv", "passwd.csv"),
    ("C:\\Users\\me\\My Data (1).ZIP", "My_Data_1.zip"),
    (".hidden.zip", "hidden.zip"),
    ("....zip", "upload.zip"),
])
def test_dashboard_sanitize_filename_keeps_a_safe_basename(name: str, expected: str) -> None:
    assert sanitize_filename(name, allowed_suffixes=["zip", "csv"]) == expected


def test_dashboard_sanitize_filename_rejects_other_types() -> None:
    with pytest.raises(DataError, match="accepted"):
        sanitize_filename("evil.sh", allowed_suffixes=["zip", "csv"])


def test_dashboard_save_upload_writes_inside_the_folder_only(tmp_path: Path) -> None:
    saved = save_upload(FakeUpload("../../outside.csv", b"emotion,pixels,Usage\n"), tmp_path,
                        allowed_suffixes=["csv"], max_mb=1)
    assert saved.parent == tmp_path and saved.name.endswith("-outside.csv")
    assert saved.read_bytes() == b"emotion,pixels,Usage\n"
    assert not (tmp_path.parent / "outside.csv").exists()


def test_dashboard_save_upload_refuses_empty_and_oversized_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="empty"):
        save_upload(FakeUpload("a.csv", b""), tmp_path, allowed_suffixes=["csv"], max_mb=1)
    with pytest.raises(DataError, match="limit"):
        save_upload(FakeUpload("a.csv", b"x" * 2048), tmp_path, allowed_suffixes=["csv"], max_mb=0.001)


# ---- issue 19: server-side size limits, quota and expiry ------------------------------------------------------------
@dataclass
class SizedUpload:
    """Like Streamlit's UploadedFile: reports `size`; reading it is what the check must avoid for big files."""

    name: str
    size: int

    def getvalue(self) -> bytes:
        raise AssertionError("the bytes of an oversized upload were read")


def test_dashboard_upload_limit_is_checked_on_the_server_before_reading(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"'photo.jpg' is 100.0 MB; the limit here is 15 MB"):
        upload_bytes(SizedUpload("photo.jpg", 100 * 2**20), 15)
    with pytest.raises(DataError, match="limit here is 400 MB"):
        save_upload(SizedUpload("big.zip", 401 * 2**20), tmp_path, allowed_suffixes=["zip"], max_mb=400)
    assert not list(tmp_path.iterdir())


def test_dashboard_upload_names_in_messages_are_printable(tmp_path: Path) -> None:
    with pytest.raises(DataError) as raised:
        sanitize_filename("\x1b[2Jevil\u202e.sh", allowed_suffixes=["zip"])
    assert "\x1b" not in str(raised.value) and "\u202e" not in str(raised.value)


def _aged(path: Path, hours: float, size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    moment = time.time() - hours * 3600
    os.utime(path, (moment, moment))
    return path


def test_dashboard_uploads_expire_and_keep_to_their_quota(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "uploads"
    expired = _aged(folder / "old-a.csv", 100, 10)
    oldest, middle, newest = (_aged(folder / f"{name}.csv", hours, 400 * 1024) for name, hours in
                              (("oldest", 3), ("middle", 2), ("newest", 1)))
    in_progress = _aged(folder / ".tmp-write.csv.tmp", 200, 10)
    monkeypatch.setenv("FER_UPLOAD_MAX_AGE_HOURS", "72")
    monkeypatch.setenv("FER_UPLOAD_QUOTA_MB", "1.2")  # room for two 400 kB files beside the new 300 kB one
    saved = save_upload(FakeUpload("new.csv", b"y" * 300 * 1024), folder, allowed_suffixes=["csv"], max_mb=1)
    left = sorted(path.name for path in folder.iterdir())
    assert not expired.exists() and not oldest.exists()
    assert middle.exists() and newest.exists() and saved.exists() and in_progress.exists(), left


def test_dashboard_a_new_upload_is_kept_even_over_the_quota(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FER_UPLOAD_QUOTA_MB", "0.1")
    saved = save_upload(FakeUpload("a.csv", b"z" * 200 * 1024), tmp_path, allowed_suffixes=["csv"], max_mb=1)
    assert saved.exists()


def test_dashboard_start_prunes_uploads_and_decoded_caches(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FER_CACHE_DIR", str(tmp_path / "cache"))
    stale_upload = _aged(uploads_root() / "datasets" / "abc-fer.zip", 80, 10)
    fresh_upload = _aged(uploads_root() / "datasets" / "def-fer.zip", 1, 10)
    stale_cache = _aged(dataset_cache_dir() / "fer-1.npz", 800, 10)
    big_caches = [_aged(dataset_cache_dir() / f"fer-{index}.npz", 10 - index, 600 * 1024) for index in range(2, 5)]
    monkeypatch.setenv("FER_DATA_CACHE_QUOTA_MB", "1.5")
    uploads.prune_storage_once.cache_clear()
    assert uploads_dir("datasets") == uploads_root() / "datasets"  # the first call of the process prunes
    assert not stale_upload.exists() and fresh_upload.exists() and not stale_cache.exists()
    assert [cache.exists() for cache in big_caches] == [False, True, True]  # oldest cache over the quota went
    fresh_upload.touch()
    os.utime(fresh_upload, (time.time() - 80 * 3600,) * 2)
    uploads_dir("datasets")  # later calls do not walk the folders again
    assert fresh_upload.exists()


def test_dashboard_streamlit_request_cap_is_the_largest_widget_limit() -> None:
    config = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == MAX_UPLOAD_MB == max(MAX_PHOTO_MB, MAX_DATASET_MB)
