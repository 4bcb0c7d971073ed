"""Small generated FER-like datasets for tests and demos: every published layout, learnable class patterns."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from fer_engine.classes import FER_CLASS_NAMES

# Split -> (FER2013 Usage name, image-folder top folder).
_LAYOUT = {"train": ("Training", "train"), "val": ("PublicTest", "test"), "test": ("PrivateTest", "test")}


def synthetic_images(n_per_class: int, seed: int = 0, size: int = 48, num_classes: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """(N, size, size) uint8 images and labels; class k is a blob at a class-specific place plus noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    images, labels = [], []
    for label in range(num_classes):
        angle = 2 * np.pi * label / num_classes
        cy, cx = 0.5 + 0.28 * np.sin(angle), 0.5 + 0.28 * np.cos(angle)
        for _ in range(n_per_class):
            jy, jx = rng.normal(0, 0.04, size=2)
            blob = np.exp(-(((yy - cy - jy) ** 2) + ((xx - cx - jx) ** 2)) / 0.015)
            image = 60 + 150 * blob + rng.normal(0, 18, size=(size, size))
            images.append(np.clip(image, 0, 255).astype(np.uint8))
            labels.append(label)
    return np.stack(images), np.asarray(labels, dtype=np.int64)


def _jpeg_bytes(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def write_image_folder(
    root: str | Path,
    n_per_class: dict[str, int] | int = 6,
    *,
    as_zip: bool = False,
    seed: int = 0,
    with_usage_prefix: bool = True,
) -> Path:
    """Write the msambare image-folder layout (train/<class>/Training_<id>.jpg, test/<class>/PublicTest_<id>.jpg ...).

    `n_per_class` maps split -> images per class (default train 6, val 3); returns the folder or .zip path.
    """
    counts = n_per_class if isinstance(n_per_class, dict) else {"train": n_per_class, "val": max(1, n_per_class // 2)}
    files: dict[str, bytes] = {}
    next_id = 10_000
    for split_index, (split, count) in enumerate(counts.items()):
        usage, top = _LAYOUT[split]
        images, labels = synthetic_images(count, seed=seed + split_index)
        for image, label in zip(images, labels):
            name = f"{usage}_{next_id}.jpg" if with_usage_prefix else f"{next_id}.jpg"
            files[f"{top}/{FER_CLASS_NAMES[label]}/{name}"] = _jpeg_bytes(image)
            next_id += 1
    return _write_files(Path(root), files, as_zip)


def write_class_folder(
    root: str | Path,
    classes: dict[str, int],
    n_per_class: int = 4,
    *,
    as_zip: bool = False,
    seed: int = 0,
) -> Path:
    """Write another dataset's plain `<class>/<image>.png` tree, spelled its own way (no split folders).

    `classes` maps each class folder name (e.g. 'Anger', 'contempt') to the FER class id whose pattern its
    images show, so a test knows every image's true FER class; returns the folder or .zip path.
    """
    images, labels = synthetic_images(n_per_class, seed=seed)
    files: dict[str, bytes] = {}
    for folder, label in classes.items():
        for index, image in enumerate(images[labels == label]):
            buffer = io.BytesIO()
            Image.fromarray(image).save(buffer, format="PNG")
            files[f"{folder}/{folder.lower()}_{index:03d}.png"] = buffer.getvalue()
    return _write_files(Path(root), files, as_zip)


def _write_files(root: Path, files: dict[str, bytes], as_zip: bool) -> Path:
    """Write `files` (relative name -> bytes) under folder `root`, or into the zip `root` (.zip added)."""
    if as_zip:
        zip_path = root if root.suffix == ".zip" else root.with_suffix(".zip")
        zip_path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(zip_path, "w") as archive:
            for name, data in files.items():
                archive.writestr(name, data)
        return zip_path
    for name, data in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return root


def write_fer_csv(
    path: str | Path,
    n_per_class: dict[str, int] | int = 6,
    *,
    seed: int = 0,
    icml_variant: bool = False,
) -> Path:
    """Write a Kaggle `fer2013.csv` (emotion,pixels,Usage) or the `icml_face_data.csv` variant (emotion, Usage, pixels)."""
    counts = n_per_class if isinstance(n_per_class, dict) else {"train": n_per_class, "val": max(1, n_per_class // 2), "test": max(1, n_per_class // 2)}
    lines = ["emotion, Usage, pixels" if icml_variant else "emotion,pixels,Usage"]
    for split_index, (split, count) in enumerate(counts.items()):
        usage = _LAYOUT[split][0]
        images, labels = synthetic_images(count, seed=seed + split_index)
        for image, label in zip(images, labels):
            pixels = " ".join(str(int(v)) for v in image.ravel())
            lines.append(f"{label},{usage},{pixels}" if icml_variant else f"{label},{pixels},{usage}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def write_zip_bomb(path: str | Path, member: str, uncompressed_mib: int, *, extra_members: dict[str, bytes] | None = None
                   ) -> Path:
    """A zip whose one deflated member of zeros declares `uncompressed_mib` MiB (< 4096) in a few kB per GiB.

    Made for tests of bounded decompression: the deflate stream is one compressed MiB of zeros repeated
    (full-flush blocks are independent), so 2 GiB costs about a second (the CRC) instead of compressing it.
    `extra_members` are stored as they are before the bomb (e.g. a real image beside it).
    """
    import struct
    import zlib

    if not 0 < uncompressed_mib < 4096:
        raise ValueError("uncompressed_mib must be in 1..4095 (no zip64 here)")
    zeros = bytes(1 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    final = zlib.compressobj(9, zlib.DEFLATED, -15).flush()  # an empty last block closes the stream
    crc = 0
    for _ in range(uncompressed_mib):
        crc = zlib.crc32(zeros, crc)
    # (name, stored bytes or None for the bomb, method, crc32, compressed size, uncompressed size)
    entries: list[tuple[str, bytes | None, int, int, int, int]] = [
        (name, data, 0, zlib.crc32(data), len(data), len(data)) for name, data in (extra_members or {}).items()]
    entries.append((member, None, 8, crc, len(block) * uncompressed_mib + len(final), uncompressed_mib << 20))
    path = Path(path)
    central, offset = b"", 0
    with open(path, "wb") as handle:
        for name, data, method, crc32, compressed, size in entries:
            encoded = name.encode()
            header = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21, crc32, compressed, size,
                                 len(encoded), 0) + encoded
            handle.write(header)
            if data is None:
                for _ in range(uncompressed_mib):
                    handle.write(block)
                handle.write(final)
            else:
                handle.write(data)
            central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0x21, crc32, compressed,
                                   size, len(encoded), 0, 0, 0, 0, 0, offset) + encoded
            offset += len(header) + compressed
        handle.write(central)
        handle.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central), offset, 0))
    return path
