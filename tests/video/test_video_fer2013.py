"""A video of real FER2013 PublicTest faces (needs FER2013_PATH): a happy face, then a surprised one, at one moving
spot. The timeline's segments carry the dataset's own labels, on one stable track."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fer_engine.data.loader import load_dataset
from fer_engine.video.pipeline import analyse_video
from fer_engine.video.synthetic import FacePath, render_frames, write_video
from support.video import SEGMENT_PLACEMENTS, predictor, still_label

pytestmark = pytest.mark.real_data

FPS = 5
SWITCH = 2.4
EXPRESSIONS = ("happy", "surprise")  # the two classes the model gets right most often (docs/README figures)


def _steady_face(images: np.ndarray, labels: np.ndarray, class_id: int, name: str) -> np.ndarray:
    """The first PublicTest face of `class_id` the model labels `name` as a crop (p >= 0.9) and, upscaled in a
    frame, at every segment placement: the video then tests the pipeline, not the classifier's hard cases."""
    candidates = np.flatnonzero(labels == class_id)[:40]
    crops = predictor().predict_faces(list(images[candidates]))
    for index, crop in zip(candidates, crops):
        if crop.label == name and crop.probabilities[name] >= 0.9:
            face = np.asarray(np.kron(images[index], np.ones((4, 4))), dtype=np.uint8)  # 48 -> 192 pixels
            if still_label(face) == name:
                return face
    pytest.fail(f"no steady '{name}' face among the first 40 of PublicTest")


@pytest.mark.timeout(600)
def test_fer2013_faces_give_segments_with_their_dataset_labels(fer2013_path: Path, tmp_path: Path) -> None:
    split = load_dataset(fer2013_path).split("val")
    names = list(predictor().class_names)
    faces = [_steady_face(split.images, split.labels, names.index(name), name) for name in EXPRESSIONS]
    (x0, y0, s0), (x1, y1, s1), (x2, y2, s2) = SEGMENT_PLACEMENTS
    paths = [FacePath(faces[0], 0, SWITCH, (x0, y0), (x1, y1), s0, s1),
             FacePath(faces[1], SWITCH, 2 * SWITCH, (x1, y1), (x2, y2), s1, s2)]
    video = write_video(tmp_path / "fer.mp4", render_frames(paths, seconds=2 * SWITCH, fps=FPS), fps=FPS)
    analysis = analyse_video(video, predictor())
    tracked = [record for record in analysis.records if record.track_id is not None]
    assert {record.track_id for record in tracked} == {1}
    (track,) = analysis.tracks
    assert [segment.label for segment in track.segments][0] == EXPRESSIONS[0]
    assert [segment.label for segment in track.segments][-1] == EXPRESSIONS[1]
    assert track.share[EXPRESSIONS[0]] >= 0.35 and track.share[EXPRESSIONS[1]] >= 0.35
    switch = min(s.start for s in track.segments if s.label == EXPRESSIONS[1] and s.start >= SWITCH - 0.5)
    assert SWITCH <= switch <= SWITCH + 1.0
