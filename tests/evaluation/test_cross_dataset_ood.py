"""The out-of-domain benchmark's photos: the face lands where the box says, each change does what it names."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import out_of_domain as ood  # noqa: E402

from fer_engine.data.synthetic import synthetic_images  # noqa: E402

FACE = synthetic_images(1)[0][3]
PLAIN = ood.Condition("reference", "")


@pytest.mark.parametrize(("face_px", "margin"), [(48, 1.0), (160, 0.25), (96, 3.0)])
def test_the_face_is_pasted_inside_its_box_at_its_size(face_px: int, margin: float) -> None:
    rgb, (x, y, w, h) = ood.compose(FACE, replace(PLAIN, face_px=face_px, margin=margin), seed=4)
    assert rgb.shape == (round(face_px * (1 + 2 * margin)),) * 2 + (3,) and (w, h) == (face_px, face_px)
    assert 0 <= x and x + w <= rgb.shape[1] and 0 <= y and y + h <= rgb.shape[0]
    expected = cv2.resize(FACE, (face_px, face_px), interpolation=cv2.INTER_CUBIC)  # upscaled, never shrunk
    assert np.array_equal(rgb[y : y + h, x : x + w, 0], expected)


def test_each_change_moves_the_pixels_its_own_way() -> None:
    plain, box = ood.compose(FACE, PLAIN, seed=1)
    brighter, _ = ood.compose(FACE, replace(PLAIN, gamma=0.5), seed=1)
    blurred, _ = ood.compose(FACE, replace(PLAIN, blur_sigma=3.0), seed=1)
    noisy, _ = ood.compose(FACE, replace(PLAIN, noise_sigma=25.0), seed=1)
    jpeg, _ = ood.compose(FACE, replace(PLAIN, jpeg_quality=10), seed=1)
    assert brighter.mean() > plain.mean() + 20
    laplacian = [cv2.Laplacian(image[:, :, 0], cv2.CV_64F).var() for image in (plain, blurred, noisy)]
    assert laplacian[1] < laplacian[0] < laplacian[2]
    assert 0 < np.abs(jpeg.astype(int) - plain.astype(int)).mean() < 20
