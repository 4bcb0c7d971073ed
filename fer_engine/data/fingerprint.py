"""Content fingerprints of dataset sources, so a cache entry is reused exactly when the source is unchanged."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def source_fingerprint(path: str | os.PathLike) -> str:
    """sha256 hex of a file's whole bytes, or of a folder's sorted (relative path, size, mtime) listing."""
    path = Path(path)
    if path.is_dir():
        return _folder_fingerprint(path)
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _folder_fingerprint(root: Path) -> str:
    """Hash of every file's relative path, size and mtime (nanoseconds): cheap, and any edit changes it."""
    entries = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in files:
            full = os.path.join(folder, name)
            stat = os.stat(full)
            entries.append(f"{os.path.relpath(full, root)}\0{stat.st_size}\0{stat.st_mtime_ns}")
    digest = hashlib.sha256()
    for entry in sorted(entries):
        digest.update(entry.encode("utf-8", "surrogateescape") + b"\n")
    return digest.hexdigest()
