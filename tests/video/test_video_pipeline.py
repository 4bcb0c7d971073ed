"""Videos made from real face photos (scikit-image's astronaut and LFW faces) moved and zoomed across frames:
the timeline finds each segment's expression, track ids stay stable, and `fer predict-video` writes what it says."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import av
import pytest

from fer_engine.video.pipeline import analyse_video
from fer_engine.video.synthetic import FacePath, render_frames, write_video
from support.video import (
    SEGMENT_PLACEMENTS,
    astronaut_face,
    lfw_face,
    predictor,
    run_fer,
    two_faces_with_different_labels,
)

FPS = 5
SWITCH = 2.4  # seconds: where the segmented video changes face (and so expression)


@pytest.mark.slow  # renders, encodes and analyses a video with the shipped model
def test_timeline_finds_each_segments_expression_on_one_stable_track(tmp_path: Path) -> None:
    """Face A then face B at the same, slowly moving and zooming spot: one track whose smoothed label is A's still
    label, then B's, switching within a second of the cut (the smoothing's lag plus one sampled frame)."""
    (face_a, label_a), (face_b, label_b) = two_faces_with_different_labels()
    (x0, y0, s0), (x1, y1, s1), (x2, y2, s2) = SEGMENT_PLACEMENTS
    paths = [FacePath(face_a, 0, SWITCH, (x0, y0), (x1, y1), s0, s1),
             FacePath(face_b, SWITCH, 2 * SWITCH, (x1, y1), (x2, y2), s1, s2)]
    video = write_video(tmp_path / "segments.mp4", render_frames(paths, seconds=2 * SWITCH, fps=FPS), fps=FPS)
    analysis = analyse_video(video, predictor())
    assert analysis.error is None and analysis.frames_analysed == 2 * SWITCH * FPS
    tracked = [record for record in analysis.records if record.track_id is not None]
    assert {record.track_id for record in tracked} == {1}, "the face at one spot must keep one id"
    assert len(tracked) >= 2 * SWITCH * FPS - 2
    before = [r.label for r in tracked if r.time < SWITCH]
    after = [r.label for r in tracked if r.time >= SWITCH + 1.0]
    assert before.count(label_a) >= 0.8 * len(before), (label_a, before)
    assert after.count(label_b) >= 0.8 * len(after), (label_b, after)
    (track,) = analysis.tracks
    assert track.segments[0].label == label_a and track.segments[-1].label == label_b
    first_b = min(segment.start for segment in track.segments if segment.label == label_b and segment.start >= SWITCH - 0.5)
    assert SWITCH <= first_b <= SWITCH + 1.0


@pytest.mark.slow  # renders, encodes and analyses a video with the shipped model
def test_two_moving_faces_keep_their_ids_through_a_short_miss(tmp_path: Path) -> None:
    """The astronaut (left, zooming in, gone for 0.4 s) and an LFW face (right, moving left) never swap ids."""
    astronaut = astronaut_face()
    paths = [FacePath(astronaut, 0.0, 1.6, (140, 240), (180, 240), 150, 170),
             FacePath(astronaut, 2.0, 3.6, (190, 240), (230, 240), 170, 190),
             FacePath(lfw_face(10), 0.0, 3.6, (500, 220), (440, 250), 170, 150)]
    video = write_video(tmp_path / "two.mp4", render_frames(paths, seconds=3.6, fps=FPS), fps=FPS)
    analysis = analyse_video(video, predictor())
    ids = {"left": set(), "right": set()}
    for record in analysis.records:
        if record.track_id is not None:
            ids["left" if record.box[0] + record.box[2] / 2 < 320 else "right"].add(record.track_id)
    assert len(ids["left"]) == 1 and len(ids["right"]) == 1 and ids["left"] != ids["right"], ids
    left_times = [r.time for r in analysis.records if r.track_id in ids["left"]]
    assert min(left_times) < 1.0 and max(left_times) > 2.8  # the same id before and after the miss
    assert len(analysis.tracks) == 2 and {t.track_id for t in analysis.tracks} == ids["left"] | ids["right"]


@pytest.mark.slow  # renders, encodes and analyses a video with the shipped model
def test_cli_writes_table_json_and_a_browser_playable_annotated_video(tmp_path: Path, monkeypatch, capsys) -> None:
    """The user's command with defaults (every frame, default smoothing) on a 2 s clip."""
    face = FacePath(astronaut_face(), 0, 2, (200, 220), (420, 260), 160, 200)
    video = write_video(tmp_path / "clip.mp4", render_frames([face], seconds=2, fps=FPS), fps=FPS)
    out = {name: tmp_path / f"out.{name}" for name in ("csv", "json")}
    annotated = tmp_path / "annotated.mp4"
    argv = ["predict-video", str(video), "--csv", str(out["csv"]), "--json", str(out["json"]), "--annotate", str(annotated)]
    assert run_fer(argv, monkeypatch) == 0
    stdout = capsys.readouterr().out
    assert "clip.mp4: 640x480, 5.00 fps, 2.0 s; analysed 10 of 10 frame(s)" in stdout and "face #1:" in stdout

    rows = list(csv.DictReader(out["csv"].open()))
    result = json.loads(out["json"].read_text())
    assert len(rows) == len(result["records"]) >= 9
    assert {row["track_id"] for row in rows[1:]} == {"1"}
    (face_summary,) = result["faces"]
    assert sum(face_summary["share"].values()) == pytest.approx(1.0, abs=1e-3)
    assert face_summary["dominant"] in predictor().class_names and result["error"] is None
    for row in rows:  # probabilities are distributions, boxes lie on the frame
        assert sum(float(row[f"p_{name}"]) for name in predictor().class_names) == pytest.approx(1.0, abs=1e-4)
        assert 0 <= int(row["x"]) and int(row["x"]) + int(row["w"]) <= 640

    with av.open(str(annotated)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.codec_context.pix_fmt) == ("h264", "yuv420p")
        assert (stream.width, stream.height, float(stream.average_rate)) == (640, 480, FPS)
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
    assert len(frames) == 10
    x, y, w, h = (int(rows[5][key]) for key in ("x", "y", "w", "h"))
    original = next(f for i, f in enumerate(render_frames([face], seconds=2, fps=FPS)) if i == int(rows[5]["frame"]))
    drawn = frames[int(rows[5]["frame"])].astype(int)
    assert abs(drawn[y : y + h, x] - original[y : y + h, x]).mean() > 40  # the box's left edge is drawn there


def test_every_nth_frame_and_webm_output(tmp_path: Path) -> None:
    face = FacePath(astronaut_face(), 0, 2, (200, 220), (420, 260), 160, 200)
    video = write_video(tmp_path / "clip.webm", render_frames([face], seconds=2, fps=FPS), fps=FPS)
    analysis = analyse_video(video, predictor(), every=3, annotate_to=tmp_path / "annotated.webm")
    assert (analysis.frames_decoded, analysis.frames_analysed) == (10, 4)
    assert sorted({record.frame for record in analysis.records}) == [0, 3, 6, 9]
    with av.open(str(analysis.annotated)) as container:
        assert container.streams.video[0].codec_context.name == "vp9"
        assert sum(1 for _ in container.decode(video=0)) == 10  # every frame drawn, with the last faces held
