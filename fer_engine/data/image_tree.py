"""Read `<class>/<image>` trees (a folder, or a .zip read in place) into labelled FER gray images.

Layouts, after stripping wrapper folders that every file shares (e.g. `fer2013/`):
- `<split>/<class>/<image>`: split folders train/training -> train, val/valid/validation/publictest -> val,
  test/testing/privatetest -> test. This is the msambare FER2013 release (train/, test/).
- `<class>/<image>`: every image is train.
A FER2013 file-name prefix (`Training_`, `PublicTest_`, `PrivateTest_`) always decides the split, whatever the
folder: msambare's test/ holds both PublicTest (val) and PrivateTest (test) images. Without a prefix the folder
decides, so a plain `test/` folder is test and the loader draws val from train.
Class folders whose names are all FER2013 names (any case, or an alias of `fer_engine.classes.CLASS_NAME_ALIASES`
such as `surprised`) get the canonical FER ids; otherwise the classes are the sorted folder names (another
dataset; `fer evaluate` maps them through the same aliases). A class folder that is
not a FER name in a layout with FER prefixes is a bad item. Files at the top level (README, LICENSE ...) and
hidden/OS files are ignored.
"""

from __future__ import annotations

import os
import re
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

import numpy as np

from fer_engine.classes import FER_CLASS_NAMES, USAGE_TO_SPLIT, canonical_class_name
from fer_engine.data.bad_items import BadItemPolicy
from fer_engine.data.limits import MB, DataLimits
from fer_engine.data.preprocess import FER_IMAGE_SIZE, IMAGE_EXTENSIONS, decode_image_bytes
from fer_engine.data.raw_images import RawImages
from fer_engine.data.source_checks import FolderFile, check_zip
from fer_engine.errors import DataError

USAGE_PREFIX = re.compile(r"^(Training|PublicTest|PrivateTest)_")

SPLIT_FOLDERS: dict[str, str] = {
    "train": "train", "training": "train",
    "val": "val", "valid": "val", "validation": "val", "publictest": "val",
    "test": "test", "testing": "test", "privatetest": "test",
}  # fmt: skip


_IGNORED_NAMES = frozenset({"thumbs.db", "desktop.ini", ".ds_store"})
_DECODE_CHUNK = 512


@dataclass
class ImageEntry:
    """One image of the tree: its key (path inside the source), split and class folder name."""

    key: str
    split: str
    class_folder: str


class ImageTree:
    """A folder or a zip archive seen as relative POSIX file names plus a thread-safe, size-bounded `read(name)`.

    A folder's files come from `source_checks.walk_folder` (bounded, links and special files skipped); a zip's
    central directory is checked by `source_checks.check_zip` before any member is read.
    """

    def __init__(self, path: Path, limits: DataLimits, files: list[FolderFile] | None = None) -> None:
        self.path = path
        self.limits = limits
        self.is_zip = files is None
        self._local = threading.local()
        self._archives: list[zipfile.ZipFile] = []
        if self.is_zip:
            with zipfile.ZipFile(path) as archive:
                check_zip(archive, path.name, limits)
                self._sizes = {info.filename: info.file_size for info in archive.infolist() if not info.is_dir()}
        else:
            self._sizes = {file.name: file.size for file in files or []}
        self.names = list(self._sizes)

    def where(self, name: str) -> str:
        """How an error message names file `name`: a real path, or `archive.zip:member`."""
        return f"{self.path.name}:{name}" if self.is_zip else str(self.path / name)

    def size(self, name: str) -> int:
        """Size in bytes of file `name` (a zip member's declared uncompressed size)."""
        return self._sizes[name]

    def read(self, name: str) -> bytes:
        """Bytes of image file `name`, never more than the image limit; each thread keeps its own ZipFile handle."""
        limit = self.limits.max_image_bytes
        if self.size(name) > limit:
            raise DataError(f"{self.size(name) / MB:,.1f} MB, over the {limit / MB:g} MB image limit (FER_MAX_IMAGE_MB)")
        if not self.is_zip:
            with open(self.path / name, "rb") as handle:
                data = handle.read(limit + 1)
        else:
            archive = getattr(self._local, "archive", None)
            if archive is None:
                archive = self._local.archive = zipfile.ZipFile(self.path)
                self._archives.append(archive)
            with archive.open(name) as member:
                data = member.read(limit + 1)
        if len(data) > limit:  # the file grew since it was listed
            raise DataError(f"over the {limit / MB:g} MB image limit (FER_MAX_IMAGE_MB)")
        return data

    def open(self, name: str) -> IO[bytes]:
        """A binary stream of file `name` (for large members such as a CSV, within the checked limits)."""
        if not self.is_zip:
            return open(self.path / name, "rb")
        archive = zipfile.ZipFile(self.path)
        self._archives.append(archive)
        return archive.open(name)

    def close(self) -> None:
        """Close the per-thread zip handles."""
        for archive in self._archives:
            archive.close()
        self._archives.clear()

    def __enter__(self) -> "ImageTree":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_image_tree(tree: ImageTree, policy: BadItemPolicy, size: int = FER_IMAGE_SIZE) -> RawImages:
    """Interpret the tree's layout, decode every image in parallel and label it (bad items go to `policy`)."""
    entries = _layout_entries(tree, policy)
    class_names = _class_names(tree, entries, policy)
    class_ids = {name: index for index, name in enumerate(class_names)}
    entries = [entry for entry in entries if _class_id(entry.class_folder, class_names, class_ids) is not None]
    decoded = _decode_all(tree, [entry.key for entry in entries], size)
    images, kept = [], []
    for entry, result in zip(entries, decoded):
        if isinstance(result, str):
            policy.report(tree.where(entry.key), result)
        else:
            images.append(result)
            kept.append(entry)
    if not kept:
        raise DataError(f"no readable images in {tree.path} ({len(policy.skipped)} skipped)")
    return RawImages(
        images=np.stack(images),
        labels=np.array([_class_id(e.class_folder, class_names, class_ids) for e in kept], dtype=np.int64),
        keys=np.array([e.key for e in kept], dtype=str),
        split_names=np.array([e.split for e in kept], dtype=str),
        class_names=class_names,
        source_format="image-zip" if tree.is_zip else "image-folder",
    )


