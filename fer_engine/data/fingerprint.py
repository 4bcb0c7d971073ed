"""Content fingerprints of dataset sources, so a cache entry is reused exactly when the source is unchanged."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable

from fer_engine.data.source_checks import FolderFile


def file_fingerprint(path: str | os.PathLike) -> str:
    """sha256 hex of a file's whole bytes (callers check kind and size first: see `source_checks`)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def folder_fingerprint(files: Iterable[FolderFile]) -> str:
    """Hash of every file's relative path, size and mtime (nanoseconds): cheap, and any edit changes it."""
    digest = hashlib.sha256()
    for entry in sorted(f"{file.name}\0{file.size}\0{file.mtime_ns}" for file in files):
        digest.update(entry.encode("utf-8", "surrogateescape") + b"\n")
    return digest.hexdigest()
