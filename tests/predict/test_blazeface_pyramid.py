"""The default detector: BlazeFace run fully convolutionally by LiteRT on a pyramid of the whole photo."""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest
import skimage.data

from fer_engine.predict.detectors import create_detector, detect_faces
from fer_engine.predict.detectors.blazeface_pyramid import (
    CACHED_SHAPES, FINEST_SCALE, BlazeFacePyramidDetector, anchor_centres,
)


@pytest.fixture(scope="module")
def pyramid() -> BlazeFacePyramidDetector:
    return BlazeFacePyramidDetector()


def test_anchor_centres_follow_the_model_output_order() -> None:
    centres = anchor_centres(128, 128)
    assert centres.shape == (16 * 16 * 2 + 8 * 8 * 6, 2)  # 896 anchors: the model's own count at 128x128
    assert centres[0].tolist() == [4.0, 4.0] and centres[1].tolist() == [4.0, 4.0]  # 2 anchors per stride-8 cell
    assert centres[2].tolist() == [12.0, 4.0]  # row-major: x moves first
    assert centres[512].tolist() == [8.0, 8.0] and centres[517].tolist() == [8.0, 8.0] and centres[518].tolist() == [24.0, 8.0]
    wide = anchor_centres(64, 192)
    assert len(wide) == 8 * 24 * 2 + 4 * 12 * 6 and wide[:, 0].max() == 192 - 4 and wide[:, 1].max() == 64 - 4  # last stride-8 cell centre


def test_scales_span_whole_photo_to_finest_in_bounded_steps(pyramid) -> None:
    scales = pyramid.scales(1080, 1920)
    assert scales[0] == pytest.approx(128 / 1920) and scales[-1] == pytest.approx(FINEST_SCALE)
    assert all(b / a <= pyramid.scale_step + 1e-9 for a, b in zip(scales, scales[1:]))
    assert pyramid.scales(200, 150) == [pytest.approx(128 / 200)]  # small photos: one pass
    assert BlazeFacePyramidDetector(finest_scale=None).scales(1080, 1920) == [pytest.approx(128 / 1920)]


def test_matches_mediapipe_on_the_whole_photo() -> None:
    """Same .tflite, our decoding: box and eye keypoints agree with MediaPipe's FaceDetector.

    MediaPipe rounds boxes to whole pixels and averages overlapping anchors (weighted NMS), we keep the
    best anchor: hence a tolerance of a few pixels on the 512 px photo.
    """
    image = skimage.data.astronaut()
    ours = BlazeFacePyramidDetector(finest_scale=None).detect(image)
    theirs = create_detector("blazeface_whole").detect(image)
    assert len(ours) == len(theirs) == 1
    assert ours[0].iou(theirs[0]) > 0.85
    assert ours[0].score == pytest.approx(theirs[0].score, abs=0.02)
    assert np.abs(ours[0].landmarks[:2] - theirs[0].landmarks[:2]).max() < 6.0  # eyes, in 512 px


def test_finds_small_faces_that_one_whole_photo_pass_misses(pyramid) -> None:
    canvas = np.full((1080, 1920, 3), 110, np.uint8)
    rng = np.random.default_rng(0)
    spots = [(100, 200), (600, 900), (300, 1500)]
    for side, (top, left) in zip((260, 330, 420), spots):  # faces ~55, 70, 90 px wide
        canvas[top : top + side, left : left + side] = cv2.resize(skimage.data.astronaut(), (side, side), interpolation=cv2.INTER_AREA)
    canvas = np.clip(canvas.astype(int) + rng.integers(-3, 4, canvas.shape), 0, 255).astype(np.uint8)
    assert BlazeFacePyramidDetector(finest_scale=None).detect(canvas) == []
    boxes = detect_faces(pyramid, canvas)
    assert len(boxes) == 3
    for side, (top, left) in zip((260, 330, 420), spots):
        expected_centre = (left + (172 + 52) * side / 512, top + (64 + 58) * side / 512)
        assert any(abs(b.center[0] - expected_centre[0]) < side * 0.1 and abs(b.center[1] - expected_centre[1]) < side * 0.15 for b in boxes)


def test_boxes_land_in_original_pixels_for_odd_sizes(pyramid) -> None:
    """Padding to multiples of 32 and non-integer scales must not shift the box."""
    photo = skimage.data.astronaut()
    best = lambda boxes: max(boxes, key=lambda box: box.score)  # noqa: E731 - the face, not a weaker stray box
    reference = best(detect_faces(pyramid, photo))
    for width, height in ((777, 555), (1001, 1003)):
        resized = cv2.resize(photo, (width, height), interpolation=cv2.INTER_AREA)
        box = best(detect_faces(pyramid, resized))
        scaled = reference.scaled(width / 512)
        assert abs(box.center[0] - scaled.center[0]) < 0.04 * width
        assert abs(box.center[1] * 512 / height - reference.center[1]) < 0.04 * 512


def test_interpreters_are_reused_per_shape_and_bounded(pyramid) -> None:
    photo = skimage.data.astronaut()
    detect_faces(pyramid, photo)
    before = dict(pyramid._interpreters)
    detect_faces(pyramid, photo)
    assert {k: id(v) for k, v in pyramid._interpreters.items()} == {k: id(v) for k, v in before.items()}
    for side in range(200, 200 + 40 * (CACHED_SHAPES + 3), 40):
        pyramid.detect(np.full((side, side, 3), 120, np.uint8))
    assert len(pyramid._interpreters) <= CACHED_SHAPES


def test_concurrent_calls_give_the_same_faces(pyramid) -> None:
    """The dashboard shares one detector between sessions: calls from threads must not mix up tensors."""
    photo = skimage.data.astronaut()
    expected = [b.as_int_tuple() for b in detect_faces(pyramid, photo)]
    results: list[list] = []

    def work() -> None:
        for _ in range(5):
            results.append([b.as_int_tuple() for b in detect_faces(pyramid, photo)])

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 15 and all(r == expected for r in results)