def _is_ignored(parts: tuple[str, ...]) -> bool:
    return any(part.startswith(".") or part == "__MACOSX" or part.lower() in _IGNORED_NAMES for part in parts)


def _layout_entries(tree: ImageTree, policy: BadItemPolicy) -> list[ImageEntry]:
    """Entries of every image file, by the layout rules of the module docstring."""
    paths = [PurePosixPath(name) for name in tree.names]
    paths = [path for path in paths if not _is_ignored(path.parts)]
    images = [path for path in paths if path.suffix.lower() in IMAGE_EXTENSIONS]
    if not images:
        raise DataError(f"{tree.path} holds no image files: expected <class>/<image> or <split>/<class>/<image>")
    skip = 0  # leading wrapper folders shared by every image (e.g. fer2013/)
    while all(len(path.parts) >= skip + 3 for path in images) and len({path.parts[skip] for path in images}) == 1:
        if images[0].parts[skip].lower() in SPLIT_FOLDERS:
            break
        skip += 1
    wrapper = images[0].parts[:skip]
    # Files directly under the root (README, LICENSE ...) or outside the wrapper are not data.
    nested = [path for path in paths if path.parts[:skip] == wrapper and len(path.parts) > skip + 1]
    tops = {path.parts[skip] for path in nested}
    split_tops = {top for top in tops if top.lower() in SPLIT_FOLDERS}
    if split_tops and split_tops != tops:
        raise DataError(
            f"{tree.path}: top-level folders mix split names ({', '.join(sorted(split_tops))}) and others "
            f"({', '.join(sorted(tops - split_tops))}); expected either <split>/<class>/<image> with split folders "
            "train, val/validation, test, or <class>/<image>"
        )
    depth = skip + (3 if split_tops else 2)
    entries = []
    for path in sorted(nested):
        is_image = path.suffix.lower() in IMAGE_EXTENSIONS
        if len(path.parts) != depth:
            if is_image:
                expected = "<split>/<class>/<image>" if split_tops else "<class>/<image>"
                policy.report(tree.where(str(path)), f"image outside the {expected} layout")
            continue
        if not is_image:
            policy.report(tree.where(str(path)), f"not an image file (suffix '{path.suffix}')")
            continue
        prefix = USAGE_PREFIX.match(path.name)
        if prefix:
            split = USAGE_TO_SPLIT[prefix.group(1)]
        elif split_tops:
            split = SPLIT_FOLDERS[path.parts[skip].lower()]
        else:
            split = "train"
        entries.append(ImageEntry(key=str(path), split=split, class_folder=path.parts[-2]))
    if not entries:
        raise DataError(f"no images found in class folders of {tree.path}: expected <class>/<image> or <split>/<class>/<image>")
    return entries


def _class_names(tree: ImageTree, entries: list[ImageEntry], policy: BadItemPolicy) -> tuple[str, ...]:
    """FER names in canonical order when the folders are FER classes, else the sorted folder names."""
    folders = sorted({entry.class_folder for entry in entries})
    has_usage_prefix = any(USAGE_PREFIX.match(PurePosixPath(entry.key).name) for entry in entries)
    unknown = [folder for folder in folders if canonical_class_name(folder) is None]
    if not unknown:
        return FER_CLASS_NAMES
    if has_usage_prefix:  # a FER2013 release with a stray class folder
        for entry in entries:
            if entry.class_folder in unknown:
                policy.report(
                    tree.where(entry.key),
                    f"unknown class folder '{entry.class_folder}' (FER2013 classes: {', '.join(FER_CLASS_NAMES)})",
                )
        return FER_CLASS_NAMES
    return tuple(folders)


def _class_id(folder: str, class_names: tuple[str, ...], class_ids: dict[str, int]) -> int | None:
    if class_names is FER_CLASS_NAMES:
        canonical = canonical_class_name(folder)
        return None if canonical is None else class_ids[canonical]
    return class_ids.get(folder)


def _decode_all(tree: ImageTree, names: list[str], size: int) -> list[np.ndarray | str]:
    """Decoded images (or an error reason) for `names`, in order, using a small thread pool."""
    chunks = [names[start : start + _DECODE_CHUNK] for start in range(0, len(names), _DECODE_CHUNK)]
    workers = max(1, min(8, os.cpu_count() or 1, len(chunks)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return [result for chunk in pool.map(lambda c: [_decode_one(tree, n, size) for n in c], chunks) for result in chunk]


def _decode_one(tree: ImageTree, name: str, size: int) -> np.ndarray | str:
    try:
        data = tree.read(name)
    except (DataError, OSError, zipfile.BadZipFile) as exc:
        return f"cannot read file ({exc})"
    if not data:
        return "empty file"
    try:
        return decode_image_bytes(data, size)
    except Exception as exc:  # PIL raises many types (OSError, SyntaxError, ValueError ...) for corrupt data
        return f"cannot decode image ({type(exc).__name__}: {exc})"
