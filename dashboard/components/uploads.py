"""Uploaded files: sanitised names, size limits, saved under the cache folder (never where the user named it)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Protocol

from fer_engine.errors import DataError
from fer_engine.io_utils import atomic_write_bytes

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
        raise DataError(f"'{base}' is not an accepted file type (accepted: {', '.join(allowed_suffixes)})")
    stem = _UNSAFE.sub("_", stem).strip("._-")[:max_length] or "upload"
    return f"{stem}.{suffix}" if suffix else stem


def upload_bytes(uploaded: UploadedFileLike, max_mb: float) -> bytes:
    """The upload's bytes, or a DataError naming the file when it is empty or over `max_mb`."""
    data = uploaded.getvalue()
    if not data:
        raise DataError(f"'{uploaded.name}' is empty")
    if len(data) > max_mb * 1024 * 1024:
        raise DataError(f"'{uploaded.name}' is {len(data) / 2**20:.1f} MB; the limit here is {max_mb:g} MB")
    return data


def save_upload(uploaded: UploadedFileLike, folder: Path, *, allowed_suffixes: list[str], max_mb: float) -> Path:
    """Write an upload into `folder` as <content-hash>-<sanitised name>; identical uploads reuse one file."""
    name = sanitize_filename(uploaded.name, allowed_suffixes=allowed_suffixes)
    data = upload_bytes(uploaded, max_mb)
    digest = hashlib.sha256(data).hexdigest()[:12]
    target = Path(folder) / f"{digest}-{name}"
    if not target.exists():
        atomic_write_bytes(target, data)
    return target
