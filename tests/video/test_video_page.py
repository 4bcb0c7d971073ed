"""The Video page under AppTest: upload -> annotated video, per-face summary, timeline and downloads; bad and
oversized uploads named; a truncated video keeps its results; the camera in both modes."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from fer_engine.video.synthetic import FacePath, render_frames, write_video
from support.paths import REPO_ROOT
from support.video import astronaut_face

PAGE = REPO_ROOT / "dashboard" / "views" / "video.py"
TIMEOUT = 240


@pytest.fixture
def full_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FER_DASHBOARD_MODE", "full")


def _clip(tmp_path: Path, seconds: float = 2) -> bytes:
    face = FacePath(astronaut_face(), 0, seconds, (200, 220), (420, 260), 160, 200)
    return write_video(tmp_path / "clip.mp4", render_frames([face], seconds=seconds, fps=5), fps=5).read_bytes()


def _open() -> AppTest:
    app = AppTest.from_file(str(PAGE), default_timeout=TIMEOUT)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def _upload_and_analyse(app: AppTest, name: str, data: bytes) -> AppTest:
    app.file_uploader(key="video-upload").set_value((name, data, "video/mp4"))
    app.run()
    app.button(key="video-run").click()
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def test_upload_shows_annotated_video_summary_timeline_and_downloads(full_mode: None, tmp_path: Path) -> None:
    app = _upload_and_analyse(_open(), "my clip.mp4", _clip(tmp_path))
    assert not app.error, [e.value for e in app.error]
    assert len(app.get("video")) == 1
    summary = app.dataframe[0].value
    assert list(summary["face"]) == ["#1"] and summary["frames"][0] >= 3  # of 5 analysed: every 2nd frame by default
    shares = summary[["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]].iloc[0]
    assert shares.sum() == pytest.approx(100, abs=0.5) and summary["main expression"][0] == shares.idxmax()
    (chart,) = app.get("plotly_chart")
    figure = json.loads(chart.proto.spec)
    assert [trace["name"] for trace in figure["data"]][:2] == ["angry", "disgust"] and len(figure["data"][0]["x"]) == summary["frames"][0]
    assert app.subheader[0].value == "my_clip.mp4"
    assert any("5 of 10 frames analysed" in caption.value for caption in app.caption)
    downloads = app.get("download_button")
    assert len(downloads) == 2


def test_a_file_that_is_not_a_video_and_an_oversized_one_are_refused(full_mode: None, monkeypatch) -> None:
    app = _upload_and_analyse(_open(), "notes.mp4", b"hello, not a video\n" * 100)
    assert any("'notes.mp4' could not be opened as a video" in e.value for e in app.error)
    assert not app.get("video")
    monkeypatch.setenv("FER_DASHBOARD_MODE", "public")  # 25 MB there
    app = _upload_and_analyse(_open(), "big.mp4", bytes(26 * 2**20))
    assert any("the limit here is 25 MB" in e.value for e in app.error), [e.value for e in app.error]


def test_a_truncated_upload_shows_what_was_found_before_the_cut(full_mode: None, tmp_path: Path) -> None:
    data = _clip(tmp_path, seconds=4)
    app = _upload_and_analyse(_open(), "cut.mp4", data[: int(len(data) * 0.85)])
    assert any("Stopped early" in w.value and "truncated" in w.value for w in app.warning), [w.value for w in app.warning]
    assert 1 <= app.dataframe[0].value["frames"][0] < 10  # some of the 4 s, not all


@pytest.mark.parametrize("mode", ["full", "public"])
def test_camera_falls_back_to_snapshots_that_are_labelled(mode: str, monkeypatch) -> None:
    """Public mode always takes snapshots; full mode does without a server (AppTest has none, so WebRTC cannot
    run). A snapshot of the astronaut comes back with her face boxed and counted."""
    monkeypatch.setenv("FER_DASHBOARD_MODE", mode)
    app = _open()
    app.toggle(key="video-camera-on").set_value(True)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    assert len(app.get("camera_input")) == 1
    expected = "public servers" if mode == "public" else "needs the streamlit-webrtc package and a Streamlit server"
    assert any(expected in caption.value for caption in app.caption)
    shot = next(render_frames([FacePath(astronaut_face(), 0, 1, (320, 240), (320, 240), 200, 200)], seconds=1, fps=1))
    buffer = io.BytesIO()
    Image.fromarray(shot).save(buffer, format="JPEG")
    app.camera_input(key="video-snapshot").set_value(("shot.jpg", buffer.getvalue(), "image/jpeg"))
    app.run()
    assert not app.exception and not app.error, [e.value for e in app.exception] + [e.value for e in app.error]
    (image,) = app.get("image")
    assert image.captions[0].startswith("1 face(s), ")
