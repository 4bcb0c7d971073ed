"""Face detectors on real photos (scikit-image's astronaut), tiling, and FER-framed, eye-levelled crops."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.data

from fer_engine.errors import ConfigError
from fer_engine.predict.detectors import FaceBox, available_detectors, create_detector, detect_faces
from fer_engine.predict.detectors.tiling import non_max_suppression, tile_origins
from fer_engine.predict.framing import Framing, crop_face_fer, crop_face_rgb, eye_angle_degrees

ASTRONAUT_FACE = (172, 64, 104, 116)  # eyebrows to chin, read off the photo


@pytest.fixture(scope="module")
def blazeface():
    return create_detector("blazeface")


def test_registry_names_and_unknown_detector() -> None:
    assert {"blazeface", "blazeface_tiled", "blazeface_whole", "blazeface_full", "haar", "dlib_hog"} <= set(available_detectors())
    with pytest.raises(ConfigError, match="unknown face detector 'nope'.*blazeface"):
        create_detector("nope")


@pytest.mark.parametrize("name", ["blazeface", "blazeface_tiled", "blazeface_full", "haar"])
def test_detectors_find_the_astronaut(name: str) -> None:
    boxes = detect_faces(create_detector(name), skimage.data.astronaut())
    assert len(boxes) == 1
    assert FaceBox(*boxes[0].as_int_tuple()).iou(FaceBox(*ASTRONAUT_FACE)) > 0.5


def test_blazeface_eye_keypoints_lie_in_the_upper_face(blazeface) -> None:
    box = detect_faces(blazeface, skimage.data.astronaut())[0]
    right_eye, left_eye = box.landmarks[0], box.landmarks[1]
    assert box.x < right_eye[0] < left_eye[0] < box.x + box.w  # the subject's right eye is on the image's left
    assert box.y < right_eye[1] < box.y + box.h / 2
    assert abs(eye_angle_degrees(box)) < 10


def test_no_face_in_face_free_photos(blazeface) -> None:
    for image in (skimage.data.coffee(), skimage.data.chelsea(), skimage.data.rocket()):
        assert detect_faces(blazeface, image) == []


@pytest.mark.parametrize("name", ["blazeface", "blazeface_tiled"])
def test_small_face_in_a_large_photo_is_found(name: str) -> None:
    canvas = np.full((1080, 1920, 3), 110, np.uint8)
    small = cv2.resize(skimage.data.astronaut(), (320, 320), interpolation=cv2.INTER_AREA)  # face ~65 px wide
    canvas[500:820, 1300:1620] = small
    whole = create_detector("blazeface_whole")
    assert detect_faces(whole, canvas) == []  # 1920 px squeezed into 128: the face is ~4 px for the model
    boxes = detect_faces(create_detector(name), canvas)
    expected = (1300 + 172 * 0.625, 500 + 64 * 0.625, 65, 72)
    assert len(boxes) == 1 and FaceBox(*boxes[0].as_int_tuple()).iou(FaceBox(*expected)) > 0.4


def test_tile_origins_cover_the_image_and_nms_merges_duplicates() -> None:
    starts = tile_origins(1920, 512, 0.3)
    assert starts[0] == 0 and starts[-1] + 512 == 1920
    assert all(b - a <= 512 * 0.7 + 1 for a, b in zip(starts, starts[1:]))
    assert tile_origins(300, 512, 0.3) == [0]
    assert FaceBox(0, 0, 10, 10).iou(FaceBox(5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert FaceBox(0, 0, 10, 10).iou(FaceBox(20, 20, 5, 5)) == 0.0
    merged = non_max_suppression([FaceBox(10, 10, 50, 50, 0.6), FaceBox(12, 11, 50, 50, 0.9), FaceBox(300, 10, 50, 50, 0.7)])
    assert sorted((b.x, b.score) for b in merged) == [(12, 0.9), (300, 0.7)]


def test_crop_follows_the_framing_and_handles_the_border() -> None:
    image = np.zeros((200, 200, 3), np.uint8)
    image[80:120, 80:120] = 255  # a white square "face"
    box = FaceBox(80, 80, 40, 40)
    crop = crop_face_rgb(image, box, Framing(scale=2.0, offset_x=0.0, offset_y=0.0), align_eyes=False)
    assert crop.shape == (80, 80, 3)
    assert crop[40, 40, 0] == 255 and crop[5, 5, 0] == 0 and crop[20, 20, 0] == 255  # square fills the middle half
    shifted = crop_face_rgb(image, box, Framing(scale=2.0, offset_x=0.25, offset_y=0.0), align_eyes=False)
    assert shifted[40, 10, 0] == 255 and shifted[40, 70, 0] == 0  # centre moved right by a quarter crop
    edge = crop_face_fer(image, FaceBox(-20, -20, 60, 60), align_eyes=False)
    assert edge.shape == (48, 48) and edge.dtype == np.uint8


def test_eye_alignment_levels_a_tilted_face() -> None:
    image = np.zeros((300, 300, 3), np.uint8)
    cv2.line(image, (100, 150), (200, 150), (255, 255, 255), 9)  # the "eye line"
    rotation = cv2.getRotationMatrix2D((150, 150), 25, 1.0)
    tilted = cv2.warpAffine(image, rotation, (300, 300))
    eyes = cv2.transform(np.array([[[120, 150], [180, 150]]], np.float32), rotation)[0]
    box = FaceBox(100, 100, 100, 100, 1.0, eyes)
    assert eye_angle_degrees(box) == pytest.approx(-25, abs=0.5)
    aligned = crop_face_rgb(tilted, box, align_eyes=True)[:, :, 0]
    unaligned = crop_face_rgb(tilted, box, align_eyes=False)[:, :, 0]

    def rows_lit(crop):
        return int((crop.max(axis=1) > 128).sum())

    assert rows_lit(aligned) <= 14 < rows_lit(unaligned)
