"""The live camera's frame path without a browser: each frame comes back drawn, ids stay, the rate is measured."""

from __future__ import annotations

import numpy as np
import pytest

from fer_engine.video.live import LiveAnnotator
from fer_engine.video.synthetic import FacePath, render_frames
from support.video import astronaut_face, predictor

FPS = 10


def test_live_frames_are_drawn_with_stable_ids_and_the_camera_rate() -> None:
    face = FacePath(astronaut_face(), 0, 1, (250, 230), (330, 250), 170, 190)
    frames = list(render_frames([face], seconds=0.8, fps=FPS))
    annotator = LiveAnnotator(predictor())
    results = [annotator.process(frame, now=100.0 + index / FPS) for index, frame in enumerate(frames)]
    ids = [record.track_id for result in results for record in result.faces]
    assert len(ids) == len(frames) and ids[0] is None and set(ids[1:]) == {1}
    assert results[-1].fps == pytest.approx(FPS, rel=1e-6)  # the camera's rate (frame times), not our speed
    assert results[-1].latency_ms > 0 and annotator.last is results[-1]
    last = results[-1]
    assert last.rgb.shape == frames[-1].shape
    assert last.rgb[2:10, 2:30].mean() > 200  # the white "fps, ms" caption in the corner
    x, y, w, h = last.faces[0].box
    assert np.abs(last.rgb[y : y + h, x].astype(int) - frames[-1][y : y + h, x]).mean() > 40  # the box's edge
