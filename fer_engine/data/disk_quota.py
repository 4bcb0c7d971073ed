"""Quota and expiry of rebuildable files (uploads, decoded dataset caches): oldest files go first."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from fer_engine.data.limits import MB, env_number

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Quota:
    """At most `max_bytes` in a folder, and nothing older than `max_age_seconds` (by modification time)."""

    max_bytes: int
    max_age_seconds: float


def uploads_quota() -> Quota:
    """Uploaded files (`FER_UPLOAD_QUOTA_MB`, `FER_UPLOAD_MAX_AGE_HOURS`)."""
    return Quota(int(env_number("FER_UPLOAD_QUOTA_MB") * MB), env_number("FER_UPLOAD_MAX_AGE_HOURS") * 3600)


def dataset_cache_quota() -> Quota:
    """Decoded dataset caches (`FER_DATA_CACHE_QUOTA_MB`, `FER_DATA_CACHE_MAX_AGE_HOURS`)."""
    return Quota(int(env_number("FER_DATA_CACHE_QUOTA_MB") * MB), env_number("FER_DATA_CACHE_MAX_AGE_HOURS") * 3600)


def prune_files(folder: Path, quota: Quota, *, keep: Iterable[Path] = (), now: float | None = None) -> list[Path]:
    """Delete expired files under `folder`, then the oldest until the rest fit the quota; returns what went.

    Hidden files (temporary files of atomic writes in progress) and `keep` are never deleted.
    """
    now = time.time() if now is None else now
    kept = {Path(path).resolve() for path in keep}
    files = []
    for path in Path(folder).rglob("*"):
        try:
            info = path.lstat()
        except OSError:
            continue
        if path.is_file() and not path.is_symlink() and not path.name.startswith("."):
            files.append((info.st_mtime, info.st_size, path))
    files.sort()  # oldest first
    total = sum(size for _, size, _ in files)
    removed = []
    for mtime, size, path in files:
        expired = now - mtime > quota.max_age_seconds
        if (expired or total > quota.max_bytes) and path.resolve() not in kept:
            try:
                path.unlink()
            except OSError as exc:
                log.warning("could not remove %s: %s", path, exc)
                continue
            total -= size
            removed.append(path)
    if removed:
        log.info("removed %d file(s) from %s (quota %.0f MB, expiry %.0f h)", len(removed), folder,
                 quota.max_bytes / MB, quota.max_age_seconds / 3600)
    return removed
