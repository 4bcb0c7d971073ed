"""One bad file is one bad result: hostile images become errors, `fer predict` streams JSON Lines, fuzzing.

Also the face-presence check that keeps boxes off faceless things, duplicate merging and reading order.
"""

from __future__ import annotations

import io
import json
import random
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image, PngImagePlugin

from fer_engine.cli.main import main
from fer_engine.errors import DataError
from fer_engine.predict.detectors import FaceBox
from fer_engine.predict.detectors.presence import FacePresenceModel, suppress_duplicates
from fer_engine.predict.image_io import read_rgb
from fer_engine.predict.predictor import DEFAULT_MIN_FACE_SCORE, Predictor, reading_order

from tests.predict.test_predict_predictor import make_tiny_checkpoint

ASTRONAUT_FACE = FaceBox(172.0, 64.0, 104.0, 116.0)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def ztxt_bomb_png() -> bytes:
    """A valid 32x32 PNG plus a zTXt chunk that inflates past Pillow's MAX_TEXT_CHUNK (ValueError in Pillow)."""
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 100, 50)).save(buffer, "PNG")
    png = buffer.getvalue()
    text = png_chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(b"a" * (2 * PngImagePlugin.MAX_TEXT_CHUNK)))
    return png[:33] + text + png[33:]  # after the 8-byte signature and the 25-byte IHDR chunk


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_checkpoint(tmp_path_factory.mktemp("robust_ckpt") / "checkpoint")


def test_ztxt_png_is_a_data_error_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError):  # what Pillow itself does with it
        Image.open(io.BytesIO(ztxt_bomb_png()))
    path = tmp_path / "ztxt.png"
    path.write_bytes(ztxt_bomb_png())
    with pytest.raises(DataError, match="ztxt.png.*corrupt"):
        read_rgb(path)


def test_ztxt_png_in_a_batch_is_one_error_and_the_others_are_served(checkpoint: Path, tmp_path: Path, capsys) -> None:
    (tmp_path / "a_astronaut.png").write_bytes(_png(skimage.data.astronaut()))
    (tmp_path / "b_ztxt.png").write_bytes(ztxt_bomb_png())
    (tmp_path / "c_astronaut.jpg").write_bytes(_jpeg(skimage.data.astronaut()))
    assert main(["predict", str(tmp_path), "--checkpoint", str(checkpoint), "--json"]) == 0
    captured = capsys.readouterr()
    results = [json.loads(line) for line in captured.out.splitlines()]
    assert [Path(r["image"]).name for r in results] == ["a_astronaut.png", "b_ztxt.png", "c_astronaut.jpg"]
    assert results[1]["faces"] == [] and "b_ztxt.png" in results[1]["error"] and "MAX_TEXT_CHUNK" in results[1]["error"]
    assert [len(r["faces"]) for r in (results[0], results[2])] == [1, 1]
    assert results[0]["error"] is None and results[2]["error"] is None
    assert "Traceback" not in captured.err and "1 of 3 input(s) could not be read" in captured.err


