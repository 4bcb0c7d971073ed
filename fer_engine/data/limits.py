"""Limits on what a dataset source may cost to read (file sizes, folder walks, zip decompression) and on disk use.

Every limit has a default suited to FER2013 (a 64 MB zip of 35,887 small JPEGs, a 287 MB CSV) and an
environment variable to change it; they apply to the CLI and the dashboard alike (library level).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from fer_engine.errors import ConfigError

MB = 1024 * 1024


@dataclass(frozen=True)
class DataLimits:
    """Caps checked before any byte of a source is hashed, decompressed or decoded."""

    max_source_bytes: int
    """A CSV or zip file, and the sum of a folder's files (FER_MAX_SOURCE_MB)."""
    max_image_bytes: int
    """One image file of a folder or zip (FER_MAX_IMAGE_MB)."""
    max_folder_entries: int
    """Files and folders seen while walking a folder source (FER_MAX_FOLDER_ENTRIES)."""
    max_walk_seconds: float
    """Time to list a folder source (FER_MAX_WALK_SECONDS)."""
    zip_max_members: int
    """Members of a zip archive (FER_ZIP_MAX_MEMBERS)."""
    zip_max_member_bytes: int
    """Declared uncompressed size of one member (FER_ZIP_MAX_MEMBER_MB)."""
    zip_max_total_bytes: int
    """Declared uncompressed size of all members together (FER_ZIP_MAX_TOTAL_MB)."""
    zip_max_ratio: float
    """Uncompressed / compressed size of a member over 64 KiB and of the whole archive (FER_ZIP_MAX_RATIO)."""


DEFAULTS = {
    "FER_MAX_SOURCE_MB": 1024,
    "FER_MAX_IMAGE_MB": 20,
    "FER_MAX_FOLDER_ENTRIES": 250_000,
    "FER_MAX_WALK_SECONDS": 15,
    "FER_ZIP_MAX_MEMBERS": 250_000,
    "FER_ZIP_MAX_MEMBER_MB": 1024,
    "FER_ZIP_MAX_TOTAL_MB": 2048,
    "FER_ZIP_MAX_RATIO": 100,
    "FER_UPLOAD_QUOTA_MB": 2048,
    "FER_UPLOAD_MAX_AGE_HOURS": 72,
    "FER_DATA_CACHE_QUOTA_MB": 4096,
    "FER_DATA_CACHE_MAX_AGE_HOURS": 720,
}
"""Environment variable -> default; the one place the limits' names and defaults are written."""


def data_limits() -> DataLimits:
    """The limits in force now (environment variables read at each call, so tests and operators can change them)."""
    return DataLimits(
        max_source_bytes=int(env_number("FER_MAX_SOURCE_MB") * MB),
        max_image_bytes=int(env_number("FER_MAX_IMAGE_MB") * MB),
        max_folder_entries=int(env_number("FER_MAX_FOLDER_ENTRIES")),
        max_walk_seconds=env_number("FER_MAX_WALK_SECONDS"),
        zip_max_members=int(env_number("FER_ZIP_MAX_MEMBERS")),
        zip_max_member_bytes=int(env_number("FER_ZIP_MAX_MEMBER_MB") * MB),
        zip_max_total_bytes=int(env_number("FER_ZIP_MAX_TOTAL_MB") * MB),
        zip_max_ratio=env_number("FER_ZIP_MAX_RATIO"),
    )


def env_number(name: str) -> float:
    """A positive number from environment variable `name`, else its default."""
    text = os.environ.get(name, "").strip()
    if not text:
        return float(DEFAULTS[name])
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{name}={text!r} is not a number (default {DEFAULTS[name]})") from None
    if not value > 0:
        raise ConfigError(f"{name}={text!r} must be above 0 (default {DEFAULTS[name]})")
    return value
