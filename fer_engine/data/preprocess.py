"""The one conversion from any picture to a FER2013-style (48, 48) uint8 grayscale face image.

Used for training data (every loader form) and for face crops at prediction time, so both see
exactly the same luminance formula, crop and resampling.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image, ImageOps

FER_IMAGE_SIZE = 48

# ITU-R BT.601 luma, the formula of PIL's "L" mode, OpenCV's cvtColor and JPEG's Y channel.
_LUMA_RGB = np.array([0.299, 0.587, 0.114], dtype=np.float32)

IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pnm", ".pbm"}
)
"""File suffixes (lower case) read as images by the loaders."""


def to_fer_gray(image: Image.Image | np.ndarray, size: int = FER_IMAGE_SIZE, *, bgr: bool = False) -> np.ndarray:
    """Convert a PIL image or numpy array of any size/mode to a (size, size) uint8 luminance image.

    Colour becomes BT.601 luminance (alpha is dropped), 16-bit and float ranges are scaled to 0-255,
    a non-square image is centre-cropped to a square (keeps face proportions), and the square is
    resized with area averaging when shrinking (antialiased) or bilinear when enlarging.
    Numpy arrays are (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) in RGB(A) order; pass `bgr=True` for OpenCV frames.
    """
    if isinstance(image, Image.Image):
        gray = _pil_luminance(image)
    elif isinstance(image, np.ndarray):
        gray = _array_luminance(image, bgr=bgr)
    else:
        raise TypeError(f"to_fer_gray expects a PIL image or a numpy array, got {type(image).__name__}")
    if gray.dtype == np.uint8 and gray.shape == (size, size):
        return np.ascontiguousarray(gray)
    return _square_resize(gray, size)


def decode_image_bytes(data: bytes, size: int = FER_IMAGE_SIZE) -> np.ndarray:
    """Decode an encoded image (JPEG, PNG, ...) to a FER gray image; raises OSError/ValueError if corrupt."""
    with Image.open(io.BytesIO(data)) as image:
        if image.format == "JPEG":
            # Let libjpeg decode the luminance plane at a reduced scale (>= size): much cheaper for big photos.
            image.draft("L", (size, size))
        image.load()  # surfaces truncated / corrupt data here, not later
        # Camera photos: honour the orientation tag (skipped cheaply otherwise).
        upright = ImageOps.exif_transpose(image) if "exif" in image.info else image
        return to_fer_gray(upright, size)


def _pil_luminance(image: Image.Image) -> np.ndarray:
    """Luminance as uint8 (when already 8-bit gray) or float32 in 0-255."""
    mode = image.mode
    if mode == "L":
        return np.asarray(image)
    if mode in ("LA", "La"):
        return np.asarray(image.getchannel("L"))
    if mode == "1":
        return np.asarray(image.convert("L"))
    if mode.startswith("I") or mode == "F":
        return _scale_to_255(np.asarray(image))
    if mode not in ("RGB", "RGBA", "RGBa", "RGBX"):
        image = image.convert("RGBA" if "A" in image.getbands() or "transparency" in image.info else "RGB")
    return _array_luminance(np.asarray(image), bgr=False)


def _array_luminance(array: np.ndarray, *, bgr: bool) -> np.ndarray:
    """Luminance of an (H, W[, C]) array as uint8 (gray uint8 input) or float32 in 0-255."""
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim == 2:
        return array if array.dtype == np.uint8 else _scale_to_255(array)
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise ValueError(f"expected an (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) image array, got shape {array.shape}")
    colour = _scale_to_255(array[:, :, :3])
    weights = _LUMA_RGB[::-1] if bgr else _LUMA_RGB
    return colour @ weights


def _scale_to_255(array: np.ndarray) -> np.ndarray:
    """Float32 copy in 0-255: 8-bit as is, 16-bit divided by 257, floats in [0, 1] multiplied by 255."""
    if array.dtype == np.bool_:
        return array.astype(np.float32) * 255.0
    values = array.astype(np.float32)
    if np.issubdtype(array.dtype, np.floating):
        finite = values[np.isfinite(values)]
        if finite.size and finite.max() <= 1.0:
            values = values * 255.0
        return np.nan_to_num(values, nan=0.0, posinf=255.0, neginf=0.0)
    if array.dtype == np.uint16 or (array.dtype != np.uint8 and array.size and int(array.max()) > 255):
        return values / 257.0  # 16-bit data (or wider ints holding it)
    return values


def _square_resize(gray: np.ndarray, size: int) -> np.ndarray:
    """Centre-crop to a square, resize to (size, size), round to uint8."""
    height, width = gray.shape
    if height == 0 or width == 0:
        raise ValueError("empty image")
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square: np.ndarray = np.ascontiguousarray(gray[top : top + side, left : left + side], dtype=np.float32)
    if side != size:
        interpolation = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
        square = cv2.resize(square, (size, size), interpolation=interpolation)
    return np.clip(np.rint(square), 0, 255).astype(np.uint8)