def test_any_exception_of_one_image_becomes_its_error(checkpoint: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    predictor = Predictor.from_checkpoint(checkpoint)
    monkeypatch.setattr(predictor, "predict_rgb", lambda rgb, name, **options: (_ for _ in ()).throw(RuntimeError("boom " * 200)))
    result = predictor.predict_image(skimage.data.astronaut())
    assert result.faces == [] and result.error.startswith("'<array (512, 512, 3)>' could not be processed: RuntimeError: boom")
    assert len(result.error) <= 300


def test_results_are_streamed_so_a_late_crash_keeps_earlier_ones(checkpoint: Path, tmp_path: Path, capsys,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    for index in range(3):
        (tmp_path / f"{index}.png").write_bytes(_png(skimage.data.astronaut()[::2, ::2]))
    original = Predictor.predict_source
    calls = []

    def dies_on_the_third(self, image, **kwargs):
        calls.append(image)
        if len(calls) == 3:
            raise KeyboardInterrupt  # the user presses Ctrl-C late in a long batch
        return original(self, image, **kwargs)

    monkeypatch.setattr(Predictor, "predict_source", dies_on_the_third)
    assert main(["predict", str(tmp_path), "--checkpoint", str(checkpoint), "--json"]) != 0
    captured = capsys.readouterr()
    assert "interrupted" in captured.err
    lines = captured.out.splitlines()
    assert [Path(json.loads(line)["image"]).name for line in lines] == ["0.png", "1.png"]


def test_fuzzed_images_give_no_traceback_and_every_good_image_is_served(checkpoint: Path, tmp_path: Path, capsys) -> None:
    """300 seeded mutations of PNG/JPEG/GIF/BMP/WebP files, with 5 good photos among them, through `fer predict`."""
    rng = random.Random(1234)
    seeds = _seed_files()
    good = []
    for index in range(5):
        name = f"good_{index}.jpg"
        (tmp_path / name).write_bytes(_jpeg(skimage.data.astronaut()[:: 2, :: 2]))
        good.append(name)
    for index in range(300):
        suffix, data = rng.choice(seeds)
        (tmp_path / f"fuzz_{index:03d}{suffix}").write_bytes(_mutate(data, rng))
    status = main(["predict", str(tmp_path), "--checkpoint", str(checkpoint), "--json"])
    captured = capsys.readouterr()
    assert status == 0
    assert "Traceback" not in captured.out + captured.err
    results = {Path(r["image"]).name: r for r in map(json.loads, captured.out.splitlines())}
    assert len(results) == 305
    for name in good:
        assert results[name]["error"] is None and len(results[name]["faces"]) == 1, results[name]
    errors = [r["error"] for r in results.values() if r["error"]]
    assert errors and all(len(error) <= 300 for error in errors)


def _png(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "PNG")
    return buffer.getvalue()


def _jpeg(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _seed_files() -> list[tuple[str, bytes]]:
    """Small real images in every format the page accepts, plus the zTXt PNG."""
    picture = Image.fromarray(skimage.data.astronaut()[150:214, 150:214])
    seeds = []
    for suffix, fmt, options in ((".png", "PNG", {}), (".jpg", "JPEG", {"quality": 80}), (".gif", "GIF", {}),
                                 (".bmp", "BMP", {}), (".webp", "WEBP", {"quality": 80})):
        buffer = io.BytesIO()
        picture.save(buffer, fmt, **options)
        seeds.append((suffix, buffer.getvalue()))
    seeds.append((".png", ztxt_bomb_png()))
    return seeds


def _mutate(data: bytes, rng: random.Random) -> bytes:
    """Flip bytes, truncate, duplicate or splice a block, or overwrite a header field with extreme values."""
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        kind = rng.randrange(5)
        position = rng.randrange(len(data))
        if kind == 0:
            for _ in range(rng.randint(1, 16)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        elif kind == 1:
            data = data[: max(1, position)]
        elif kind == 2:
            block = data[position : position + rng.randint(1, 64)]
            data[position:position] = block * rng.randint(1, 8)
        elif kind == 3:
            data[position : position + 4] = rng.choice([b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\x7f\xff\xff\xff"])
        else:
            start = min(len(data) - 1, rng.randrange(8, 40))  # header region: sizes, modes, chunk lengths
            data[start] = rng.randrange(256)
    return bytes(data)


def test_face_presence_separates_a_face_from_faceless_boxes() -> None:
    model = FacePresenceModel()
    astronaut = skimage.data.astronaut()
    assert model.score(astronaut, ASTRONAUT_FACE) > 0.9
    coffee, cat = skimage.data.coffee(), skimage.data.chelsea()
    faceless = [model.score(coffee, FaceBox(200, 100, 150, 150)), model.score(astronaut, FaceBox(300, 300, 120, 120))]
    assert max(faceless) < 0.1, faceless  # a coffee cup, the astronaut's suit
    assert model.score(cat, FaceBox(140, 40, 170, 170)) < DEFAULT_MIN_FACE_SCORE  # a cat's face: closer, still out


def test_a_box_inside_a_better_one_is_the_same_face() -> None:
    big, inner, rotated_twin, elsewhere = (FaceBox(100, 100, 100, 100, 0.9), FaceBox(120, 120, 60, 60, 0.8),
                                           FaceBox(110, 95, 90, 110, 0.7), FaceBox(400, 100, 80, 80, 0.6))
    assert suppress_duplicates([big, inner, rotated_twin, elsewhere], [0.99, 0.98, 0.97, 0.9]) == [0, 3]
    assert suppress_duplicates([big, inner], [0.2, 0.99]) == [1]  # the better face score wins


def test_reading_order_is_rows_top_to_bottom_then_left_to_right() -> None:
    boxes = [FaceBox(500, 210, 80, 80), FaceBox(50, 20, 80, 80), FaceBox(300, 40, 80, 80), FaceBox(60, 230, 80, 80)]
    assert reading_order(boxes) == [1, 2, 3, 0]
    assert reading_order([]) == []


def test_predictor_faces_come_in_reading_order(checkpoint: Path) -> None:
    tile = skimage.data.astronaut()[20:230, 120:330]
    photo = np.full((500, 500, 3), 128, np.uint8)
    for top, left in ((270, 20), (10, 270), (270, 270), (10, 20)):
        photo[top : top + 210, left : left + 210] = tile
    result = Predictor.from_checkpoint(checkpoint).predict_image(photo)
    assert len(result.faces) == 4
    centres = [(face.box[0] + face.box[2] / 2, face.box[1] + face.box[3] / 2) for face in result.faces]
    assert [(cx > 250, cy > 250) for cx, cy in centres] == [(False, False), (True, False), (False, True), (True, True)]
