"""Image reading: EXIF orientation, transparency, palette, CMYK, 16-bit, tiny, huge, bombs, broken files."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image

from fer_engine.errors import DataError
from fer_engine.predict.detectors import FaceBox
from fer_engine.predict.detectors.scaling import detect_faces
from fer_engine.predict.image_io import find_image_files, read_rgb


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    upright = skimage.data.astronaut()[:, :400]  # (512, 400): not square, so a missed rotation shows
    stored = Image.fromarray(np.ascontiguousarray(np.rot90(upright)))  # 90 degrees counter-clockwise on disk
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display
    path = tmp_path / "rotated.jpg"
    stored.save(path, quality=95, exif=exif.tobytes())
    rgb = read_rgb(path)
    assert rgb.shape == (512, 400, 3)
    assert np.abs(rgb.astype(int) - upright.astype(int)).mean() < 6


def test_rgba_is_composited_on_white() -> None:
    rgba = np.zeros((20, 30, 4), np.uint8)
    rgba[:, :15] = (255, 0, 0, 255)  # opaque red left half, fully transparent right half
    rgb = read_rgb(_png(Image.fromarray(rgba, "RGBA")))
    assert rgb.shape == (20, 30, 3)
    assert tuple(rgb[5, 5]) == (255, 0, 0)
    assert tuple(rgb[5, 25]) == (255, 255, 255)


def test_la_palette_and_transparent_palette() -> None:
    la = Image.fromarray(np.dstack([np.full((8, 8), 40, np.uint8), np.full((8, 8), 255, np.uint8)]), "LA")
    assert tuple(read_rgb(_png(la))[0, 0]) == (40, 40, 40)
    colourful = Image.fromarray(skimage.data.astronaut()[:64, :64]).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    rgb = read_rgb(_png(colourful))
    assert rgb.shape == (64, 64, 3) and rgb.dtype == np.uint8
    assert np.abs(rgb.astype(int) - skimage.data.astronaut()[:64, :64].astype(int)).mean() < 20
    transparent = Image.new("P", (4, 4), 0)
    transparent.putpalette([0, 0, 0, 10, 200, 10] + [0] * 762)
    transparent.info["transparency"] = 0
    assert tuple(read_rgb(_png(transparent))[0, 0]) == (255, 255, 255)


def test_cmyk_jpeg_becomes_rgb() -> None:
    red = Image.new("RGB", (16, 16), (220, 20, 20)).convert("CMYK")
    buffer = io.BytesIO()
    red.save(buffer, format="JPEG", quality=95)
    rgb = read_rgb(buffer.getvalue())
    assert rgb.shape == (16, 16, 3)
    r, g, b = rgb[8, 8].astype(int)
    assert r > 150 and g < 80 and b < 80


def test_16_bit_and_32_bit_grey_are_scaled() -> None:
    values = np.array([[0, 32896, 65535]], dtype=np.uint16)
    sixteen = Image.fromarray(values)  # mode I;16
    rgb = read_rgb(_png(sixteen))
    assert rgb[0, :, 0].tolist() == [0, 128, 255]
    wide = Image.fromarray(np.array([[0, 1000, 65535]], dtype=np.int32), "I")
    assert read_rgb(wide)[0, :, 0].tolist() == [0, 4, 255]  # Pillow cannot write mode I as PNG: pass the image


def test_tiny_image_reads_and_detection_returns_nothing() -> None:
    rgb = read_rgb(_png(Image.new("RGB", (1, 1), (9, 9, 9))))
    assert rgb.shape == (1, 1, 3)

    class Exploding:
        name = "exploding"

        def detect(self, rgb):  # pragma: no cover - must not be called
            raise AssertionError("a 1x1 image must not reach the detector")

    assert detect_faces(Exploding(), rgb) == []


def test_huge_image_is_downscaled_for_detection_and_boxes_mapped_back() -> None:
    class Recording:
        name = "recording"

        def __init__(self):
            self.seen = None

        def detect(self, rgb):
            self.seen = rgb.shape
            return [FaceBox(100.0, 50.0, 40.0, 40.0, 0.9, np.array([[110.0, 60.0]], np.float32))]

    detector = Recording()
    big = np.zeros((3000, 4000, 3), np.uint8)
    boxes = detect_faces(detector, big, max_side=1000)
    assert detector.seen == (750, 1000, 3)
    assert boxes[0].as_int_tuple() == (400, 200, 160, 160)
    assert boxes[0].landmarks[0].tolist() == [440.0, 240.0]


def _png_with_size(width: int, height: int) -> bytes:
    """A valid small PNG whose header claims width x height (a decompression-bomb shape)."""
    data = bytearray(_png(Image.new("L", (1, 1))))
    ihdr = 8 + 8  # signature, then length + type of the IHDR chunk
    data[ihdr : ihdr + 8] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr - 4 : ihdr + 13])) & 0xFFFFFFFF
    data[ihdr + 13 : ihdr + 17] = struct.pack(">I", crc)
    return bytes(data)


def test_decompression_bomb_is_refused_with_its_size(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_with_size(20000, 20000))
    with pytest.raises(DataError, match=r"400 MP, above the 100 MP limit") as info:
        read_rgb(path)
    assert "bomb.png" in str(info.value)
    # Between our 100 MP limit and Pillow's own refusal (~179 MP), our check names the size exactly.
    with pytest.raises(DataError, match=r"12000x10000 = 120 MP, above the 100 MP limit"):
        read_rgb(_png_with_size(12000, 10000))


def test_truncated_and_non_image_files_name_the_file(tmp_path: Path) -> None:
    jpeg = io.BytesIO()
    Image.fromarray(skimage.data.astronaut()).save(jpeg, format="JPEG")
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(jpeg.getvalue()[: len(jpeg.getvalue()) // 3])
    with pytest.raises(DataError, match="cut.jpg.*truncated"):
        read_rgb(truncated)
    text = tmp_path / "notes.jpg"
    text.write_text("not a picture")
    with pytest.raises(DataError, match="notes.jpg.*not an image"):
        read_rgb(text)
    with pytest.raises(DataError, match="missing.png.*does not exist"):
        read_rgb(tmp_path / "missing.png")


def test_find_image_files_walks_folders_and_keeps_named_files(tmp_path: Path) -> None:
    (tmp_path / "album" / "sub").mkdir(parents=True)
    (tmp_path / "album" / "a.JPG").write_bytes(b"x")
    (tmp_path / "album" / "sub" / "b.png").write_bytes(b"x")
    (tmp_path / "album" / "readme.txt").write_text("x")
    named = tmp_path / "explicit.txt"
    found = find_image_files([tmp_path / "album", named])
    assert [p.name for p in found] == ["a.JPG", "b.png", "explicit.txt"]
