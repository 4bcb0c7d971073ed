"""Bad videos get one clear message (no traceback) and limits hold; a truncated file keeps the frames before the cut."""

from __future__ import annotations

import csv
from pathlib import Path

import av
import numpy as np
import pytest

from fer_engine.errors import ConfigError, DataError
from fer_engine.video.decode import VideoReader
from fer_engine.video.limits import VideoLimits
from fer_engine.video.pipeline import analyse_video
from fer_engine.video.synthetic import FacePath, render_frames, write_video
from support.video import astronaut_face, predictor, run_fer

SMALL = (320, 240)


def _moving_face_video(path: Path, seconds: float = 4, fps: float = 5) -> Path:
    face = FacePath(astronaut_face(), 0, seconds, (90, 100), (220, 130), 110, 130)
    return write_video(path, render_frames([face], seconds=seconds, fps=fps, size=SMALL), fps=fps)


def _audio_only(path: Path) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=16000)
        tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(16000) / 16000)).astype(np.float32)[None]
        frame = av.AudioFrame.from_ndarray(tone, format="fltp", layout="mono")
        frame.sample_rate, frame.pts = 16000, 0
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return path


def _fails_cleanly(argv: list[str], monkeypatch, capsys) -> str:
    """Run `fer ARGV`; it must exit 2 with one `fer: error:` line and no traceback; returns stderr."""
    assert run_fer(argv, monkeypatch) == 2
    err = capsys.readouterr().err
    assert err.startswith("fer: error: ") and "Traceback" not in err
    return err


@pytest.mark.parametrize("content", [b"not a video at all\n" * 50, bytes(range(256)) * 40])
def test_a_file_that_is_not_a_video_is_named_and_refused(tmp_path: Path, content: bytes, monkeypatch, capsys) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(content)
    assert "'clip.mp4' could not be opened as a video" in _fails_cleanly(["predict-video", str(path)], monkeypatch, capsys)


def test_an_audio_only_file_is_refused_saying_it_holds_audio(tmp_path: Path, monkeypatch, capsys) -> None:
    path = _audio_only(tmp_path / "tone.m4a")
    err = _fails_cleanly(["predict-video", str(path)], monkeypatch, capsys)
    assert "has no video stream (it holds audio)" in err


@pytest.mark.slow  # two full `fer predict-video` runs
def test_empty_and_missing_files_are_named(tmp_path: Path, monkeypatch, capsys) -> None:
    (tmp_path / "empty.mp4").write_bytes(b"")
    assert "'empty.mp4' is empty" in _fails_cleanly(["predict-video", str(tmp_path / "empty.mp4")], monkeypatch, capsys)
    assert "cannot be read" in _fails_cleanly(["predict-video", str(tmp_path / "gone.mp4")], monkeypatch, capsys)


def test_a_huge_resolution_is_refused_before_decoding(tmp_path: Path, monkeypatch, capsys) -> None:
    path = write_video(tmp_path / "huge.mp4", [np.zeros((2400, 4000, 3), np.uint8)], fps=1)  # 9.6 MP > 4K's 8.3
    err = _fails_cleanly(["predict-video", str(path)], monkeypatch, capsys)
    assert "has 4000x2400 frames (9.6 MP); the limit here is 8.3 MP" in err


@pytest.mark.slow  # several full `fer predict-video` runs
def test_limits_are_configurable_by_flag_and_environment(tmp_path: Path, monkeypatch, capsys) -> None:
    path = _moving_face_video(tmp_path / "clip.mp4", seconds=3)
    err = _fails_cleanly(["predict-video", str(path), "--max-seconds", "2"], monkeypatch, capsys)
    assert "'clip.mp4' is 3 s long; the limit here is 2 s" in err
    monkeypatch.setenv("FER_VIDEO_MAX_PIXELS", str(320 * 200))
    assert "the limit here is 0.1 MP" in _fails_cleanly(["predict-video", str(path)], monkeypatch, capsys)
    monkeypatch.delenv("FER_VIDEO_MAX_PIXELS")
    err = _fails_cleanly(["predict-video", str(path), "--max-mb", "0.001"], monkeypatch, capsys)
    assert "the limit here is 0.001 MB" in err
    assert "--every must be a whole number" in _fails_cleanly(["predict-video", str(path), "--every", "0"], monkeypatch, capsys)


@pytest.mark.slow  # several full `fer predict-video` runs
def test_a_truncated_video_keeps_the_frames_before_the_cut(tmp_path: Path, monkeypatch, capsys) -> None:
    whole = _moving_face_video(tmp_path / "whole.mp4").read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole[: int(len(whole) * 0.7)])
    out = tmp_path / "out.csv"
    assert run_fer(["predict-video", str(cut), "--csv", str(out), "--quiet"], monkeypatch) == 1
    captured = capsys.readouterr()
    assert "truncated or damaged" in captured.err and "Traceback" not in captured.err
    rows = list(csv.DictReader(out.open()))
    times = [float(row["time"]) for row in rows]
    assert rows and max(times) < 3.6  # the faces of the frames before the cut, not the 4 s the header declares
    assert {row["label"] for row in rows} <= set(predictor().class_names)


def test_the_reader_yields_good_frames_then_names_the_problem(tmp_path: Path) -> None:
    whole = _moving_face_video(tmp_path / "whole.mp4").read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole[: int(len(whole) * 0.7)])
    frames = []
    with pytest.raises(DataError, match=r"'cut.mp4' ended at .* of the 4.00 s its header declares"):
        with VideoReader(cut) as reader:
            frames.extend(reader.frames())
    assert 0 < len(frames) < 20 and frames[-1].rgb.shape == (240, 320, 3)
    assert [frame.index for frame in frames] == list(range(len(frames)))


def test_a_video_longer_than_its_limit_is_refused_by_the_library_too(tmp_path: Path) -> None:
    path = _moving_face_video(tmp_path / "clip.mp4", seconds=3)
    with pytest.raises(DataError, match="is 3 s long"):
        analyse_video(path, predictor(), limits=VideoLimits(max_seconds=1))
    with pytest.raises(ConfigError, match=r"must end in \.mp4 or \.webm"):
        analyse_video(path, predictor(), annotate_to=tmp_path / "out.avi")
    assert not (tmp_path / "out.avi").exists()
