"""Uploaded files: sanitised names, size limits checked on the server, saved under the uploads folder with a
quota and an expiry (never where the user named it)."""

from __future__ import annotations

import functools
import hashlib
import os
import re
from pathlib import Path
from typing import Protocol

from fer_engine.data.cache import dataset_cache_dir
from fer_engine.data.disk_quota import dataset_cache_quota, prune_files, uploads_quota
from fer_engine.errors import DataError
from fer_engine.io_utils import atomic_write_bytes
from fer_engine.paths import uploads_root

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class UploadedFileLike(Protocol):
    name: str

    def getvalue(self) -> bytes: ...


def sanitize_filename(name: str, *, allowed_suffixes: list[str] | None = None, max_length: int = 80) -> str:
    """A file name safe to create: basename only, [A-Za-z0-9._-], no leading dot, allowed suffix, bounded length."""
    base = Path(str(name).replace("\\", "/")).name
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    suffix = suffix.lower()
    if allowed_suffixes is not None and suffix not in allowed_suffixes:
        raise DataError(f"'{_shown_name(base)}' is not an accepted file type (accepted: {', '.join(allowed_suffixes)})")
    stem = _UNSAFE.sub("_", stem).strip("._-")[:max_length] or "upload"
    return f"{stem}.{suffix}" if suffix else stem


def upload_bytes(uploaded: UploadedFileLike, max_mb: float) -> bytes:
    """The upload's bytes, or a DataError naming the file when it is empty or over `max_mb`.

    The browser's per-widget limit is advisory (a direct request skips it): this is the server-side check.
    Streamlit's UploadedFile reports its `size` without copying; other objects are measured.
    """
    limit = max_mb * 1024 * 1024
    size = getattr(uploaded, "size", None)
    if isinstance(size, int) and size > limit:
        raise DataError(f"'{_shown_name(uploaded.name)}' is {size / 2**20:.1f} MB; the limit here is {max_mb:g} MB")
    data = uploaded.getvalue()
    if not data:
        raise DataError(f"'{_shown_name(uploaded.name)}' is empty")
    if len(data) > limit:
        raise DataError(
            f"'{_shown_name(uploaded.name)}' is {len(data) / 2**20:.1f} MB; the limit here is {max_mb:g} MB"
        )
    return data


def save_upload(uploaded: UploadedFileLike, folder: Path, *, allowed_suffixes: list[str], max_mb: float) -> Path:
    """Write an upload into `folder` as <content-hash>-<sanitised name>; identical uploads reuse one file.

    Afterwards the uploads and decoded caches are pruned to their quota and expiry (this upload kept).
    """
    name = sanitize_filename(uploaded.name, allowed_suffixes=allowed_suffixes)
    data = upload_bytes(uploaded, max_mb)
    digest = hashlib.sha256(data).hexdigest()[:12]
    target = Path(folder) / f"{digest}-{name}"
    if target.exists():
        os.utime(target)  # a reused upload counts as new for the expiry
    else:
        atomic_write_bytes(target, data)
    prune_storage(keep=[target], uploads=Path(folder))
    return target


def prune_storage(*, keep: list[Path] | None = None, uploads: Path | None = None) -> list[Path]:
    """Apply the quotas and expiries (FER_UPLOAD_*, FER_DATA_CACHE_*) to uploads (`uploads`, default the whole
    uploads folder) and decoded dataset caches; returns the files removed."""
    removed = prune_files(uploads or uploads_root(), uploads_quota(), keep=keep or [])
    cache = dataset_cache_dir()
    if cache.is_dir():
        removed += prune_files(cache, dataset_cache_quota())
    return removed


@functools.cache
def prune_storage_once() -> int:
    """Prune once per server process (called when the dashboard starts serving); the count removed."""
    return len(prune_storage())


def _shown_name(name: str) -> str:
    """An uploaded file's name as shown in a message: printable and bounded."""
    return "".join(char if char.isprintable() else "?" for char in Path(str(name).replace("\\", "/")).name)[:80]
