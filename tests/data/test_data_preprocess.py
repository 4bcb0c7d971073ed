"""to_fer_gray: every PIL mode / array dtype becomes the same 48x48 uint8 luminance image."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from fer_engine.data.preprocess import decode_image_bytes, to_fer_gray


def _gradient(size: int = 96) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size]
    return ((xx + yy) * 255 // (2 * size - 2)).astype(np.uint8)


def test_gray_48_passes_through_unchanged() -> None:
    image = _gradient(48)
    out = to_fer_gray(image)
    assert out.dtype == np.uint8 and out.shape == (48, 48)
    assert np.array_equal(out, image)


def test_size_argument_and_area_downscale() -> None:
    checker = (np.indices((96, 96)).sum(axis=0) % 2 * 255).astype(np.uint8)
    out = to_fer_gray(checker, size=24)
    assert out.shape == (24, 24)
    assert np.all(np.abs(out.astype(int) - 128) <= 1)  # area averaging, not aliasing to 0/255


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA", "P", "CMYK", "I;16", "I", "F", "1"])
def test_every_pil_mode_gives_the_same_luminance(mode: str) -> None:
    gray = _gradient()
    reference = to_fer_gray(Image.fromarray(gray))
    if mode == "I;16":
        image = Image.fromarray(gray.astype(np.uint16) * 257)
    elif mode == "I":
        image = Image.fromarray(gray.astype(np.int32) * 257)
    elif mode == "F":
        image = Image.fromarray(gray.astype(np.float32) / 255.0)
    elif mode == "1":
        gray = np.where(gray > 127, 255, 0).astype(np.uint8)
        reference = to_fer_gray(Image.fromarray(gray))
        image = Image.fromarray(gray).convert("1")
    else:
        image = Image.fromarray(gray).convert(mode)
    out = to_fer_gray(image)
    assert out.shape == (48, 48) and out.dtype == np.uint8
    assert np.abs(out.astype(int) - reference.astype(int)).max() <= 2


def test_colour_uses_bt601_luminance_and_bgr_flag() -> None:
    rgb = np.zeros((48, 48, 3), np.uint8)
    rgb[..., 0] = 200  # pure red
    assert to_fer_gray(rgb)[0, 0] == round(0.299 * 200)
    assert to_fer_gray(rgb, bgr=True)[0, 0] == round(0.114 * 200)
    rgba = np.dstack([rgb, np.full((48, 48), 7, np.uint8)])
    assert np.array_equal(to_fer_gray(rgba), to_fer_gray(rgb))


def test_float_and_16bit_arrays_are_scaled() -> None:
    gray = _gradient(48)
    assert np.abs(to_fer_gray(gray.astype(np.float32) / 255).astype(int) - gray).max() <= 1
    assert np.abs(to_fer_gray(gray.astype(np.uint16) * 257).astype(int) - gray).max() <= 1


def test_non_square_is_centre_cropped() -> None:
    wide = np.zeros((48, 144), np.uint8)
    wide[:, 48:96] = 255  # only the centre square is white
    assert to_fer_gray(wide).min() == 255


def test_upscale_small_image() -> None:
    out = to_fer_gray(np.full((10, 10), 90, np.uint8))
    assert out.shape == (48, 48) and np.all(out == 90)


def test_bad_inputs_raise() -> None:
    with pytest.raises(TypeError):
        to_fer_gray([[1, 2], [3, 4]])  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        to_fer_gray(np.zeros((4, 4, 2), np.uint8))


def test_decode_image_bytes_jpeg_png_and_corrupt() -> None:
    colour = np.dstack([_gradient(200)] * 3)
    for fmt in ("JPEG", "PNG"):
        buffer = io.BytesIO()
        Image.fromarray(colour).save(buffer, format=fmt)
        out = decode_image_bytes(buffer.getvalue())
        assert out.shape == (48, 48)
        assert np.abs(out.astype(int) - to_fer_gray(colour).astype(int)).max() <= 6  # JPEG loss only
    with pytest.raises(Exception):
        decode_image_bytes(b"not an image at all")
