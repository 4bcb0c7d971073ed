"""Read any photo a user drops on us (path, bytes, PIL, array) as an upright RGB uint8 array.

Handles EXIF orientation, transparency, palette, CMYK and 16-bit images; refuses decompression bombs
and unreadable files with a DataError that names the file.
"""

from __future__ import annotations

import io
import os
import re
import warnings
from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from fer_engine.data.preprocess import IMAGE_EXTENSIONS
from fer_engine.errors import DataError

MAX_IMAGE_PIXELS = 100_000_000
"""Largest image we decode (100 MP, ~300 MB as RGB); larger ones are refused as possible decompression bombs."""

ImageSource = str | os.PathLike | bytes | bytearray | Image.Image | np.ndarray


def describe_source(source: ImageSource) -> str:
    """A short human name for an image source, used in error messages and JSON output."""
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    if isinstance(source, (bytes, bytearray)):
        return f"<{len(source)} bytes>"
    if isinstance(source, Image.Image):
        return f"<PIL image {source.width}x{source.height}>"
    return f"<array {getattr(source, 'shape', '?')}>"


def read_rgb(source: ImageSource, *, max_pixels: int = MAX_IMAGE_PIXELS, name: str | None = None) -> np.ndarray:
    """An upright (EXIF applied) RGB uint8 (H, W, 3) array from a path, encoded bytes, PIL image or array.

    `name` is what error messages call the image (default: `describe_source`).
    """
    if isinstance(source, np.ndarray):
        return array_to_rgb(source)
    name = name or describe_source(source)
    if isinstance(source, Image.Image):
        return pil_to_rgb(source, name=name, max_pixels=max_pixels)
    if isinstance(source, (bytes, bytearray)):
        stream: BinaryIO = io.BytesIO(bytes(source))
    else:
        path = Path(source)
        if not path.is_file():
            raise DataError(f"'{name}' does not exist or is not a file")
        stream = open(path, "rb")
    try:
        with warnings.catch_warnings():
            # Pillow warns past ~89 MP and raises past ~179 MP; our own limit (checked below) decides instead.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            try:
                image = Image.open(stream)
            except UnidentifiedImageError as exc:
                raise DataError(f"'{name}' is not an image file that can be read (unknown or corrupt format)") from exc
            except Image.DecompressionBombError as exc:
                raise DataError(_bomb_message(name, str(exc), max_pixels)) from exc
            except OSError as exc:
                raise DataError(f"'{name}' cannot be read as an image: {exc}") from exc
            except Exception as exc:  # noqa: BLE001 - decoders raise ValueError, SyntaxError... on hostile headers
                raise DataError(
                    f"'{name}' is corrupt and cannot be read as an image ({type(exc).__name__}: {exc})"
                ) from exc
            orientation = _exif_orientation(image) if image.format == "JPEG" and image.mode == "RGB" else 0
            if 1 <= orientation <= 8:  # a colour JPEG with a readable orientation: the fast decoder
                check_pixel_limit(image.width, image.height, name=name, max_pixels=max_pixels)
                data = source if isinstance(source, (bytes, bytearray)) else _all_bytes(stream)
                rgb = opencv_jpeg(data, image.size, orientation)
                if rgb is not None:
                    return rgb
            return pil_to_rgb(image, name=name, max_pixels=max_pixels)
    finally:
        stream.close()


def opencv_jpeg(data: bytes | bytearray, size: tuple[int, int], orientation: int = 1) -> np.ndarray | None:
    """A complete colour JPEG of `size` (width, height) decoded by OpenCV, then turned upright by the EXIF
    `orientation` Pillow read from its header; None to leave the file to Pillow.

    Both use libjpeg-turbo and give the same pixels, but OpenCV's decode is ~4x cheaper than Pillow's load
    + convert + copy (benchmarks/predict_speed.py's decode stage). A file without its end-of-image marker
    (truncated) or whose decoded size differs from its header goes to Pillow, which names the problem.
    """
    if bytes(data[-2:]) != b"\xff\xd9":
        return None
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    if bgr is None or bgr.shape[:2] != (size[1], size[0]):
        return None
    return np.ascontiguousarray(EXIF_UPRIGHT.get(orientation, _unchanged)(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))


