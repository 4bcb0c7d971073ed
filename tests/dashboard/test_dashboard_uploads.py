"""Upload handling of the dashboard: names never reach the filesystem unsanitised, sizes are bounded."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import _fixtures_dashboard  # noqa: F401  (puts the repository root on sys.path for `dashboard`)
import pytest

from dashboard.components.uploads import sanitize_filename, save_upload
from fer_engine.errors import DataError


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
