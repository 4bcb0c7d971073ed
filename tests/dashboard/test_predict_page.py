"""The Predict page under AppTest: group-photo grid, one bad file among good ones, the face-score control,
upload limits, public mode, and a damaged runs index (issues 14 and 19)."""

from __future__ import annotations

import io
import zlib
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image, PngImagePlugin
from streamlit.testing.v1 import AppTest

from dashboard.components import auth
from support.builders import finished_run
from support.paths import APP_FILE

TIMEOUT = 180
CLASS_NAMES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


@pytest.fixture
def shipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A shipped model (a tiny untrained run set as FER_DEFAULT_CHECKPOINT) and one more run in the index."""
    monkeypatch.setenv("FER_RUNS_DIR", str(tmp_path / "runs"))
    shipped_run = finished_run(tmp_path / "shipped", "default")
    monkeypatch.setenv("FER_DEFAULT_CHECKPOINT", str(shipped_run.root))
    finished_run(tmp_path / "runs", "run-a")
    for name in ("FER2013_PATH", "FER_DATA_PATH", auth.MODE_ENV):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def open_predict() -> AppTest:
    app = AppTest.from_file(str(APP_FILE), default_timeout=TIMEOUT)
    app.switch_page("views/predict.py")
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def group_photo() -> np.ndarray:
    """Five copies of the astronaut's head on a grey canvas: three in a top row, two below."""
    head = skimage.data.astronaut()[20:230, 120:330]
    photo = np.full((520, 760, 3), 120, np.uint8)
    for top, left in ((10, 20), (10, 275), (10, 530), (290, 150), (290, 420)):
        photo[top : top + 210, left : left + 210] = head
    return photo


def ztxt_png() -> bytes:
    """A PNG whose zTXt chunk inflates past Pillow's text limit (Pillow raises ValueError on it)."""
    import struct

    data = png(np.full((32, 32, 3), 90, np.uint8))
    body = b"Comment\x00\x00" + zlib.compress(b"a" * (2 * PngImagePlugin.MAX_TEXT_CHUNK))
    chunk = struct.pack(">I", len(body)) + b"zTXt" + body + struct.pack(">I", zlib.crc32(b"zTXt" + body) & 0xFFFFFFFF)
    return data[:33] + chunk + data[33:]


def labels(app: AppTest) -> list[str]:
    return [m.value for m in app.markdown if m.value.startswith("**")]


def test_group_photo_gets_numbered_panels_in_reading_order_in_a_grid(shipped: Path) -> None:
    app = open_predict()
    app.file_uploader(key="predict-upload").set_value(("group.png", png(group_photo()), "image/png"))
    app.run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    found = labels(app)
    assert [text.split(".")[0] for text in found] == ["**1", "**2", "**3", "**4", "**5"]
    assert all(any(name in text for name in CLASS_NAMES) for text in found)
    assert len(app.get("plotly_chart")) == 5
    captions = [c.value for c in app.caption]
    assert sum(text.startswith("face 1.00 · detector 0.") for text in captions) == 5  # face and detector scores
    images = app.get("image")
    assert len(images) == 6  # the annotated photo and one crop per face
    assert images[0].proto.imgs[0].caption == "5 face(s), numbered in reading order"
    assert not [m.value for m in app.markdown if not m.value.startswith("**")]  # no stray text on the page


def test_one_bad_file_is_one_error_and_the_rest_are_classified(shipped: Path) -> None:
    app = open_predict()
    app.file_uploader(key="predict-upload").set_value([
        ("ztxt.png", ztxt_png(), "image/png"),
        ("astronaut.png", png(skimage.data.astronaut()), "image/png"),
    ])
    app.run()
    assert not app.exception
    errors = [e.value for e in app.error]
    assert len(errors) == 1 and errors[0].startswith("ztxt.png: ") and "corrupt" in errors[0], errors
    assert [s.value for s in app.main.subheader] == ["ztxt.png", "astronaut.png"]
    assert len(labels(app)) == 1 and len(app.get("plotly_chart")) == 1


def test_minimum_face_score_control_skips_faces_below_it(shipped: Path) -> None:
    app = open_predict()
    assert app.slider(key="predict-min-face-score").value == 0.5
    app.file_uploader(key="predict-upload").set_value(("astronaut.png", png(skimage.data.astronaut()), "image/png"))
    app.run()
    assert len(labels(app)) == 1
    app.slider(key="predict-min-face-score").set_value(1.0).run()
    assert not app.exception
    text = "\n".join(str(e.value) for e in [*app.info, *app.caption])
    assert labels(app) == [] and "No face found in astronaut.png" in text and "1 detected box(es) scored below" in text


def test_oversized_upload_is_refused_on_the_server(shipped: Path) -> None:
    from dashboard.components.settings import MAX_PHOTO_MB

    app = open_predict()
    big = png(skimage.data.astronaut()) + b"\0" * int(MAX_PHOTO_MB * 2**20)
    app.file_uploader(key="predict-upload").set_value(("big.png", big, "image/png"))
    app.run()
    assert not app.exception
    assert any("big.png" in e.value and "limit" in e.value for e in app.error), [e.value for e in app.error]


def test_public_mode_offers_only_the_shipped_model(shipped: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    full = open_predict()
    assert [c for c in full.selectbox if c.key == "predict-model"], "full mode picks among runs"
    monkeypatch.setenv(auth.MODE_ENV, "public")
    app = open_predict()
    assert not [c for c in app.selectbox if c.key == "predict-model"]
    assert "Model: shipped default model" in [c.value for c in app.caption]
    assert str(shipped) not in "\n".join(str(c.value) for c in app.caption)  # no server paths shown
    app.file_uploader(key="predict-upload").set_value(("astronaut.png", png(skimage.data.astronaut()), "image/png"))
    app.run()
    assert not app.exception and not app.error and len(labels(app)) == 1


@pytest.mark.parametrize("mode", ["public", "full"])
def test_damaged_runs_index_leaves_the_shipped_model(shipped: Path, monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    (shipped / "runs" / "index.sqlite").write_bytes(b"this is not a database" * 100)
    monkeypatch.setenv(auth.MODE_ENV, mode)
    app = open_predict()
    warnings = [w.value for w in app.warning]
    if mode == "full":
        assert any("runs index cannot be read" in w and "fer runs reindex" in w for w in warnings), warnings
    else:
        assert not warnings  # public mode never opens the index
    app.file_uploader(key="predict-upload").set_value(("astronaut.png", png(skimage.data.astronaut()), "image/png"))
    app.run()
    assert not app.exception and not app.error and len(labels(app)) == 1


def test_a_photo_declaring_a_huge_canvas_is_refused_before_decoding(shipped: Path) -> None:
    """A few-kB PNG of 8000x6000 pixels (48 MP, above the page's 40 MP) is refused from its header."""
    buffer = io.BytesIO()
    Image.new("1", (8000, 6000)).save(buffer, format="PNG")
    assert len(buffer.getvalue()) < 100_000
    app = open_predict()
    app.file_uploader(key="predict-upload").set_value(("huge.png", buffer.getvalue(), "image/png"))
    app.run()
    assert not app.exception
    errors = [e.value for e in app.error]
    assert len(errors) == 1 and "huge.png" in errors[0] and "48 MP, above the 40 MP limit" in errors[0], errors
