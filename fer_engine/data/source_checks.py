"""Checks made on a dataset source before anything in it is opened: file type, sizes, folder walk, zip headers.

Special files (devices such as /dev/zero, FIFOs, sockets) are refused from `os.stat` alone, never opened;
sizes are checked before hashing; a folder is listed with bounds on entries and time; a zip's central
directory is checked for declared sizes and compression ratios before any member is decompressed.
"""

from __future__ import annotations

import logging
import os
import stat
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from fer_engine.data.limits import MB, DataLimits
from fer_engine.errors import DataError

log = logging.getLogger(__name__)

RATIO_CHECK_MIN_BYTES = 64 * 1024
"""Members smaller than this are not ratio-checked (a tiny blank PNG may compress 200:1 and costs nothing)."""


@dataclass(frozen=True)
class FolderFile:
    """A regular file found in a folder source: POSIX path relative to the folder, size and mtime."""

    name: str
    size: int
    mtime_ns: int


def source_kind(path: Path) -> str:
    """'file' or 'folder' from `os.stat` (symlinks followed, nothing opened); DataError for anything else."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise DataError(f"{path} does not exist") from None
    except OSError as exc:
        raise DataError(f"{path} cannot be examined ({exc.strerror or 'access refused'})") from None
    if stat.S_ISDIR(info.st_mode):
        return "folder"
    if stat.S_ISREG(info.st_mode):
        return "file"
    raise DataError(f"{path} is {_special_kind(info.st_mode)}, not a regular file or folder; "
                    "only regular files and folders are read as datasets")


def check_file_size(path: Path, limits: DataLimits) -> int:
    """The file's size; DataError when it is over the source limit (checked before any hashing or reading)."""
    size = os.stat(path).st_size
    if size > limits.max_source_bytes:
        raise DataError(f"{path} is {size / MB:,.0f} MB, over the {limits.max_source_bytes / MB:,.0f} MB limit "
                        "for a dataset file (FER_MAX_SOURCE_MB)")
    return size


def walk_folder(root: Path, limits: DataLimits) -> list[FolderFile]:
    """Regular files under `root`, sorted by name; bounded in entries, total size and time.

    Symbolic links and special files inside the folder are skipped unopened (a link could lead outside it).
    """
    deadline = time.monotonic() + limits.max_walk_seconds
    files: list[FolderFile] = []
    entries = total = skipped = 0
    pending = [""]
    while pending:
        relative = pending.pop()
        try:
            scanner = os.scandir(root / relative if relative else root)
        except OSError as exc:
            raise DataError(f"{root}: a folder inside it cannot be listed ({exc.strerror or 'access refused'})") from None
        with scanner:
            for entry in scanner:
                entries += 1
                if entries > limits.max_folder_entries:
                    raise DataError(f"{root} holds more than {limits.max_folder_entries:,} files and folders "
                                    "(FER_MAX_FOLDER_ENTRIES); point at the dataset's own folder")
                if entries % 1024 == 0 and time.monotonic() > deadline:
                    raise DataError(f"listing {root} took over {limits.max_walk_seconds:g} s (FER_MAX_WALK_SECONDS); "
                                    "point at the dataset's own folder")
                name = f"{relative}/{entry.name}" if relative else entry.name
                if entry.is_symlink():
                    skipped += 1
                elif entry.is_dir(follow_symlinks=False):
                    pending.append(name)
                elif entry.is_file(follow_symlinks=False):
                    info = entry.stat(follow_symlinks=False)
                    total += info.st_size
                    if total > limits.max_source_bytes:
                        raise DataError(f"{root} holds over {limits.max_source_bytes / MB:,.0f} MB of files "
                                        "(FER_MAX_SOURCE_MB); point at the dataset's own folder")
                    files.append(FolderFile(name, info.st_size, info.st_mtime_ns))
                else:
                    skipped += 1
    if time.monotonic() > deadline:
        raise DataError(f"listing {root} took over {limits.max_walk_seconds:g} s (FER_MAX_WALK_SECONDS)")
    if skipped:
        log.warning("%s: %d symbolic link(s) or special file(s) skipped", root, skipped)
    return sorted(files, key=lambda file: file.name)


def check_zip(archive: zipfile.ZipFile, where: str, limits: DataLimits) -> None:
    """Refuse a zip whose central directory declares too many members, too many bytes or a bomb-like ratio.

    Only the directory is read (no member is decompressed); `zipfile` itself never returns more bytes of
    a member than its declared size, so these declared sizes bound the work done later.
    """
    members = archive.infolist()
    if len(members) > limits.zip_max_members:
        raise DataError(f"{where} has {len(members):,} members, over the {limits.zip_max_members:,} limit "
                        "(FER_ZIP_MAX_MEMBERS)")
    total = compressed = 0
    for member in members:
        if member.file_size > limits.zip_max_member_bytes:
            raise DataError(f"{where}: a member declares {member.file_size / MB:,.0f} MB uncompressed, over the "
                            f"{limits.zip_max_member_bytes / MB:,.0f} MB limit (FER_ZIP_MAX_MEMBER_MB)")
        if member.file_size > RATIO_CHECK_MIN_BYTES and member.file_size > limits.zip_max_ratio * max(1, member.compress_size):
            raise DataError(f"{where}: a member expands {member.file_size / max(1, member.compress_size):,.0f} times "
                            f"when decompressed, over the {limits.zip_max_ratio:g} limit (FER_ZIP_MAX_RATIO): "
                            "a zip bomb or a damaged archive")
        total += member.file_size
        compressed += member.compress_size
    if total > limits.zip_max_total_bytes:
        raise DataError(f"{where} declares {total / MB:,.0f} MB uncompressed, over the "
                        f"{limits.zip_max_total_bytes / MB:,.0f} MB limit (FER_ZIP_MAX_TOTAL_MB)")
    if total > RATIO_CHECK_MIN_BYTES and total > limits.zip_max_ratio * max(1, compressed):
        raise DataError(f"{where} expands {total / max(1, compressed):,.0f} times when decompressed, over the "
                        f"{limits.zip_max_ratio:g} limit (FER_ZIP_MAX_RATIO): a zip bomb or a damaged archive")


def _special_kind(mode: int) -> str:
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"