def _unchanged(rgb: np.ndarray) -> np.ndarray:
    return rgb


EXIF_UPRIGHT = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, k=-1),
    7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
    8: lambda a: np.rot90(a, k=1),
}
"""EXIF orientation -> the array operation that makes the photo upright (as ImageOps.exif_transpose does)."""


def _exif_orientation(image: Image.Image) -> int:
    """The EXIF orientation tag of an opened image: 1 (upright) when absent, -1 when its EXIF is unreadable."""
    try:
        return int(image.getexif().get(0x0112, 1))
    except Exception:  # noqa: BLE001 - a broken EXIF block: Pillow's own path decides what to do with it
        return -1


def _all_bytes(stream: BinaryIO) -> bytes:
    stream.seek(0)
    return stream.read()


def _bomb_message(name: str, pillow_message: str, max_pixels: int) -> str:
    """Our refusal message from Pillow's, which gives the pixel count but not the width and height."""
    found = re.search(r"\((\d+) pixels\)", pillow_message)
    size = f"{int(found.group(1)) / 1e6:.0f} MP" if found else "too large"
    return (
        f"'{name}': image is {size}, above the {max_pixels / 1e6:.0f} MP limit (refused as a possible "
        "decompression bomb); downscale it before predicting"
    )


def check_pixel_limit(width: int, height: int, *, name: str, max_pixels: int = MAX_IMAGE_PIXELS) -> None:
    """Refuse images above `max_pixels` before decoding them (a tiny file can expand to gigabytes)."""
    if width * height > max_pixels:
        raise DataError(
            f"'{name}': image is {width}x{height} = {width * height / 1e6:.0f} MP, above the "
            f"{max_pixels / 1e6:.0f} MP limit; downscale it before predicting"
        )


def pil_to_rgb(image: Image.Image, *, name: str = "<image>", max_pixels: int = MAX_IMAGE_PIXELS) -> np.ndarray:
    """Decode a PIL image to upright RGB uint8, whatever its mode (alpha composited on white)."""
    check_pixel_limit(image.width, image.height, name=name, max_pixels=max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image.load()
            image = ImageOps.exif_transpose(image)
    except Image.DecompressionBombError as exc:
        raise DataError(_bomb_message(name, str(exc), max_pixels)) from exc
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001 - truncated data, broken chunks, oversized text chunks
        raise DataError(
            f"'{name}' is truncated or corrupt and cannot be decoded ({type(exc).__name__}: {exc})"
        ) from exc
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        return array_to_rgb(_wide_to_uint8(np.asarray(image)))
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))


def array_to_rgb(array: np.ndarray) -> np.ndarray:
    """A (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) array as RGB uint8 (alpha composited on white)."""
    array = np.asarray(array)
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
        raise DataError(f"an image array must be (H, W), (H, W, 3) or (H, W, 4), not {array.shape}")
    if array.dtype != np.uint8:
        array = _wide_to_uint8(array)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    elif array.shape[2] == 4:
        alpha = array[:, :, 3:4].astype(np.float32) / 255.0
        array = (array[:, :, :3] * alpha + 255.0 * (1.0 - alpha)).round().astype(np.uint8)
    return np.ascontiguousarray(array)


def _wide_to_uint8(array: np.ndarray) -> np.ndarray:
    """16-bit / 32-bit / float pixels to uint8: uint16 and values above 255 are scaled, floats in [0, 1] too."""
    if array.dtype == np.uint8:
        return array
    values = array.astype(np.float64)
    if np.issubdtype(array.dtype, np.floating):
        top = 1.0 if values.size and np.nanmax(values) <= 1.0 else 255.0
    elif array.dtype == np.uint16 or (values.size and values.max() > 255):
        top = 65535.0 if not values.size or values.max() <= 65535 else float(values.max())
    else:
        top = 255.0
    return np.clip(np.nan_to_num(values) * (255.0 / top), 0, 255).round().astype(np.uint8)


def find_image_files(inputs: list[str | os.PathLike]) -> list[Path]:
    """Expand the inputs: files are kept as given (even non-images, so they can be reported), folders walked."""
    found: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
        else:
            found.append(path)
    return found
